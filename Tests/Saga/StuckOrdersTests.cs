using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ShopChoreography.Contracts;
using ShopChoreography.Messaging;
using ShopChoreography.Orders;
using ShopChoreography.Orders.Data;
using ShopChoreography.Orders.Features;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Saga;

/// <summary>The stuck-orders check as Orders runs it every few seconds (<see cref="StuckOrders.FindAsync"/>), in this process.</summary>
[Trait("Category", "Distributed")]
[Collection(DistributedAppCollection.Name)]
public sealed class StuckOrdersTests(DistributedAppFixture fixture)
{
    private const int RefundedOrders = 3000;

    [Fact]
    public async Task The_check_finds_the_orders_waiting_too_long_by_reading_those_in_flight_or_awaiting_a_refund_not_the_days_settled_ones()
    {
        var database = await fixture.CreateDatabaseAsync("orders_stuck");
        using var orders = await OrdersInProcess.CreateAsync(database);
        var now = DateTimeOffset.UtcNow;
        var anHourAgo = now.AddHours(-1);
        var refunded = Enumerable.Range(0, RefundedOrders).Select(_ => Guid.NewGuid()).ToList();
        Guid waitingForPayment = Guid.NewGuid(), waitingForRefund = Guid.NewGuid(), refundedWhilePaid = Guid.NewGuid(), placedJustNow = Guid.NewGuid();
        await ChangeOrdersAsync(orders, db =>
        {
            db.Orders.AddRange(refunded.Select(id => Placed(id, anHourAgo)));
            db.Orders.AddRange(Placed(waitingForPayment, anHourAgo.AddMinutes(-1)), Placed(waitingForRefund, anHourAgo),
                Placed(refundedWhilePaid, anHourAgo), Placed(placedJustNow, now));
            return Task.CompletedTask;
        });
        await ChangeOrdersAsync(orders, async db =>
        {
            foreach (var order in await db.Orders.Where(o => refunded.Contains(o.Id) || o.Id == waitingForRefund).ToListAsync())
            {
                order.Cancel(CancellationReasons.OutOfStock);
            }

            (await db.Orders.SingleAsync(o => o.Id == refundedWhilePaid)).MarkPaid();
        });
        // A refund and the cancellation it follows come on two topics, so Orders may record them in either order.
        await ChangeOrdersAsync(orders, async db =>
        {
            var refund = new RecordRefundOnPaymentRefunded(db, TimeProvider.System);
            foreach (var id in refunded.Append(refundedWhilePaid))
            {
                await refund.HandleAsync(new PaymentRefunded(id, "c-1", 10m), Refund(anHourAgo), CancellationToken.None);
            }
        });
        await ChangeOrdersAsync(orders, async db =>
            (await db.Orders.SingleAsync(o => o.Id == refundedWhilePaid)).Cancel(CancellationReasons.OutOfStock));

        await Sql.ExecuteAsync(database, "VACUUM ANALYZE"); // as autovacuum does as the day goes on
        await StatementStatistics.ResetAsync(database);
        var stuck = await FindStuckAsync(orders, now);

        Assert.Equal([(waitingForPayment, StuckOrders.WaitingForPayment), (waitingForRefund, StuckOrders.WaitingForRefund)],
            stuck.Select(order => (order.OrderId, order.WaitingFor)));
        // Checking the history of every order cancelled that day read 189 pages here, more with every order; through the
        // indexes of the orders in flight and of those awaiting a refund, the check reads the same few pages all day.
        var (checks, pages) = await StatementStatistics.ReadAsync(database, "%\"LastHealedAt\"%LIMIT%");
        Assert.Equal(1, checks);
        Assert.InRange(pages, 1, 50);
    }

    private static Order Placed(Guid id, DateTimeOffset at) => new() { Id = id, CustomerId = "c-1", Total = 10m, CreatedAt = at };

    private static EventContext Refund(DateTimeOffset at) =>
        new(Guid.NewGuid().ToString(), "/payments", EventTypes.TypeOf<PaymentRefunded>(), at, Subject: null);

    private static async Task<List<StuckOrder>> FindStuckAsync(IHost orders, DateTimeOffset now)
    {
        await using var scope = orders.Services.CreateAsyncScope();
        return await StuckOrders.FindAsync(scope.ServiceProvider.GetRequiredService<OrdersDbContext>(), new SagaOptions(), now, CancellationToken.None);
    }

    private static async Task ChangeOrdersAsync(IHost orders, Func<OrdersDbContext, Task> change)
    {
        await using var scope = orders.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrdersDbContext>();
        await change(db);
        await db.SaveChangesAsync();
    }
}
