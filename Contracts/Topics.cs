namespace ShopChoreography.Contracts;

/// <summary>
/// The topics of the saga: one event topic per publishing service, and one dead-letter topic per consuming service
/// (<c>&lt;service&gt;.dlq</c>, the messaging core's convention). Every record is keyed by order id. The AppHost creates
/// exactly these, and a test holds the Azure templates to them.
/// </summary>
public static class Topics
{
    public const int Partitions = 12;

    public const string OrdersEvents = "orders.events";
    public const string PaymentsEvents = "payments.events";
    public const string InventoryEvents = "inventory.events";

    public const string OrdersDeadLetters = "orders.dlq";
    public const string PaymentsDeadLetters = "payments.dlq";
    public const string InventoryDeadLetters = "inventory.dlq";

    public static readonly IReadOnlyList<string> All =
        [OrdersEvents, PaymentsEvents, InventoryEvents, OrdersDeadLetters, PaymentsDeadLetters, InventoryDeadLetters];
}
