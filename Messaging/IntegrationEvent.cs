namespace ShopChoreography.Messaging;

/// <summary>
/// An event a service publishes. Its JSON (camelCase) is the CloudEvent's data; <see cref="Subject"/> is the
/// CloudEvent <c>subject</c>, its <c>partitionkey</c> and the Kafka record key, so all events of one subject keep
/// their order. Implement <see cref="Subject"/> explicitly so it stays out of the JSON. The validation attributes on
/// its properties are its rules: every consumer holds it to them before any handler runs (<see cref="EventValidation"/>).
/// </summary>
public interface IIntegrationEvent
{
    string Subject { get; }
}

/// <summary>The CloudEvent <c>type</c> of an event record, for example <c>shop.orders.order-created.v1</c>.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class CloudEventTypeAttribute(string type) : Attribute
{
    public string Type { get; } = type;
}

/// <summary>The CloudEvent attributes of the event being handled.</summary>
public sealed record EventContext(string Id, string Source, string Type, DateTimeOffset? Time, string? Subject);

/// <summary>A handler's work for one event type, run inside the transaction that also records the event in the inbox.</summary>
public interface IEventHandler<in TEvent> where TEvent : IIntegrationEvent
{
    Task HandleAsync(TEvent @event, EventContext context, CancellationToken cancellationToken);
}

/// <summary>
/// Thrown by a handler when an event breaks its rules (for example a negative amount). The event is not retried:
/// it goes to the dead-letter topic with this message as the reason.
/// </summary>
public sealed class EventRejectedException(string reason) : Exception(reason);

/// <summary>
/// Thrown by a handler when the event came before what it depends on (for example a refund before the charge is
/// recorded, possible after a replay or a restore). The event is not recorded as applied: it is tried again within
/// the retry budget, then dead-lettered, from where it can be replayed; healing the saga also sends it again.
/// </summary>
public sealed class EventNotReadyException(string reason) : Exception(reason);
