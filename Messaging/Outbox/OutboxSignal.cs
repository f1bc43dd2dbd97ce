using System.Threading.Channels;

namespace ShopChoreography.Messaging.Outbox;

/// <summary>
/// Tells this process's outbox dispatcher that outbox rows committed: at most one wake-up is pending, however many
/// commits raised it. Raised after the commit (by <see cref="OutboxCommitInterceptor"/> for this process's writers, by
/// the leader's listening session for the others), so a read that starts after <see cref="Reset"/> sees every row
/// whose wake-up it dropped.
/// </summary>
internal sealed class OutboxSignal(TimeProvider clock)
{
    private readonly Channel<bool> _pending = Channel.CreateBounded<bool>(new BoundedChannelOptions(1)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
    });

    public void Raise() => _pending.Writer.TryWrite(true);

    /// <summary>Whether rows committed since the last <see cref="Reset"/>.</summary>
    public bool IsRaised => _pending.Reader.Count > 0;

    /// <summary>Forgets a pending wake-up: called as a read of the outbox begins, which sees what it announced.</summary>
    public void Reset() => _pending.Reader.TryRead(out _);

    /// <summary>Waits for a wake-up, at most <paramref name="timeout"/>; true if woken. Leaves the wake-up pending.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (IsRaised)
        {
            return true;
        }

        using var expiry = new CancellationTokenSource(timeout > TimeSpan.Zero ? timeout : TimeSpan.Zero, clock);
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, expiry.Token);
        try
        {
            return await _pending.Reader.WaitToReadAsync(waiting.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
