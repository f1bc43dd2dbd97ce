

namespace ShopChoreography.Messaging.CloudEvents;

/// <summary>A Kafka record that cannot be read as a CloudEvent: never retried, it goes to the dead-letter topic.</summary>
public sealed class InvalidCloudEventException(string reason, Exception? innerException = null)
    : Exception($"Not a valid CloudEvent: {reason}", innerException)
{
    public string Reason { get; } = reason;
}
