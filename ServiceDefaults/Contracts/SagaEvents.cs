using ShopChoreography.ServiceDefaults.Messaging;

namespace ShopChoreography.Contracts;

// The events of the order saga, as contract.md names them. Each carries what its consumers need, so no service
// ever calls another. The order id is the subject: the partition key and record key of every event of an order.

public sealed record OrderLine(string Sku, int Quantity, decimal UnitPrice);

public sealed record ReservedLine(string Sku, int Quantity);

public static class CancellationReasons
{
    public const string InsufficientFunds = "insufficient-funds";
    public const string UnknownCustomer = "unknown-customer";
    public const string OutOfStock = "out-of-stock";
}

[CloudEventType("shop.orders.order-created.v1")]
public sealed record OrderCreated(Guid OrderId, string CustomerId, decimal Total, IReadOnlyList<OrderLine> Items) : IIntegrationEvent
{
    string IIntegrationEvent.Subject => OrderId.ToString();

    void IIntegrationEvent.RejectIfBroken() => EventRules.RejectIfBroken(this);
}

[CloudEventType("shop.orders.order-completed.v1")]
public sealed record OrderCompleted(Guid OrderId, string CustomerId, decimal Total) : IIntegrationEvent
{
    string IIntegrationEvent.Subject => OrderId.ToString();
}

[CloudEventType("shop.orders.order-cancelled.v1")]
public sealed record OrderCancelled(Guid OrderId, string CustomerId, string Reason) : IIntegrationEvent
{
    string IIntegrationEvent.Subject => OrderId.ToString();
}

[CloudEventType("shop.payments.payment-succeeded.v1")]
public sealed record PaymentSucceeded(Guid OrderId, string CustomerId, decimal Amount, IReadOnlyList<ReservedLine> Items) : IIntegrationEvent
{
    string IIntegrationEvent.Subject => OrderId.ToString();

    void IIntegrationEvent.RejectIfBroken() => EventRules.RejectIfBroken(this);
}

[CloudEventType("shop.payments.payment-failed.v1")]
public sealed record PaymentFailed(Guid OrderId, string CustomerId, decimal Amount, string Reason) : IIntegrationEvent
{
    string IIntegrationEvent.Subject => OrderId.ToString();

    void IIntegrationEvent.RejectIfBroken() => EventRules.RejectIfBroken(this);
}

[CloudEventType("shop.payments.payment-refunded.v1")]
public sealed record PaymentRefunded(Guid OrderId, string CustomerId, decimal Amount) : IIntegrationEvent
{
    string IIntegrationEvent.Subject => OrderId.ToString();

    void IIntegrationEvent.RejectIfBroken() => EventRules.RejectIfBroken(this);
}

[CloudEventType("shop.inventory.inventory-reserved.v1")]
public sealed record InventoryReserved(Guid OrderId, IReadOnlyList<ReservedLine> Items) : IIntegrationEvent
{
    string IIntegrationEvent.Subject => OrderId.ToString();

    void IIntegrationEvent.RejectIfBroken() => EventRules.RejectIfBroken(this);
}

[CloudEventType("shop.inventory.inventory-reservation-failed.v1")]
public sealed record InventoryReservationFailed(Guid OrderId, string Reason, IReadOnlyList<ReservedLine> Items) : IIntegrationEvent
{
    string IIntegrationEvent.Subject => OrderId.ToString();

    void IIntegrationEvent.RejectIfBroken() => EventRules.RejectIfBroken(this);
}

public static class Topics
{
    public const string OrdersEvents = "orders.events";
    public const string PaymentsEvents = "payments.events";
    public const string InventoryEvents = "inventory.events";
}
