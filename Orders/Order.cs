using ShopChoreography.Contracts;

namespace ShopChoreography.Orders;

public enum OrderStatus
{
    Pending,
    Paid,
    Completed,
    Cancelled,
}

/// <summary>
/// An order and its place in the saga. Events of one order arrive on different topics, so they can arrive in any
/// order: a transition only ever moves forward, and an event that comes after the order is settled changes nothing.
/// </summary>
public sealed class Order
{
    public Guid Id { get; init; }

    public required string CustomerId { get; init; }

    public OrderStatus Status { get; private set; } = OrderStatus.Pending;

    public decimal Total { get; init; }

    public string? CancellationReason { get; private set; }

    public DateTimeOffset CreatedAt { get; init; }

    public List<OrderLine> Lines { get; init; } = [];

    /// <summary>How often the saga of this order was healed (see <c>StuckOrders</c>), and when last.</summary>
    public int HealAttempts { get; private set; }

    public DateTimeOffset? LastHealedAt { get; private set; }

    /// <summary>
    /// When Payments gave the money back (its <c>PaymentRefunded</c>), whatever the order's status then: the refund and
    /// the cancellation it follows arrive on two topics, in either order. A cancelled order without it awaits a refund.
    /// </summary>
    public DateTimeOffset? RefundedAt { get; private set; }

    /// <summary>PostgreSQL's row version: two handlers updating one order at once conflict, and the later retries.</summary>
    public uint Version { get; private set; }

    public bool IsSettled => Status is OrderStatus.Completed or OrderStatus.Cancelled;

    public void MarkPaid()
    {
        if (Status == OrderStatus.Pending)
        {
            Status = OrderStatus.Paid;
        }
    }

    /// <summary>True when this call completed the order.</summary>
    public bool Complete()
    {
        if (IsSettled)
        {
            return false;
        }

        Status = OrderStatus.Completed;
        return true;
    }

    public void RecordRefund(DateTimeOffset at) => RefundedAt ??= at;

    /// <summary>True when this call cancelled the order.</summary>
    public bool Cancel(string reason)
    {
        if (IsSettled)
        {
            return false;
        }

        Status = OrderStatus.Cancelled;
        CancellationReason = reason;
        return true;
    }
}

/// <summary>An event that touched an order, published or consumed by Orders: the append-only story of the order.</summary>
public sealed class OrderHistoryEntry
{
    public long Sequence { get; init; }

    public Guid OrderId { get; init; }

    public required string EventId { get; init; }

    public required string Type { get; init; }

    public required string Source { get; init; }

    public DateTimeOffset Time { get; init; }
}
