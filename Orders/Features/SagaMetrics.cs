using System.Diagnostics.Metrics;
using ShopChoreography.Messaging;
using ShopChoreography.Messaging.Telemetry;

namespace ShopChoreography.Orders.Features;

/// <summary>
/// <c>orders.saga.duration</c>: from the order's creation (its <c>OrderCreated</c> in the same transaction) to its
/// terminal state, by <c>outcome</c> (<c>completed</c>, <c>cancelled</c>) and, when cancelled, <c>cancellation.reason</c>.
/// </summary>
public sealed class SagaMetrics
{
    public const string MeterName = "ShopChoreography.Orders";

    private readonly Histogram<double> _duration;
    private readonly TimeProvider _clock;

    public SagaMetrics(IMeterFactory meters, TimeProvider clock)
    {
        _clock = clock;
        _duration = meters.Create(MeterName).CreateHistogram<double>("orders.saga.duration", "s",
            "From the order's creation to Completed or Cancelled.", advice: DurationBuckets.Seconds);
    }

    /// <summary>
    /// Called by the handler that settles the order; counted once that handler's transaction commits, so an attempt
    /// that rolls back (a concurrent update of the order) and is tried again counts once.
    /// </summary>
    public void Settled(Order order, IAfterCommit afterCommit)
    {
        var duration = (_clock.GetUtcNow() - order.CreatedAt).TotalSeconds;
        var reason = order.CancellationReason;
        afterCommit.Add(order.Status == OrderStatus.Completed
            ? () => _duration.Record(duration, new KeyValuePair<string, object?>("outcome", "completed"))
            : () => _duration.Record(duration, new KeyValuePair<string, object?>("outcome", "cancelled"),
                new KeyValuePair<string, object?>("cancellation.reason", reason)));
    }
}
