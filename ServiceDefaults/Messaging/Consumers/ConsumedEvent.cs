namespace ShopChoreography.ServiceDefaults.Messaging.Consumers;

/// <summary>The event being handled in this scope, so the events its handler publishes remember what caused them.</summary>
internal sealed class ConsumedEvent
{
    public EventContext? Context { get; set; }
}
