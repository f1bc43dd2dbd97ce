

namespace ShopChoreography.Messaging.Inbox;

/// <summary>An event a consumer has applied, recorded in the same transaction as the state change it caused.</summary>
public sealed class InboxMessage
{
    public const string Table = "inbox_messages";

    public required string Consumer { get; init; }

    public required string Source { get; init; }

    public required string EventId { get; init; }

    public required string Type { get; init; }

    public DateTimeOffset ReceivedAt { get; init; }
}
