namespace ShopChoreography.Messaging;

/// <summary>
/// Whether an operator has paused this service's consumption, how many partitions this member owns, how many of them
/// are paused now (for either reason) and how many are behind (paused by back-pressure).
/// </summary>
public sealed record ConsumptionState(bool PausedByOperator, int AssignedPartitions, int PausedPartitions, int BackPressuredPartitions);

/// <summary>What operators can do to the service's consumer: see and change whether it consumes.</summary>
public interface IConsumerControl
{
    ConsumptionState State { get; }

    /// <summary>Pauses or resumes every partition of the consumer group this member owns, and returns once that is applied.</summary>
    Task<ConsumptionState> SetPausedByOperatorAsync(bool paused, CancellationToken cancellationToken);
}
