using System.Threading.Channels;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace ShopChoreography.Messaging.Consumers;

/// <summary>
/// Applies the records of one partition, one at a time, in offset order. A record leaves the queue only once it has
/// been applied, so a failure (however unexpected) retries that same record instead of skipping it or ending the
/// worker. Revocation stops the worker after the record in hand: the queued ones belong to the partition's next owner.
/// </summary>
internal sealed class PartitionWorker
{
    internal static readonly TimeSpan FailureBackoff = TimeSpan.FromSeconds(1);

    private readonly Channel<ConsumeResult<string?, byte[]?>> _queue =
        Channel.CreateUnbounded<ConsumeResult<string?, byte[]?>>(new() { SingleReader = true, SingleWriter = true });
    private readonly CancellationTokenSource _revoked;
    private readonly Func<ConsumeResult<string?, byte[]?>, CancellationToken, Task> _apply;
    private readonly ILogger _logger;
    private readonly Task _run;
    private int _pending;

    public PartitionWorker(TopicPartition partition, Func<ConsumeResult<string?, byte[]?>, CancellationToken, Task> apply,
        ILogger logger, CancellationToken stopping)
    {
        Partition = partition;
        _apply = apply;
        _logger = logger;
        _revoked = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        _run = Task.Run(RunAsync);
    }

    public TopicPartition Partition { get; }

    /// <summary>Records received and not yet applied.</summary>
    public int Pending => Volatile.Read(ref _pending);

    public void Enqueue(ConsumeResult<string?, byte[]?> record)
    {
        Interlocked.Increment(ref _pending);
        _queue.Writer.TryWrite(record);
    }

    /// <summary>Stops after the record in hand (cancelling its retries); the queued ones are dropped and redelivered to the next owner.</summary>
    public async Task StopAsync()
    {
        _queue.Writer.TryComplete();
        await _revoked.CancelAsync();
        await _run;
        _revoked.Dispose();
    }

    private async Task RunAsync()
    {
        var revoked = _revoked.Token;
        try
        {
            while (await _queue.Reader.WaitToReadAsync(revoked))
            {
                // ReadAllAsync would go on yielding buffered records after revocation: check before every record.
                while (!revoked.IsCancellationRequested && _queue.Reader.TryPeek(out var record))
                {
                    try
                    {
                        await _apply(record, revoked);
                    }
                    catch (Exception ex) when (!revoked.IsCancellationRequested)
                    {
                        _logger.LogError(ex, "Applying {Partition}@{Offset} failed unexpectedly; trying the same record again in {Delay}",
                            Partition, record.Offset, FailureBackoff);
                        await Task.Delay(FailureBackoff, revoked);
                        continue;
                    }

                    _queue.Reader.TryRead(out _);
                    Interlocked.Decrement(ref _pending);
                }
            }
        }
        catch (OperationCanceledException) when (revoked.IsCancellationRequested)
        {
            // Revoked or stopping: the record in hand was not stored, so its next owner applies it (the inbox dedupes).
        }
    }
}
