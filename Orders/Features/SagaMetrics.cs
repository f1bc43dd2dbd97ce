using System.Diagnostics.Metrics;

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
            "From the order's creation to Completed or Cancelled.");
    }

    /// <summary>
    /// Called by the handler that settles the order, before its transaction commits: an attempt that fails to commit
    /// and is retried is counted again, which only an outage between the handler and the commit can cause.
    /// </summary>
    public void Settled(Order order)
    {
        var duration = (_clock.GetUtcNow() - order.CreatedAt).TotalSeconds;
        if (order.Status == OrderStatus.Completed)
        {
            _duration.Record(duration, new KeyValuePair<string, object?>("outcome", "completed"));
        }
        else
        {
            _duration.Record(duration, new KeyValuePair<string, object?>("outcome", "cancelled"),
                new KeyValuePair<string, object?>("cancellation.reason", order.CancellationReason));
        }
    }
}
