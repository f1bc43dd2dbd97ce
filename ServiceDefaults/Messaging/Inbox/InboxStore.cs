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

    /// <summary>
    /// Records a batch of events in one statement; returns those recorded now, the others were seen before.
    /// The same event twice in a batch is recorded once.
    /// </summary>
    public static async Task<HashSet<(string Source, string Id)>> TryRecordAllAsync(DbContext db, string consumer,
        IReadOnlyList<EventContext> events, CancellationToken cancellationToken)
    {
        var sources = events.Select(e => e.Source).ToArray();
        var ids = events.Select(e => e.Id).ToArray();
        var types = events.Select(e => e.Type).ToArray();
        var recorded = await db.Database.SqlQuery<RecordedEvent>($"""
            INSERT INTO inbox_messages (consumer, source, event_id, type, received_at)
            SELECT {consumer}, e.source, e.event_id, e.type, now()
            FROM unnest({sources}::text[], {ids}::text[], {types}::text[]) AS e(source, event_id, type)
            ON CONFLICT DO NOTHING
            RETURNING source AS "Source", event_id AS "Id"
            """).ToListAsync(cancellationToken);
        return recorded.Select(r => (r.Source, r.Id)).ToHashSet();
    }

    private sealed record RecordedEvent(string Source, string Id);
}
