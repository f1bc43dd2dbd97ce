using System.Text.Json.Serialization;

namespace ShopChoreography.Messaging.DeadLetters;

/// <summary>
/// A record on the service's dead-letter topic, as its headers describe it. <see cref="Partition"/> and
/// <see cref="Offset"/> are its place on the dead-letter topic; the <c>Original*</c> values are where it was consumed.
/// <see cref="EventId"/> and <see cref="Type"/> are null when the record is not a CloudEvent that says them;
/// <see cref="Category"/> is null for dead letters written before the <c>dlq-category</c> header existed.
/// </summary>
public sealed record DeadLetter(
    int Partition,
    long Offset,
    string? OriginalTopic,
    int? OriginalPartition,
    long? OriginalOffset,
    string? Key,
    string? EventId,
    string? Type,
    string? Reason,
    string? Category,
    DateTimeOffset? DeadLetteredAt)
{
    /// <summary>Where a replay put it back, once Kafka acknowledged it.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public KafkaPosition? ReplayedTo { get; init; }

    /// <summary>Why a replay could not put it back.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ReplayFailure { get; init; }
}

public sealed record KafkaPosition(string Topic, int Partition, long Offset);

/// <summary>
/// Which dead letters to list or replay; every given criterion must hold, and no criterion selects them all.
/// <see cref="Partition"/> and <see cref="Offset"/> are the place on the dead-letter topic.
/// </summary>
public sealed record DeadLetterFilter(
    int? Partition = null,
    long? Offset = null,
    string? EventId = null,
    string? Type = null,
    string? Category = null,
    string? OriginalTopic = null)
{
    public static readonly DeadLetterFilter All = new();

    public bool Matches(DeadLetter deadLetter) =>
        (Partition is null || deadLetter.Partition == Partition) &&
        (Offset is null || deadLetter.Offset == Offset) &&
        (EventId is null || deadLetter.EventId == EventId) &&
        (Type is null || deadLetter.Type == Type) &&
        (Category is null || deadLetter.Category == Category) &&
        (OriginalTopic is null || deadLetter.OriginalTopic == OriginalTopic);
}

public sealed record DeadLetterListing(int Matched, IReadOnlyList<DeadLetter> DeadLetters);

/// <summary>
/// What a replay matched and how many of those Kafka acknowledged on their original topic. Each dead letter says
/// where it went (<see cref="DeadLetter.ReplayedTo"/>) or why it did not (<see cref="DeadLetter.ReplayFailure"/>).
/// </summary>
public sealed record DeadLetterReplayResult(int Matched, int Replayed, IReadOnlyList<DeadLetter> DeadLetters);
