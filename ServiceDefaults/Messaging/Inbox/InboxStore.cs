using Microsoft.EntityFrameworkCore;

namespace ShopChoreography.ServiceDefaults.Messaging.Inbox;

internal static class InboxStore
{
    /// <summary>
    /// Records the event in the current transaction; false when this consumer already recorded it. A concurrent
    /// delivery of the same event waits on the primary key until the first transaction ends, then sees the conflict.
    /// </summary>
    public static async Task<bool> TryRecordAsync(DbContext db, string consumer, EventContext context, CancellationToken cancellationToken)
    {
        var inserted = await db.Database.ExecuteSqlAsync($"""
            INSERT INTO inbox_messages (consumer, source, event_id, type, received_at)
            VALUES ({consumer}, {context.Source}, {context.Id}, {context.Type}, now())
            ON CONFLICT DO NOTHING
            """, cancellationToken);
        return inserted == 1;
    }
}
