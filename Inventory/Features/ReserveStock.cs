using Microsoft.EntityFrameworkCore;
using ShopChoreography.Contracts;
using ShopChoreography.Inventory.Data;
using ShopChoreography.Messaging;
using ShopChoreography.Messaging.Outbox;

namespace ShopChoreography.Inventory.Features;

/// <summary>
/// Reserves every line of a paid order, or none, at most once per order. The stock rows are locked in SKU order, so
/// concurrent reservations wait for each other (never overselling) and never deadlock.
/// </summary>
public sealed class ReserveStockOnPaymentSucceeded(InventoryDbContext db, IEventPublisher events) : IEventHandler<PaymentSucceeded>
{
    public async Task HandleAsync(PaymentSucceeded payment, EventContext context, CancellationToken cancellationToken)
    {
        // The same SKU may appear on several lines: reserve what they add up to.
        var wanted = payment.Items.GroupBy(line => line.Sku).ToDictionary(group => group.Key, group => group.Sum(line => line.Quantity));
        var skus = wanted.Keys.Order(StringComparer.Ordinal).ToArray();
        var stock = await db.Stock
            .FromSql($"""
                SELECT * FROM stock WHERE sku = ANY({skus})
                  AND NOT EXISTS (SELECT 1 FROM reservations WHERE "OrderId" = {payment.OrderId})
                ORDER BY sku FOR UPDATE
                """)
            .ToDictionaryAsync(item => item.Sku, cancellationToken);
        if (stock.Count < wanted.Count && await db.Reservations.AnyAsync(r => r.OrderId == payment.OrderId, cancellationToken))
        {
            return; // this order was decided already (the query locked nothing)
        }

        var lines = payment.Items.Select(line => new ReservationLine(line.Sku, line.Quantity)).ToList();
        var enough = wanted.All(line => stock.TryGetValue(line.Key, out var item) && item.Available >= line.Value);
        if (enough)
        {
            foreach (var (sku, quantity) in wanted)
            {
                stock[sku].Available -= quantity;
                stock[sku].Reserved += quantity;
            }

            events.Publish(new InventoryReserved(payment.OrderId, payment.Items));
        }
        else
        {
            events.Publish(new InventoryReservationFailed(payment.OrderId, CancellationReasons.OutOfStock, payment.Items));
        }

        db.Reservations.Add(new Reservation
        {
            OrderId = payment.OrderId,
            Status = enough ? ReservationStatus.Reserved : ReservationStatus.Rejected,
            Lines = lines,
        });
    }
}
