using Confluent.Kafka;

namespace ShopChoreography.AppHost.Infrastructure.Kafka;

/// <summary>
/// Fault drill: every request of one type, to any broker, fails with a retriable error for a while; clients retry
/// and succeed once it is over. The mock cluster only fails the next N requests pushed to it, so the window pushes
/// more errors than the clients send in a second, every second, and clears what is left when it closes. Opening a
/// window of a type that is already open replaces it.
/// </summary>
public sealed class RequestErrorWindow(KafkaRequest request)
{
    /// <summary>Retriable for producers and consumers alike: they refresh metadata, back off and retry.</summary>
    public const ErrorCode Error = ErrorCode.NotLeaderForPartition;

    private static readonly TimeSpan Rearm = TimeSpan.FromSeconds(1);
    private static readonly ErrorCode[] ErrorsPerRearm = Enumerable.Repeat(Error, 1000).ToArray();

    private readonly Lock _gate = new();
    private CancellationTokenSource? _open;

    public KafkaRequest Request { get; } = request;

    /// <summary>When the open window closes; null when none is open.</summary>
    public DateTimeOffset? OpenUntil { get; private set; }

    /// <summary>Opens the window now; <paramref name="closed"/> runs once it has closed (not when a newer one replaced it).</summary>
    public DateTimeOffset Open(KafkaMockCluster cluster, TimeSpan duration, TimeProvider clock, Func<Task> closed, CancellationToken stopping)
    {
        CancellationTokenSource open;
        DateTimeOffset until;
        lock (_gate)
        {
            _open?.Cancel();
            _open = open = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            until = clock.GetUtcNow() + duration;
            OpenUntil = until;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                for (var left = until - clock.GetUtcNow(); left > TimeSpan.Zero; left = until - clock.GetUtcNow())
                {
                    cluster.ClearRequestErrors(Request);
                    cluster.FailNextRequests(Request, ErrorsPerRearm);
                    await Task.Delay(left < Rearm ? left : Rearm, clock, open.Token);
                }
            }
            catch (OperationCanceledException)
            {
                return; // replaced by a newer window, or the app is stopping (the cluster goes with it)
            }

            lock (_gate)
            {
                if (_open != open)
                {
                    return;
                }

                cluster.ClearRequestErrors(Request);
                OpenUntil = null;
                _open = null;
            }

            open.Dispose();
            await closed();
        }, CancellationToken.None);
        return until;
    }
}
