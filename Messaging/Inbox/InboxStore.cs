using Microsoft.EntityFrameworkCore;

namespace ShopChoreography.Messaging.Inbox;

internal static class InboxStore
{
    /// <summary>
    /// Adds the event's inbox record to the changes the handler's <c>SaveChanges</c> writes, in the same round trip. A
    /// redelivery then fails on the primary key (a concurrent one waits there until the first transaction ends), so
    /// nothing it did is kept; <see cref="ContainsAsync"/> tells that failure from a real one.
    /// </summary>
    public static void Record(DbContext db, string consumer, EventContext context) =>
        db.Set<InboxMessage>().Add(new InboxMessage
        {
            Consumer = consumer, Source = context.Source, EventId = context.Id, Type = context.Type, ReceivedAt = DateTimeOffset.UtcNow,
        });

    public static Task<bool> ContainsAsync(DbContext db, string consumer, EventContext context, CancellationToken cancellationToken) =>
        db.Set<InboxMessage>().AnyAsync(
            message => message.Consumer == consumer && message.Source == context.Source && message.EventId == context.Id, cancellationToken);
}
