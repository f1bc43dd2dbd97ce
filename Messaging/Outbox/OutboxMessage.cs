namespace ShopChoreography.Messaging.Outbox;

/// <summary>
/// An event waiting to be published, written in the same transaction as the state change that caused it.
/// Its CloudEvent <c>id</c> is fixed here, so a re-publish after a crash carries the same id.
/// </summary>
public sealed class OutboxMessage
{
    public const string Table = "outbox_messages";

    /// <summary>Insertion order; the dispatcher publishes unsent rows in this order.</summary>
    public long Sequence { get; init; }

    public Guid Id { get; init; }

    public required string Topic { get; init; }

    public required string Key { get; init; }

    public required string Type { get; init; }

    public required string Source { get; init; }

    public required string Subject { get; init; }

    public DateTimeOffset Time { get; init; }

    public required byte[] Data { get; init; }

    public string? TraceParent { get; init; }

    public string? TraceState { get; init; }

    public DateTimeOffset? SentAt { get; set; }

    /// <summary>The CloudEvent id of the consumed event whose handler wrote this row, if any: what healing re-sends.</summary>
    public string? CausedBy { get; init; }

    /// <summary>Set when the row is sent again to heal a stuck saga: the consumers answer a duplicate by re-sending theirs.</summary>
    public bool Healing { get; set; }

    /// <summary>When the broker refused the row for good (for example too large); parked rows no longer block the rows behind.</summary>
    public DateTimeOffset? ParkedAt { get; set; }

    public string? ParkReason { get; set; }
}
