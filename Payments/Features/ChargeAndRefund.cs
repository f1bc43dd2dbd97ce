using Microsoft.EntityFrameworkCore;
using ShopChoreography.Contracts;
using ShopChoreography.Messaging;
using ShopChoreography.Messaging.Outbox;
using ShopChoreography.Payments.Data;

namespace ShopChoreography.Payments.Features;

/// <summary>
/// Charges the customer for a new order. The balance check and the debit are one conditional UPDATE, so concurrent
/// orders of one customer serialize on the account row and can never overdraw it. A charge happens at most once per
/// order: the UPDATE also checks that this order has no payment yet, so the usual case costs one statement.
/// </summary>
public sealed class ChargeCustomerOnOrderCreated(PaymentsDbContext db, IEventPublisher events) : IEventHandler<OrderCreated>
{
    public async Task HandleAsync(OrderCreated order, EventContext context, CancellationToken cancellationToken)
    {
        var charged = await db.Database.ExecuteSqlAsync($"""
            UPDATE accounts SET balance = balance - {order.Total}
            WHERE customer_id = {order.CustomerId} AND balance >= {order.Total}
              AND NOT EXISTS (SELECT 1 FROM payments WHERE "OrderId" = {order.OrderId})
            """, cancellationToken) == 1;
        if (!charged && await db.Payments.AnyAsync(p => p.OrderId == order.OrderId, cancellationToken))
        {
            return; // already charged (or refused) for this order
        }

        var failure = charged ? null
            : await db.Accounts.AnyAsync(a => a.CustomerId == order.CustomerId, cancellationToken)
                ? CancellationReasons.InsufficientFunds
                : CancellationReasons.UnknownCustomer;

        db.Payments.Add(new Payment
        {
            OrderId = order.OrderId,
            CustomerId = order.CustomerId,
            Amount = order.Total,
            Status = charged ? PaymentStatus.Succeeded : PaymentStatus.Failed,
            FailureReason = failure,
        });
        if (failure is null)
        {
            events.Publish(new PaymentSucceeded(order.OrderId, order.CustomerId, order.Total,
                [.. order.Items.Select(item => new ReservedLine(item.Sku, item.Quantity))]));
        }
        else
        {
            events.Publish(new PaymentFailed(order.OrderId, order.CustomerId, order.Total, failure));
        }
    }
}

/// <summary>Compensation: gives the money back when the stock could not be reserved. At most once per order.</summary>
public sealed class RefundOnInventoryReservationFailed(PaymentsDbContext db, IEventPublisher events) : IEventHandler<InventoryReservationFailed>
{
    public async Task HandleAsync(InventoryReservationFailed reservation, EventContext context, CancellationToken cancellationToken)
    {
        var payment = await db.Payments
            .FromSql($"SELECT * FROM payments WHERE \"OrderId\" = {reservation.OrderId} FOR UPDATE")
            .SingleOrDefaultAsync(cancellationToken);
        if (payment is null)
        {
            // Recording this as done would lose the refund for good once the charge arrives.
            throw new EventNotReadyException($"order {reservation.OrderId} has no payment yet: nothing to refund until it is charged");
        }

        if (payment.Status != PaymentStatus.Succeeded)
        {
            return; // the charge failed, or it was refunded already
        }

        await db.Database.ExecuteSqlAsync(
            $"UPDATE accounts SET balance = balance + {payment.Amount} WHERE customer_id = {payment.CustomerId}", cancellationToken);
        payment.Status = PaymentStatus.Refunded;
        events.Publish(new PaymentRefunded(payment.OrderId, payment.CustomerId, payment.Amount));
    }
}
