using System.Collections;
using System.Diagnostics;
using CloudNative.CloudEvents;

namespace ShopChoreography.Messaging.Telemetry;

/// <summary>
/// The logging scope of one consumed event: every log written while it is handled carries <c>EventId</c>,
/// <c>EventType</c>, <c>OrderId</c> (the CloudEvent subject) and <c>TraceId</c> as structured fields. One small
/// object per event; the values are read only when a log is actually written.
/// </summary>
internal sealed class EventLogScope(CloudEvent cloudEvent, Activity? span) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public const string EventId = "EventId";
    public const string EventType = "EventType";
    public const string OrderId = "OrderId";
    public const string TraceId = "TraceId";

    public int Count => 4;

    public KeyValuePair<string, object?> this[int index] => index switch
    {
        0 => new(EventId, cloudEvent.Id),
        1 => new(EventType, cloudEvent.Type),
        2 => new(OrderId, cloudEvent.Subject),
        3 => new(TraceId, span?.TraceId.ToHexString()),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"{cloudEvent.Type} {cloudEvent.Id} of {cloudEvent.Subject}";
}
