using System.Diagnostics;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ShopChoreography.Messaging.Outbox;

/// <summary>The CloudEvent attributes of an event handed to the outbox.</summary>
public sealed record PublishedEvent(string Id, string Type, string Source, DateTimeOffset Time);

/// <summary>
/// Publishes events through the outbox: <see cref="Publish{TEvent}"/> adds the event to the service's DbContext,
/// so it is committed, or rolled back, with the state change saved alongside it.
/// </summary>
public interface IEventPublisher
{
    PublishedEvent Publish<TEvent>(TEvent @event) where TEvent : IIntegrationEvent;

    /// <summary>
    /// Sends an event this service published before again, with its original id and the <c>healing</c> flag, to heal
    /// a stuck saga: a consumer that had not applied it applies it now; one that had answers with what it published
    /// then. False when this service has no such event (never published, or past the outbox retention).
    /// </summary>
    Task<bool> RepublishAsync(string eventId, CancellationToken cancellationToken);
}

internal sealed class EventPublisher<TContext>(TContext db, ConsumedEvent consumed, IOptions<MessagingOptions> options, TimeProvider clock)
    : IEventPublisher
    where TContext : DbContext
{
    public async Task<bool> RepublishAsync(string eventId, CancellationToken cancellationToken) =>
        Guid.TryParse(eventId, out var id) && await OutboxRedelivery.RepublishAsync(db, id, cancellationToken);

    public PublishedEvent Publish<TEvent>(TEvent @event) where TEvent : IIntegrationEvent
    {
        var settings = options.Value;
        if (settings.PublishTopic is null || settings.Source is null)
        {
            throw new InvalidOperationException(
                $"Service '{settings.ServiceName}' publishes {typeof(TEvent).Name} but declares no topic: call PublishTo(topic, source).");
        }

        // The request's trace continues in the consumers: the outbox keeps the context it was written in.
        var activity = Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current : null;
        var message = new OutboxMessage
        {
            Id = Guid.CreateVersion7(),
            Topic = settings.PublishTopic,
            Key = @event.Subject,
            Type = EventTypes.TypeOf<TEvent>(),
            Source = settings.Source,
            Subject = @event.Subject,
            Time = TruncatedToMicroseconds(clock.GetUtcNow()),
            Data = JsonSerializer.SerializeToUtf8Bytes(@event, MessagingJson.Options),
            TraceParent = activity?.Id,
            TraceState = activity?.TraceStateString,
            CausedBy = consumed.Context?.Id,
        };
        db.Set<OutboxMessage>().Add(message);
        return new PublishedEvent(message.Id.ToString(), message.Type, message.Source, message.Time);
    }

    /// <summary>PostgreSQL keeps microseconds: the time handed back must be the one stored and published.</summary>
    private static DateTimeOffset TruncatedToMicroseconds(DateTimeOffset time) =>
        new(time.Ticks - time.Ticks % TimeSpan.TicksPerMicrosecond, time.Offset);
}
