using System.Collections.Concurrent;
using System.Reflection;

namespace ShopChoreography.Messaging;

/// <summary>The CloudEvent <c>type</c> of each event record, from its <see cref="CloudEventTypeAttribute"/>.</summary>
public static class EventTypes
{
    private static readonly ConcurrentDictionary<Type, string> Types = new();

    public static string TypeOf<TEvent>() => TypeOf(typeof(TEvent));

    public static string TypeOf(Type eventType) => Types.GetOrAdd(eventType, type =>
        type.GetCustomAttribute<CloudEventTypeAttribute>()?.Type
        ?? throw new InvalidOperationException($"{type.Name} needs a [CloudEventType(\"...\")] attribute naming its CloudEvent type."));
}
