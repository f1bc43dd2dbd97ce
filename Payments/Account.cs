namespace ShopChoreography.Payments;

public sealed class Account
{
    public required string CustomerId { get; init; }

    public decimal Balance { get; set; }
}

public enum PaymentStatus
{
    Succeeded,
    Failed,
    Refunded,
}

/// <summary>The one payment of an order: charged at most once, refunded at most once.</summary>
public sealed class Payment
{
    public Guid OrderId { get; init; }

    public required string CustomerId { get; init; }

    public PaymentStatus Status { get; set; }

    public decimal Amount { get; init; }

    public string? FailureReason { get; init; }
}
