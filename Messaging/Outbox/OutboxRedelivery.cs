using Microsoft.EntityFrameworkCore;

namespace ShopChoreography.Messaging.Outbox;

/// <summary>
/// Sends outbox rows again, with their original CloudEvent ids and the <c>healing</c> flag: the way a stuck saga is
/// healed. Safe by construction, because every consumer's inbox turns a second delivery into no change.
/// </summary>
internal static class OutboxRedelivery
{
    /// <summary>Marks the row of event <paramref name="eventId"/> unsent; false if this service never published it.</summary>
    public static async Task<bool> RepublishAsync(DbContext db, Guid eventId, CancellationToken cancellationToken) =>
        await MarkForRedeliveryAsync(db, $"""
            UPDATE outbox_messages SET sent_at = NULL, healing = true, parked_at = NULL, park_reason = NULL WHERE id = {eventId}
            """, cancellationToken) > 0;

    /// <summary>
    /// Marks unsent what the handler of consumed event <paramref name="causeId"/> published, also a row the dispatcher
    /// delivered but has not marked sent yet.
    /// </summary>
    public static async Task<int> RepublishCausedByAsync(DbContext db, string causeId, CancellationToken cancellationToken) =>
        await MarkForRedeliveryAsync(db, $"""
            UPDATE outbox_messages SET sent_at = NULL, healing = true WHERE caused_by = {causeId} AND parked_at IS NULL
            """, cancellationToken);

    private static async Task<int> MarkForRedeliveryAsync(DbContext db, FormattableString update, CancellationToken cancellationToken)
    {
        var rows = await db.Database.ExecuteSqlAsync(update, cancellationToken);
        if (rows > 0)
        {
            // Delivered to the leading dispatcher's listening session, whichever replica leads, when (and if) the
            // surrounding transaction commits. Healing is rare: the cost of a notifying commit does not matter here.
            await db.Database.ExecuteSqlRawAsync($"NOTIFY {OutboxWakeUp.Channel}", cancellationToken);
        }

        return rows;
    }
}
