namespace ShopChoreography.Contracts;

/// <summary>The limits of an order (contract.md): a request is held to them, and so is every event the order causes.</summary>
public static class OrderLimits
{
    public const int MaxItems = 100;
    public const int MaxQuantity = 1000;
    public const decimal MaxUnitPrice = 1_000_000m;
    public const decimal MaxTotal = MaxItems * MaxQuantity * MaxUnitPrice;
}
