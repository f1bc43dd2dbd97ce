using Confluent.Kafka;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Operations;

/// <summary>
/// What the dashboard's trace list shows: one trace per order, from <c>POST /orders</c> through each service's
/// database work, outbox, publish and process spans to its end, and nothing that no one caused.
/// </summary>
[Trait("Category", "Distributed")]
[Collection(TelemetryAppCollection.Name)]
public sealed class OrderTraceTests(TelemetryAppFixture fixture) : IDisposable
{
    private readonly Shop _shop = new(fixture);

    public void Dispose() => _shop.Dispose();

    [Fact]
    public async Task A_completed_order_is_one_trace_through_every_service()
    {
        var trace = await TraceOfOrderAsync(balance: 100.00m, [(Stock: 5, Quantity: 2, UnitPrice: 9.99m)], "Completed", publishedEvents: 4);
        Assert.Equal("""
            orders: POST /orders/ +db
              orders: publish orders.events shop.orders.order-created.v1
                payments: process orders.events shop.orders.order-created.v1 +db
                  payments: publish payments.events shop.payments.payment-succeeded.v1
                    inventory: process payments.events shop.payments.payment-succeeded.v1 +db
                      inventory: publish inventory.events shop.inventory.inventory-reserved.v1
                        orders: process inventory.events shop.inventory.inventory-reserved.v1 +db
                          orders: publish orders.events shop.orders.order-completed.v1
                            payments: process orders.events shop.orders.order-completed.v1
                        payments: process inventory.events shop.inventory.inventory-reserved.v1
                    orders: process payments.events shop.payments.payment-succeeded.v1 +db

            """, trace.Render());
    }

    [Fact]
    public async Task An_order_cancelled_for_insufficient_funds_is_one_trace()
    {
        var trace = await TraceOfOrderAsync(balance: 1.00m, [(Stock: 5, Quantity: 1, UnitPrice: 500.00m)], "insufficient-funds", publishedEvents: 3);
        Assert.Equal("""
            orders: POST /orders/ +db
              orders: publish orders.events shop.orders.order-created.v1
                payments: process orders.events shop.orders.order-created.v1 +db
                  payments: publish payments.events shop.payments.payment-failed.v1
                    inventory: process payments.events shop.payments.payment-failed.v1
                    orders: process payments.events shop.payments.payment-failed.v1 +db
                      orders: publish orders.events shop.orders.order-cancelled.v1
                        payments: process orders.events shop.orders.order-cancelled.v1

            """, trace.Render());
    }

    [Fact]
    public async Task An_order_cancelled_out_of_stock_and_refunded_is_one_trace()
    {
        var trace = await TraceOfOrderAsync(balance: 100.00m, [(Stock: 5, Quantity: 1, UnitPrice: 5.00m), (Stock: 0, Quantity: 1, UnitPrice: 5.00m)],
            "out-of-stock", publishedEvents: 5);
        Assert.Equal("""
            orders: POST /orders/ +db
              orders: publish orders.events shop.orders.order-created.v1
                payments: process orders.events shop.orders.order-created.v1 +db
                  payments: publish payments.events shop.payments.payment-succeeded.v1
                    inventory: process payments.events shop.payments.payment-succeeded.v1 +db
                      inventory: publish inventory.events shop.inventory.inventory-reservation-failed.v1
                        orders: process inventory.events shop.inventory.inventory-reservation-failed.v1 +db
                          orders: publish orders.events shop.orders.order-cancelled.v1
                            payments: process orders.events shop.orders.order-cancelled.v1
                        payments: process inventory.events shop.inventory.inventory-reservation-failed.v1 +db
                          payments: publish payments.events shop.payments.payment-refunded.v1
                            inventory: process payments.events shop.payments.payment-refunded.v1
                            orders: process payments.events shop.payments.payment-refunded.v1 +db
                    orders: process payments.events shop.payments.payment-succeeded.v1 +db

            """, trace.Render());
    }

    /// <summary>
    /// A record delivered again (after a crash before its offset was committed, or a rebalance) continues the order's
    /// trace under the same publish span; the inbox makes it change nothing.
    /// </summary>
    [Fact]
    public async Task A_redelivered_event_is_processed_again_within_the_orders_trace()
    {
        var trace = await TraceOfOrderAsync(balance: 100.00m, [(Stock: 5, Quantity: 1, UnitPrice: 3.00m)], "Completed", publishedEvents: 4);
        var created = trace.Publishes.Single(p => p["cloudevents.event_type"] == "shop.orders.order-created.v1");
        var eventId = created["messaging.message.id"];
        var kafka = await fixture.ConnectionStringAsync("kafka");
        var record = TopicReader.ReadUntil(kafka, "orders.events", records => records.Any(r => r.Header("ce_id") == eventId))
            .Single(r => r.Header("ce_id") == eventId);
        using (var producer = new ProducerBuilder<string?, byte[]?>(new ProducerConfig { BootstrapServers = kafka }).Build())
        {
            await producer.ProduceAsync(record.TopicPartition, record.Message);
        }

        var processed = await Poller.UntilAsync(
            () => Task.FromResult(fixture.Receiver.Spans.Where(s => s.Kind == ExportedSpan.ConsumerKind && s["messaging.message.id"] == eventId).ToList()),
            spans => spans.Count == 2, "Payments to process the redelivered OrderCreated");
        Assert.All(processed, span => Assert.Equal(("payments", trace.TraceId, created.SpanId), (span.Service, span.TraceId, span.ParentSpanId)));
    }

    /// <summary>
    /// Outbox polls and backlog reports, leader checks, retention, stuck-order checks and health probes all run while
    /// nobody does anything: none of them may start a trace, nor leave a database span whose parent was dropped. Their
    /// cost still shows: the database metrics keep counting their commands.
    /// </summary>
    [Fact]
    public async Task While_nobody_uses_the_shop_no_background_loop_starts_a_trace_and_their_database_work_is_counted()
    {
        var quietFrom = DateTimeOffset.UtcNow;
        var commandsBefore = DatabaseCommands(quietFrom);
        // Longer than every background interval that runs at rest: outbox backlog report (5 s), stuck-order check (5 s),
        // the AppHost's health probes, and the standby dispatcher's leader check (2 s).
        var quietUntil = quietFrom + TimeSpan.FromSeconds(7);
        await Poller.UntilAsync(() => Task.FromResult(LatestExportPerService()),
            latest => DistributedAppFixture.Services.All(service => latest.GetValueOrDefault(service) > quietUntil + TimeSpan.FromSeconds(1)),
            "every service to export its metrics past the end of the quiet period", TimeSpan.FromSeconds(40));

        var quiet = fixture.Receiver.Spans.Where(s => s.Start >= quietFrom && s.Start <= quietUntil).ToList();
        var known = fixture.Receiver.Spans.Select(s => s.SpanId).ToHashSet();
        Assert.Empty(quiet.Where(s => s.ParentSpanId == "" || !known.Contains(s.ParentSpanId)).Select(s => s.ToString()));
        var commandsAfter = DatabaseCommands(quietUntil);
        foreach (var service in DistributedAppFixture.Services)
        {
            Assert.True(commandsAfter.GetValueOrDefault(service) > commandsBefore.GetValueOrDefault(service),
                $"{service}: {commandsBefore.GetValueOrDefault(service)} database commands before the quiet period, {commandsAfter.GetValueOrDefault(service)} after");
        }
    }

    /// <summary>
    /// Places an order of a new customer with <paramref name="balance"/>, each line on a new SKU with its stock, waits
    /// until it settles as <paramref name="outcome"/> (its status or its cancellation reason), and returns its trace.
    /// </summary>
    private async Task<OrderTrace> TraceOfOrderAsync(decimal balance, (int Stock, int Quantity, decimal UnitPrice)[] lines, string outcome,
        int publishedEvents)
    {
        var customer = Shop.Unique("c");
        await _shop.SetBalanceAsync(customer, balance);
        var items = lines.Select(line => (Sku: Shop.Unique("sku"), line.Quantity, line.UnitPrice)).ToArray();
        foreach (var (item, line) in items.Zip(lines))
        {
            await _shop.SetStockAsync(item.Sku, line.Stock);
        }

        var orderId = await _shop.PlaceOrderAsync(customer, items);
        var order = await _shop.WaitUntilSettledAsync(orderId);
        Assert.Equal(outcome, order.CancellationReason ?? order.Status);

        var trace = await OrderTrace.WaitForAsync(fixture.Receiver, orderId, publishedEvents);
        trace.AssertOneRootAndEveryParentPresent();
        return trace;
    }

    private Dictionary<string, DateTimeOffset> LatestExportPerService() =>
        fixture.Receiver.Points.GroupBy(p => p.Service).ToDictionary(g => g.Key, g => g.Max(p => p.Time));

    /// <summary>Npgsql's command count per service, from the newest export at or after <paramref name="from"/>.</summary>
    private Dictionary<string, ulong> DatabaseCommands(DateTimeOffset from) =>
        fixture.Receiver.Points.Where(p => p.Metric == "db.client.operation.duration")
            .GroupBy(p => p.Service)
            .ToDictionary(g => g.Key, g =>
            {
                var time = g.Where(p => p.Time >= from).Select(p => p.Time).DefaultIfEmpty(g.Max(p => p.Time)).Min();
                return (ulong)g.Where(p => p.Time == time).Sum(p => (decimal)p.Count);
            });
}
