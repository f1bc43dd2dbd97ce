using Microsoft.EntityFrameworkCore;
using ShopChoreography.Contracts;
using ShopChoreography.Messaging;
using ShopChoreography.Messaging.Outbox;
using ShopChoreography.Orders.Data;

namespace ShopChoreography.Orders.Features;

// How Orders follows the saga: each handler runs in the consumer host's transaction, with the inbox record.

public sealed class MarkOrderPaidOnPaymentSucceeded(OrdersDbContext db) : IEventHandler<PaymentSucceeded>
{
    public async Task HandleAsync(PaymentSucceeded payment, EventContext context, CancellationToken cancellationToken)
    {
        var order = await db.FindOrderAsync(payment.OrderId, cancellationToken);
        order.MarkPaid();
        db.Record(order.Id, context);
    }
}

public sealed class CompleteOrderOnInventoryReserved(OrdersDbContext db, IEventPublisher events, SagaMetrics saga, IAfterCommit afterCommit)
    : IEventHandler<InventoryReserved>
{
    public async Task HandleAsync(InventoryReserved reservation, EventContext context, CancellationToken cancellationToken)
    {
        var order = await db.FindOrderAsync(reservation.OrderId, cancellationToken);
        db.Record(order.Id, context);
        if (order.Complete())
        {
            db.Record(order.Id, events.Publish(new OrderCompleted(order.Id, order.CustomerId, order.Total)));
            saga.Settled(order, afterCommit);
        }
    }
}

public sealed class CancelOrderOnPaymentFailed(OrdersDbContext db, IEventPublisher events, SagaMetrics saga, IAfterCommit afterCommit)
    : IEventHandler<PaymentFailed>
{
    public async Task HandleAsync(PaymentFailed payment, EventContext context, CancellationToken cancellationToken) =>
        await db.CancelAsync(payment.OrderId, payment.Reason, context, events, saga, afterCommit, cancellationToken);
}

public sealed class CancelOrderOnInventoryReservationFailed(OrdersDbContext db, IEventPublisher events, SagaMetrics saga, IAfterCommit afterCommit)
    : IEventHandler<InventoryReservationFailed>
{
    public async Task HandleAsync(InventoryReservationFailed reservation, EventContext context, CancellationToken cancellationToken) =>
        await db.CancelAsync(reservation.OrderId, reservation.Reason, context, events, saga, afterCommit, cancellationToken);
}

/// <summary>The refund settles nothing in Orders, but it ends the wait for it (see <c>StuckOrders</c>) and belongs to the order's story.</summary>
public sealed class RecordRefundOnPaymentRefunded(OrdersDbContext db, TimeProvider clock) : IEventHandler<PaymentRefunded>
{
    public async Task HandleAsync(PaymentRefunded refund, EventContext context, CancellationToken cancellationToken)
    {
        var order = await db.FindOrderAsync(refund.OrderId, cancellationToken);
        order.RecordRefund(context.Time ?? clock.GetUtcNow());
        db.Record(order.Id, context);
    }
}

internal static class SagaSteps
{
    /// <summary>
    /// Loads the order locked until the transaction ends. Its events arrive on several topics at once (payments.events
    /// and inventory.events): locked, its steps apply one after the other instead of conflicting on the row version
    /// and waiting out a retry.
    /// </summary>
    public static async Task<Order> FindOrderAsync(this OrdersDbContext db, Guid orderId, CancellationToken cancellationToken) =>
        await db.Orders.FromSql($"SELECT *, xmin FROM orders WHERE \"Id\" = {orderId} FOR UPDATE").SingleOrDefaultAsync(cancellationToken)
        ?? throw new EventRejectedException($"order {orderId} does not exist");

    public static async Task CancelAsync(this OrdersDbContext db, Guid orderId, string reason, EventContext context,
        IEventPublisher events, SagaMetrics saga, IAfterCommit afterCommit, CancellationToken cancellationToken)
    {
        var order = await db.FindOrderAsync(orderId, cancellationToken);
        db.Record(order.Id, context);
        if (order.Cancel(reason))
        {
            db.Record(order.Id, events.Publish(new OrderCancelled(order.Id, order.CustomerId, reason)));
            saga.Settled(order, afterCommit);
        }
    }
}
