using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Saga;

[Trait("Category", "Distributed")]
[Collection(DistributedAppCollection.Name)]
public sealed class SagaTests(DistributedAppFixture fixture) : IDisposable
{
    private const string OrderCreated = "shop.orders.order-created.v1";
    private const string OrderCompleted = "shop.orders.order-completed.v1";
    private const string OrderCancelled = "shop.orders.order-cancelled.v1";
    private const string PaymentSucceeded = "shop.payments.payment-succeeded.v1";
    private const string PaymentFailed = "shop.payments.payment-failed.v1";
    private const string PaymentRefunded = "shop.payments.payment-refunded.v1";
    private const string InventoryReserved = "shop.inventory.inventory-reserved.v1";
    private const string InventoryReservationFailed = "shop.inventory.inventory-reservation-failed.v1";

    private readonly Shop _shop = new(fixture);

    public void Dispose() => _shop.Dispose();

    [Fact]
    public async Task A_funded_order_with_stock_is_paid_reserved_and_completed()
    {
        var (customer, sku1, sku2) = (Shop.Unique("c"), Shop.Unique("sku"), Shop.Unique("sku"));
        await _shop.SetBalanceAsync(customer, 100.00m);
        await _shop.SetStockAsync(sku1, 10);
        await _shop.SetStockAsync(sku2, 5);

        var orderId = await _shop.PlaceOrderAsync(customer, (sku1, 2, 9.99m), (sku2, 1, 5.00m));
        var order = await _shop.WaitUntilSettledAsync(orderId);

        Assert.Equal((orderId, customer, "Completed", 24.98m, (string?)null),
            (order.OrderId, order.CustomerId, order.Status, order.Total, order.CancellationReason));
        Assert.Equal([new(sku1, 2, 9.99m), new(sku2, 1, 5.00m)], order.Items);
        Assert.Equal(new PaymentView(orderId, "Succeeded", 24.98m), await _shop.GetPaymentAsync(orderId));
        Assert.Equal(new AccountView(customer, 75.02m), await _shop.GetAccountAsync(customer));
        Assert.Equal(new StockView(sku1, 8, 2), await _shop.GetStockAsync(sku1));
        Assert.Equal(new StockView(sku2, 4, 1), await _shop.GetStockAsync(sku2));
        var reservation = await _shop.GetReservationAsync(orderId);
        Assert.Equal("Reserved", reservation?.Status);
        Assert.Equal([new(sku1, 2), new(sku2, 1)], reservation!.Lines);
        var timeline = await _shop.WaitForTimelineAsync(orderId, 4);
        Assert.Equal([(OrderCreated, "/orders"), (PaymentSucceeded, "/payments"), (InventoryReserved, "/inventory"), (OrderCompleted, "/orders")],
            timeline.Select(e => (e.Type, e.Source)));
        Assert.Equal(4, timeline.Select(e => e.Id).Distinct().Count());
    }

    [Fact]
    public async Task An_order_over_the_balance_is_cancelled_for_insufficient_funds_and_nothing_is_charged_or_reserved()
    {
        var (customer, sku) = (Shop.Unique("c"), Shop.Unique("sku"));
        await _shop.SetBalanceAsync(customer, 5.00m);
        await _shop.SetStockAsync(sku, 10);

        var orderId = await _shop.PlaceOrderAsync(customer, (sku, 1, 5.01m));
        var order = await _shop.WaitUntilSettledAsync(orderId);

        Assert.Equal(("Cancelled", "insufficient-funds"), (order.Status, order.CancellationReason));
        Assert.Equal(new PaymentView(orderId, "Failed", 5.01m), await _shop.GetPaymentAsync(orderId));
        Assert.Equal(new AccountView(customer, 5.00m), await _shop.GetAccountAsync(customer));
        Assert.Equal(new StockView(sku, 10, 0), await _shop.GetStockAsync(sku));
        Assert.Null(await _shop.GetReservationAsync(orderId));
        Assert.Equal([OrderCreated, PaymentFailed, OrderCancelled], (await _shop.WaitForTimelineAsync(orderId, 3)).Select(e => e.Type));
    }

    [Fact]
    public async Task An_order_of_an_unknown_customer_is_cancelled_and_no_account_appears()
    {
        var (customer, sku) = (Shop.Unique("nobody"), Shop.Unique("sku"));
        await _shop.SetStockAsync(sku, 10);

        var orderId = await _shop.PlaceOrderAsync(customer, (sku, 3, 2.50m));
        var order = await _shop.WaitUntilSettledAsync(orderId);

        Assert.Equal(("Cancelled", "unknown-customer"), (order.Status, order.CancellationReason));
        Assert.Equal(new PaymentView(orderId, "Failed", 7.50m), await _shop.GetPaymentAsync(orderId));
        Assert.Null(await _shop.GetAccountAsync(customer));
        Assert.Equal(new StockView(sku, 10, 0), await _shop.GetStockAsync(sku));
        Assert.Equal([OrderCreated, PaymentFailed, OrderCancelled], (await _shop.WaitForTimelineAsync(orderId, 3)).Select(e => e.Type));
    }

    [Fact]
    public async Task An_order_with_one_line_out_of_stock_is_cancelled_refunded_and_leaves_both_lines_untouched()
    {
        var (customer, inStock, soldOut) = (Shop.Unique("c"), Shop.Unique("sku"), Shop.Unique("sku"));
        await _shop.SetBalanceAsync(customer, 100.00m);
        await _shop.SetStockAsync(inStock, 10);
        await _shop.SetStockAsync(soldOut, 1);

        var orderId = await _shop.PlaceOrderAsync(customer, (inStock, 2, 10.00m), (soldOut, 2, 15.00m));
        var order = await _shop.WaitUntilSettledAsync(orderId);

        Assert.Equal(("Cancelled", "out-of-stock"), (order.Status, order.CancellationReason));
        var timeline = await _shop.WaitForTimelineAsync(orderId, 5);
        Assert.Equal([OrderCreated, PaymentSucceeded, InventoryReservationFailed], timeline.Take(3).Select(e => e.Type));
        // Orders cancels and Payments refunds in parallel: both follow the failed reservation, in either order.
        Assert.Equal([OrderCancelled, PaymentRefunded], timeline.Skip(3).Select(e => e.Type).Order());
        Assert.Equal(new PaymentView(orderId, "Refunded", 50.00m), await _shop.GetPaymentAsync(orderId));
        Assert.Equal(new AccountView(customer, 100.00m), await _shop.GetAccountAsync(customer));
        Assert.Equal(new StockView(inStock, 10, 0), await _shop.GetStockAsync(inStock));
        Assert.Equal(new StockView(soldOut, 1, 0), await _shop.GetStockAsync(soldOut));
        Assert.Equal("Rejected", (await _shop.GetReservationAsync(orderId))?.Status);
    }
}
