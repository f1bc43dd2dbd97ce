using System.ComponentModel.DataAnnotations;
using ShopChoreography.Messaging;
using ShopChoreography.ServiceDefaults.Validation;

namespace ShopChoreography.Contracts;

// The events of the order saga, as contract.md names them. Each carries what its consumers need, so no service
// ever calls another. The order id is the subject: the partition key and record key of every event of an order.
// The attributes state each event's limits (Limits.cs): every consumer holds the event to them before any handler runs,
// and the published schemas (Schemas/<type>.json) state them.

public sealed record OrderLine([property: Identifier] string Sku, [property: Quantity] int Quantity,
    [property: Amount((double)OrderLimits.MaxUnitPrice)] decimal UnitPrice);

public sealed record ReservedLine([property: Identifier] string Sku, [property: Quantity] int Quantity);

public static class CancellationReasons
{
    public const string InsufficientFunds = "insufficient-funds";
    public const string UnknownCustomer = "unknown-customer";
    public const string OutOfStock = "out-of-stock";
}

[CloudEventType("shop.orders.order-created.v1")]
public sealed record OrderCreated([property: NotEmpty] Guid OrderId, [property: Identifier] string CustomerId, [property: Amount((double)OrderLimits.MaxTotal)] decimal Total,
    [property: Lines] IReadOnlyList<OrderLine> Items) : IIntegrationEvent, IValidatableObject
{
    string IIntegrationEvent.Subject => OrderId.ToString();

    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (Items.Sum(line => line.Quantity * line.UnitPrice) != Total)
        {
            yield return new ValidationResult("total is not the sum of the lines.", ["total"]);
        }
    }
}

[CloudEventType("shop.orders.order-completed.v1")]
public sealed record OrderCompleted([property: NotEmpty] Guid OrderId, string CustomerId, decimal Total) : IIntegrationEvent
{
    string IIntegrationEvent.Subject => OrderId.ToString();
}

[CloudEventType("shop.orders.order-cancelled.v1")]
public sealed record OrderCancelled([property: NotEmpty] Guid OrderId, string CustomerId, string Reason) : IIntegrationEvent
{
    string IIntegrationEvent.Subject => OrderId.ToString();
}

[CloudEventType("shop.payments.payment-succeeded.v1")]
public sealed record PaymentSucceeded([property: NotEmpty] Guid OrderId, [property: Identifier] string CustomerId, [property: Amount((double)OrderLimits.MaxTotal)] decimal Amount,
    [property: Lines] IReadOnlyList<ReservedLine> Items) : IIntegrationEvent
{
    string IIntegrationEvent.Subject => OrderId.ToString();
}

[CloudEventType("shop.payments.payment-failed.v1")]
public sealed record PaymentFailed([property: NotEmpty] Guid OrderId, [property: Identifier] string CustomerId, [property: Amount((double)OrderLimits.MaxTotal)] decimal Amount,
    [property: Identifier] string Reason) : IIntegrationEvent
{
    string IIntegrationEvent.Subject => OrderId.ToString();
}

[CloudEventType("shop.payments.payment-refunded.v1")]
public sealed record PaymentRefunded([property: NotEmpty] Guid OrderId, [property: Identifier] string CustomerId, [property: Amount((double)OrderLimits.MaxTotal)] decimal Amount)
    : IIntegrationEvent
{
    string IIntegrationEvent.Subject => OrderId.ToString();
}

[CloudEventType("shop.inventory.inventory-reserved.v1")]
public sealed record InventoryReserved([property: NotEmpty] Guid OrderId, [property: Lines] IReadOnlyList<ReservedLine> Items) : IIntegrationEvent
{
    string IIntegrationEvent.Subject => OrderId.ToString();
}

[CloudEventType("shop.inventory.inventory-reservation-failed.v1")]
public sealed record InventoryReservationFailed([property: NotEmpty] Guid OrderId, [property: Identifier] string Reason, [property: Lines] IReadOnlyList<ReservedLine> Items)
    : IIntegrationEvent
{
    string IIntegrationEvent.Subject => OrderId.ToString();
}
