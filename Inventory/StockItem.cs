namespace ShopChoreography.Inventory;

public sealed class StockItem
{
    public required string Sku { get; init; }

    public int Available { get; set; }

    public int Reserved { get; set; }
}

public enum ReservationStatus
{
    Reserved,
    Rejected,
}

/// <summary>The outcome of reserving an order's lines: all of them, or none.</summary>
public sealed class Reservation
{
    public Guid OrderId { get; init; }

    public ReservationStatus Status { get; init; }

    public List<ReservationLine> Lines { get; init; } = [];
}

public sealed record ReservationLine(string Sku, int Quantity);
