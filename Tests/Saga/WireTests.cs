using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Confluent.Kafka;
using ShopChoreography.Tests.Distributed;
using ShopChoreography.Tests.Messaging;
using ShopChoreography.Tests.Probing;

namespace ShopChoreography.Tests.Saga;

[Collection(DistributedAppCollection.Name)]
public sealed partial class WireTests(DistributedAppFixture fixture) : IDisposable
{
    private static readonly string[] Topics = ["orders.events", "payments.events", "inventory.events"];
    private readonly Shop _shop = new(fixture);

    public void Dispose() => _shop.Dispose();

    [Fact]
    public async Task The_events_of_one_order_carry_the_contract_headers_key_and_JSON_body()
    {
        var (customer, sku) = (Shop.Unique("c"), Shop.Unique("sku"));
        await _shop.SetBalanceAsync(customer, 50.00m);
        await _shop.SetStockAsync(sku, 3);
        var orderId = await _shop.PlaceOrderAsync(customer, (sku, 2, 7.25m));
        await _shop.WaitUntilSettledAsync(orderId);

        var events = await EventsOfAsync(orderId, count: 4);

        Assert.Equal(
            [("orders.events", "/orders", "shop.orders.order-completed.v1"), ("orders.events", "/orders", "shop.orders.order-created.v1"),
             ("payments.events", "/payments", "shop.payments.payment-succeeded.v1"), ("inventory.events", "/inventory", "shop.inventory.inventory-reserved.v1")],
            events.Select(e => (e.Topic, e.Header("ce_source"), e.Header("ce_type"))).OrderBy(e => Array.IndexOf(Topics, e.Topic)).ThenBy(e => e.Item3));
        foreach (var record in events)
        {
            Assert.Equal(orderId.ToString(), record.Message.Key);
            Assert.Equal("1.0", record.Header("ce_specversion"));
            Assert.Equal(orderId.ToString(), record.Header("ce_subject"));
            Assert.Equal(orderId.ToString(), record.Header("ce_partitionkey"));
            Assert.Equal("application/json", record.Header("content-type"));
            Assert.True(DateTimeOffset.TryParse(record.Header("ce_time"), System.Globalization.CultureInfo.InvariantCulture, out _));
            Assert.Matches(TraceParent(), record.Header("ce_traceparent"));
            Assert.Equal(orderId, JsonNode.Parse(record.Message.Value)!["orderId"]!.GetValue<Guid>());
        }

        Assert.Equal(4, events.Select(e => e.Header("ce_id")).Distinct().Count());
        var created = JsonNode.Parse(events.Single(e => e.Header("ce_type") == "shop.orders.order-created.v1").Message.Value)!;
        Assert.Equal(customer, created["customerId"]!.GetValue<string>());
        Assert.Equal(14.50m, created["total"]!.GetValue<decimal>());
        Assert.Equal(sku, created["items"]![0]!["sku"]!.GetValue<string>());
        Assert.Equal(2, created["items"]![0]!["quantity"]!.GetValue<int>());
        Assert.Equal(7.25m, created["items"]![0]!["unitPrice"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task Redelivering_a_copy_of_every_event_of_two_orders_changes_nothing_anywhere()
    {
        var (customer, sku, soldOut) = (Shop.Unique("c"), Shop.Unique("sku"), Shop.Unique("sku"));
        await _shop.SetBalanceAsync(customer, 100.00m);
        await _shop.SetStockAsync(sku, 5);
        await _shop.SetStockAsync(soldOut, 0);
        var completed = await _shop.PlaceOrderAsync(customer, (sku, 1, 10.00m));
        var refunded = await _shop.PlaceOrderAsync(customer, (sku, 1, 10.00m), (soldOut, 1, 5.00m));
        await _shop.WaitUntilSettledAsync(completed);
        await _shop.WaitUntilSettledAsync(refunded);
        await _shop.WaitForTimelineAsync(completed, 4);
        await _shop.WaitForTimelineAsync(refunded, 5); // the refund reaches Orders after the order is cancelled
        var copies = (await EventsOfAsync(completed, count: 4)).Concat(await EventsOfAsync(refunded, count: 5)).ToList();
        var before = await SnapshotAsync(customer, [sku, soldOut], [completed, refunded]);

        var produced = await RedeliverAsync(copies);
        await WaitUntilConsumedAsync(produced);

        Assert.Equal(before, await SnapshotAsync(customer, [sku, soldOut], [completed, refunded]));
    }

    /// <summary>Everything the three services say about these orders, as one comparable string.</summary>
    private async Task<string> SnapshotAsync(string customer, string[] skus, Guid[] orderIds)
    {
        var parts = new List<object?> { await _shop.GetAccountAsync(customer) };
        foreach (var sku in skus)
        {
            parts.Add(await _shop.GetStockAsync(sku));
        }

        foreach (var orderId in orderIds)
        {
            var order = await _shop.GetOrderAsync(orderId);
            parts.Add((order!.Status, order.CancellationReason));
            parts.Add(await _shop.GetPaymentAsync(orderId));
            parts.Add((await _shop.GetReservationAsync(orderId))?.Status);
            parts.Add(string.Join(",", (await _shop.WaitForTimelineAsync(orderId, 0)).Select(e => e.Id)));
        }

        return string.Join(" | ", parts);
    }

    private async Task<List<ConsumeResult<string?, byte[]?>>> EventsOfAsync(Guid orderId, int count)
    {
        var bootstrapServers = await fixture.ConnectionStringAsync("kafka");
        var key = orderId.ToString();
        return await Poller.UntilAsync(
            () => Task.FromResult(Topics.SelectMany(topic =>
                TopicReader.ReadUntil(bootstrapServers, topic, _ => true, atEnd: true).Where(r => r.Message.Key == key)).ToList()),
            events => events.Count >= count, $"{count} events of order {orderId}");
    }

    private async Task<List<TopicPartitionOffset>> RedeliverAsync(IEnumerable<ConsumeResult<string?, byte[]?>> copies)
    {
        using var producer = new ProducerBuilder<string?, byte[]?>(new ProducerConfig
        {
            BootstrapServers = await fixture.ConnectionStringAsync("kafka"),
            EnableIdempotence = true,
        }).Build();
        var produced = new List<TopicPartitionOffset>();
        foreach (var copy in copies)
        {
            var result = await producer.ProduceAsync(copy.Topic, copy.Message);
            produced.Add(result.TopicPartitionOffset);
        }

        return produced;
    }

    /// <summary>Waits until every service consuming a topic has committed past the redelivered copies.</summary>
    private async Task WaitUntilConsumedAsync(IEnumerable<TopicPartitionOffset> produced)
    {
        Dictionary<string, string[]> consumers = new()
        {
            ["orders.events"] = ["payments"],
            ["payments.events"] = ["orders", "inventory"],
            ["inventory.events"] = ["orders", "payments"],
        };
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = await fixture.ConnectionStringAsync("kafka") }).Build();
        foreach (var copy in produced)
        {
            foreach (var group in consumers[copy.Topic])
            {
                await Poller.UntilAsync(async () =>
                    {
                        var offsets = await admin.ListConsumerGroupOffsetsAsync([new ConsumerGroupTopicPartitions(group, [copy.TopicPartition])]);
                        return offsets.Single().Partitions.Single().Offset.Value;
                    },
                    committed => committed > copy.Offset.Value, $"group {group} to consume {copy}");
            }
        }
    }

    [GeneratedRegex("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$")]
    private static partial Regex TraceParent();
}
