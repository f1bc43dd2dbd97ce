

namespace ShopChoreography.Messaging.Consumers;

internal sealed record HandlerRegistration(
    string Topic, string EventType, Type DataType,
    Func<IServiceProvider, object, EventContext, CancellationToken, Task> Invoke);

/// <summary>The handlers a service registered, by CloudEvent type.</summary>
internal sealed class EventHandlers
{
    private readonly Dictionary<string, HandlerRegistration> _byType = [];

    public IEnumerable<string> Topics => _byType.Values.Select(handler => handler.Topic).Distinct();

    public bool Any => _byType.Count > 0;

    public void Add(HandlerRegistration handler)
    {
        if (!_byType.TryAdd(handler.EventType, handler))
        {
            throw new InvalidOperationException($"'{handler.EventType}' already has a handler; a service handles each event type once.");
        }
    }

    public bool TryGet(string eventType, out HandlerRegistration handler) => _byType.TryGetValue(eventType, out handler!);
}
