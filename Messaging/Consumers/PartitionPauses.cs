using Confluent.Kafka;

namespace ShopChoreography.Messaging.Consumers;

/// <summary>
/// Which partitions the consumer keeps paused, for two reasons kept apart so that neither undoes the other:
/// back-pressure (a worker <c>maxInFlight</c> records behind, until it has caught up by half) and an operator
/// pausing consumption (every partition). Back-pressure easing never resumes a partition while the operator's pause
/// holds, and the operator resuming never resumes a partition still too far behind.
/// Only the consume loop calls <see cref="Update"/> and <see cref="Forget"/>; <see cref="ByOperator"/> is set from any thread.
/// </summary>
internal sealed class PartitionPauses(int maxInFlight)
{
    private readonly HashSet<TopicPartition> _behind = [];
    private readonly HashSet<TopicPartition> _paused = [];
    private volatile bool _byOperator;

    public bool ByOperator
    {
        get => _byOperator;
        set => _byOperator = value;
    }

    public int Paused => _paused.Count;

    public int Behind => _behind.Count;

    /// <summary>Paused because the operator paused consumption, and that pause has been applied to this partition.</summary>
    public bool HeldByOperator(TopicPartition partition) => _byOperator && _paused.Contains(partition);

    /// <summary>Takes each worker's backlog and says which partitions to pause and which to resume now.</summary>
    public (List<TopicPartition> Pause, List<TopicPartition> Resume) Update(IEnumerable<(TopicPartition Partition, int Pending)> workers)
    {
        var byOperator = _byOperator;
        List<TopicPartition> pause = [], resume = [];
        foreach (var (partition, pending) in workers)
        {
            if (pending >= maxInFlight)
            {
                _behind.Add(partition);
            }
            else if (pending <= maxInFlight / 2)
            {
                _behind.Remove(partition);
            }

            var paused = byOperator || _behind.Contains(partition);
            if (paused && _paused.Add(partition))
            {
                pause.Add(partition);
            }
            else if (!paused && _paused.Remove(partition))
            {
                resume.Add(partition);
            }
        }

        return (pause, resume);
    }

    /// <summary>Forgets a partition that left this member; true when it was paused (so the caller resumes it in librdkafka).</summary>
    public bool Forget(TopicPartition partition)
    {
        _behind.Remove(partition);
        return _paused.Remove(partition);
    }
}
