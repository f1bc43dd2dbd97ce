using Confluent.Kafka;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ShopChoreography.Messaging.Telemetry;

namespace ShopChoreography.Messaging.Consumers;

/// <summary>
/// Runs a service's handlers in one consumer group named after the service. Each assigned partition has its own
/// worker, so partitions are processed concurrently while records of one partition (and so of one key) are applied
/// in order. An offset is stored only after its record's transaction committed (or its dead letter was stored), in
/// offset order per partition; librdkafka commits stored offsets in the background and on rebalance.
/// A partition whose worker falls behind by <see cref="ConsumerOptions.MaxInFlightPerPartition"/> records is paused
/// until it has caught up by half; an operator can pause every partition (<see cref="IConsumerControl"/>).
/// </summary>
internal sealed class ConsumerHost<TContext>(
    IServiceProvider services,
    EventHandlers handlers,
    EventProcessor<TContext> processor,
    IOptions<MessagingOptions> options,
    MessagingTelemetry telemetry,
    ILogger<ConsumerHost<TContext>> logger) : BackgroundService, IConsumerControl
    where TContext : DbContext
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);

    private readonly Dictionary<TopicPartition, PartitionWorker> _workers = [];
    private readonly PartitionPauses _pauses = new(options.Value.Consumer.MaxInFlightPerPartition);
    private readonly HashSet<TopicPartition> _rewound = [];
    private IConsumer<string?, byte[]?>? _consumer;
    private volatile TopicPartition[] _assignment = [];
    private volatile ConsumptionState _state = new(false, 0, 0, 0);
    private TaskCompletionSource _nextPausesApplied = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationToken _stopping;

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!handlers.Any)
        {
            return Task.CompletedTask;
        }

        _stopping = stoppingToken;
        // Consume blocks, and rebalance callbacks run inside it: give the loop a thread of its own.
        return Task.Factory.StartNew(() => ConsumeLoop(stoppingToken), stoppingToken,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private void ConsumeLoop(CancellationToken stoppingToken)
    {
        var consumer = _consumer = services.GetRequiredService<IConsumer<string?, byte[]?>>();
        consumer.Subscribe(handlers.Topics);
        logger.LogInformation("Consuming {Topics} as group {Group}", string.Join(", ", handlers.Topics), options.Value.ServiceName);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                ApplyPauses(consumer);
                ConsumeResult<string?, byte[]?>? record;
                try
                {
                    record = consumer.Consume(TimeSpan.FromMilliseconds(100));
                }
                catch (ConsumeException ex) when (!ex.Error.IsFatal)
                {
                    logger.LogWarning(ex, "Consume failed: {Reason}", ex.Error.Reason);
                    continue;
                }

                if (record is { IsPartitionEOF: false } && _workers.TryGetValue(record.TopicPartition, out var worker))
                {
                    if (_pauses.HeldByOperator(record.TopicPartition))
                    {
                        RewindOnce(consumer, record);
                    }
                    else
                    {
                        worker.Enqueue(record);
                    }
                }
            }
        }
        finally
        {
            StopWorkers(_workers.Keys.ToList());
            CommitStoredOffsets(consumer);
            consumer.Close();
        }
    }

    /// <summary>The partitions this member owns now.</summary>
    public IReadOnlyList<TopicPartition> Assignment => _assignment;

    /// <summary>How many of them are paused now, by back-pressure or by an operator.</summary>
    public int PausedPartitions => _state.PausedPartitions;

    public ConsumptionState State => _state;

    public async Task<ConsumptionState> SetPausedByOperatorAsync(bool paused, CancellationToken cancellationToken)
    {
        _pauses.ByOperator = paused;
        // Read after the flag is set: the loop swaps this before reading the flag, so it completes only once an
        // iteration has seen the new value.
        await Volatile.Read(ref _nextPausesApplied).Task.WaitAsync(cancellationToken);
        logger.LogWarning("Consumption {Change} by an operator: {Paused} of {Assigned} partitions paused",
            paused ? "paused" : "resumed", _state.PausedPartitions, _state.AssignedPartitions);
        return _state;
    }

    /// <summary>Called by librdkafka inside Consume when the group gives this member partitions.</summary>
    internal void OnAssigned(IEnumerable<TopicPartition> partitions)
    {
        partitions = partitions.ToList();
        logger.LogInformation("Assigned {Partitions}", string.Join(", ", partitions));
        foreach (var partition in partitions)
        {
            _workers[partition] = new PartitionWorker(partition, ApplyAsync, logger, _stopping);
        }

        _assignment = [.. _workers.Keys];
    }

    /// <summary>Called inside Consume before partitions move to another member: finish, store and commit first.</summary>
    internal void OnRevoked(IEnumerable<TopicPartition> partitions, bool lost)
    {
        var revoked = partitions.ToList();
        logger.LogInformation("{Change} {Partitions}", lost ? "Lost" : "Revoked", string.Join(", ", revoked));
        StopWorkers(revoked);
        if (!lost && _consumer is not null)
        {
            CommitStoredOffsets(_consumer);
        }
    }

    private void StopWorkers(IReadOnlyCollection<TopicPartition> partitions)
    {
        var stopping = partitions.Where(_workers.ContainsKey).Select(partition => _workers[partition].StopAsync()).ToArray();
        if (!Task.WaitAll(stopping, DrainTimeout))
        {
            logger.LogWarning("Workers did not finish within {Timeout}; their records will be redelivered", DrainTimeout);
        }

        foreach (var partition in partitions)
        {
            _workers.Remove(partition);
            _rewound.Remove(partition);
            if (_pauses.Forget(partition))
            {
                // librdkafka keeps the pause flag across revoke and re-assign; the next worker starts unpaused.
                _consumer?.Resume([partition]);
            }
        }

        _assignment = [.. _workers.Keys];
    }

    private void ApplyPauses(IConsumer<string?, byte[]?> consumer)
    {
        var applied = Interlocked.Exchange(ref _nextPausesApplied, new(TaskCreationOptions.RunContinuationsAsynchronously));
        var (pause, resume) = _pauses.Update(_workers.Select(worker => (worker.Key, worker.Value.Pending)));
        if (pause.Count > 0)
        {
            consumer.Pause(pause);
        }

        if (resume.Count > 0)
        {
            consumer.Resume(resume);
            _rewound.ExceptWith(resume);
        }

        _state = new ConsumptionState(_pauses.ByOperator, _workers.Count, _pauses.Paused, _pauses.Behind);
        telemetry.ConsumptionObserved(_state);
        applied.TrySetResult();
    }

    /// <summary>
    /// A record fetched before the operator's pause took effect is not applied: the partition is sought back to it,
    /// so it is fetched again once consumption resumes. Only the first such record per partition counts; later ones
    /// come after it and are fetched again with it.
    /// </summary>
    private void RewindOnce(IConsumer<string?, byte[]?> consumer, ConsumeResult<string?, byte[]?> record)
    {
        if (_rewound.Add(record.TopicPartition))
        {
            consumer.Seek(record.TopicPartitionOffset);
        }
    }

    private void CommitStoredOffsets(IConsumer<string?, byte[]?> consumer)
    {
        try
        {
            consumer.Commit();
        }
        catch (KafkaException ex) when (ex.Error.Code == ErrorCode.Local_NoOffset)
        {
            // Nothing new was stored since the last commit.
        }
        catch (KafkaException ex)
        {
            logger.LogWarning(ex, "Committing offsets failed; the records after the last commit will be redelivered");
        }
    }

    private async Task ApplyAsync(ConsumeResult<string?, byte[]?> record, CancellationToken revoked)
    {
        await processor.ProcessAsync(record, revoked);
        StoreOffset(record);
    }

    private void StoreOffset(ConsumeResult<string?, byte[]?> record)
    {
        try
        {
            _consumer!.StoreOffset(record);
        }
        catch (KafkaException ex) when (ex.Error.Code == ErrorCode.Local_State)
        {
            // The partition was revoked meanwhile; its new owner starts from the last committed offset.
        }
    }
}
