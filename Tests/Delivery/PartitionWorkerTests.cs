using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using ShopChoreography.Messaging.Consumers;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Delivery;

public sealed class PartitionWorkerTests
{
    private static readonly TopicPartition Partition = new("topic", 0);

    [Fact]
    public async Task A_revoked_worker_stops_after_the_record_in_hand_and_leaves_the_queued_ones_to_the_next_owner()
    {
        var applied = new List<long>();
        var inHand = new TaskCompletionSource();
        var finishRecord = new TaskCompletionSource();
        var worker = new PartitionWorker(Partition, async (record, _) =>
        {
            inHand.TrySetResult();
            await finishRecord.Task; // the record in hand finishes, even though revocation is under way
            lock (applied) { applied.Add(record.Offset.Value); }
        }, NullLogger.Instance, CancellationToken.None);
        for (var offset = 0; offset < 5; offset++)
        {
            worker.Enqueue(Record(offset));
        }

        await inHand.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var stopping = worker.StopAsync();
        finishRecord.SetResult();
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal([0L], applied);
    }

    [Fact]
    public async Task A_worker_whose_record_fails_unexpectedly_applies_that_same_record_again_and_goes_on()
    {
        var attempts = new List<long>();
        var worker = new PartitionWorker(Partition, (record, _) =>
        {
            lock (attempts) { attempts.Add(record.Offset.Value); }
            return record.Offset.Value == 1 && attempts.Count(offset => offset == 1) == 1
                ? throw new InvalidOperationException("the offset store was not ready")
                : Task.CompletedTask;
        }, NullLogger.Instance, CancellationToken.None);
        for (var offset = 0; offset < 3; offset++)
        {
            worker.Enqueue(Record(offset));
        }

        await Poller.UntilAsync(() => Task.FromResult(worker.Pending), pending => pending == 0, "the worker to apply every record");
        await worker.StopAsync();

        Assert.Equal([0L, 1L, 1L, 2L], attempts);
    }

    private static ConsumeResult<string?, byte[]?> Record(long offset) => new()
    {
        Topic = Partition.Topic,
        Partition = Partition.Partition,
        Offset = offset,
        Message = new Message<string?, byte[]?> { Key = "k", Value = [] },
    };
}
