namespace ShopChoreography.Orders;

public enum OrderStatus
{
    Pending,
    Paid,
    Completed,
    Cancelled,
}

public sealed class Order
{
    public Guid Id { get; init; }

    public required string CustomerId { get; init; }

    public OrderStatus Status { get; set; } = OrderStatus.Pending;

    public decimal Total { get; init; }

    public string? CancellationReason { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    public List<OrderLine> Lines { get; init; } = [];
}

public sealed record OrderLine(string Sku, int Quantity, decimal UnitPrice);
