using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Confluent.Kafka;
using ShopChoreography.Messaging.CloudEvents;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Saga;

[Trait("Category", "Distributed")]
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

    [Fact]
    public async Task An_order_is_charged_and_reserved_once_even_when_its_events_come_again_under_new_ids()
    {
        var (customer, sku) = (Shop.Unique("c"), Shop.Unique("sku"));
        await _shop.SetBalanceAsync(customer, 100.00m);
        await _shop.SetStockAsync(sku, 5);
        var orderId = await _shop.PlaceOrderAsync(customer, (sku, 1, 10.00m));
        await _shop.WaitUntilSettledAsync(orderId);
        var events = await EventsOfAsync(orderId, count: 4);
        async Task<string> PaymentAndStockAsync() => string.Join(" | ", await _shop.GetAccountAsync(customer), await _shop.GetPaymentAsync(orderId),
            await _shop.GetStockAsync(sku), (await _shop.GetReservationAsync(orderId))?.Status);
        var before = await PaymentAndStockAsync();

        // The inbox skips an event id it has seen; these are new events about an order that was decided already.
        var again = events.Where(e => e.Header("ce_type") is "shop.orders.order-created.v1" or "shop.payments.payment-succeeded.v1")
            .Select(WithNewId).ToList();
        Assert.Equal(2, again.Count);
        await WaitUntilConsumedAsync(await RedeliverAsync(again));

        Assert.Equal(before, await PaymentAndStockAsync());
        foreach (var (service, copy) in new[] { (_shop.Payments, again[0]), (_shop.Inventory, again[1]) })
        {
            var deadLetters = await service.GetFromJsonAsync<JsonObject>($"/operations/dead-letters?eventId={copy.Header("ce_id")}");
            Assert.Empty(deadLetters!["deadLetters"]!.AsArray());
        }
    }

    [Fact]
    public async Task Healing_a_completed_order_re_sends_every_event_of_its_saga_with_the_original_ids_and_changes_nothing()
    {
        var (customer, sku) = (Shop.Unique("c"), Shop.Unique("sku"));
        await _shop.SetBalanceAsync(customer, 100.00m);
        await _shop.SetStockAsync(sku, 5);
        var orderId = await _shop.PlaceOrderAsync(customer, (sku, 2, 10.00m));
        await _shop.WaitUntilSettledAsync(orderId);
        await _shop.WaitForTimelineAsync(orderId, 4);
        var originals = await EventsOfAsync(orderId, count: 4);
        var before = await SnapshotAsync(customer, [sku], [orderId]);

        using var heal = await _shop.Orders.PostAsync($"/operations/orders/{orderId}/heal", null);

        Assert.Equal(System.Net.HttpStatusCode.Accepted, heal.StatusCode);
        var events = await EventsOfAsync(orderId, count: 8);
        var copies = events.Where(e => e.Header("ce_healing") == "true").ToList();
        Assert.Equal(originals.Select(e => e.Header("ce_id")).Order(), copies.Select(e => e.Header("ce_id")).Order());
        await WaitUntilConsumedAsync(copies.Select(e => e.TopicPartitionOffset));
        Assert.Equal(before, await SnapshotAsync(customer, [sku], [orderId]));
    }

    [Fact]
    public async Task An_order_whose_OrderCreated_was_lost_is_listed_as_stuck_then_healed_and_charged_and_reserved_once()
    {
        var (customer, sku) = (Shop.Unique("c"), Shop.Unique("sku"));
        await _shop.SetBalanceAsync(customer, 100.00m);
        await _shop.SetStockAsync(sku, 5);
        // Unpooled: closing it ends the session, and so releases the lock.
        await using var ordersDb = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(
            await fixture.ConnectionStringAsync("ordersdb")) { Pooling = false }.ConnectionString);
        await ordersDb.OpenAsync();
        await TakeOverOutboxDispatchAsync(ordersDb); // Orders can no longer publish

        var orderId = await _shop.PlaceOrderAsync(customer, (sku, 2, 10.00m));
        // The event is lost as a broker losing data would lose it: marked sent, never delivered.
        Assert.Equal(1, await ExecuteAsync(ordersDb, $"UPDATE outbox_messages SET sent_at = now() WHERE key = '{orderId}'"));

        var stuck = await Poller.UntilAsync(
            async () => await _shop.Orders.GetFromJsonAsync<List<StuckOrderView>>("/operations/stuck-orders") ?? [],
            list => list.Any(o => o.OrderId == orderId && o.HealAttempts >= 1), $"order {orderId} to be found stuck and healed",
            TimeSpan.FromSeconds(60));
        Assert.Equal(("Pending", "payment"), stuck.Where(o => o.OrderId == orderId).Select(o => (o.Status, o.WaitingFor)).Single());
        await ordersDb.CloseAsync(); // Orders publishes again

        var order = await _shop.WaitUntilSettledAsync(orderId);
        Assert.Equal("Completed", order.Status);
        Assert.Equal(new PaymentView(orderId, "Succeeded", 20.00m), await _shop.GetPaymentAsync(orderId));
        Assert.Equal(new AccountView(customer, 80.00m), await _shop.GetAccountAsync(customer));
        Assert.Equal(new StockView(sku, 3, 2), await _shop.GetStockAsync(sku));
        var created = (await EventsOfAsync(orderId, count: 4)).Where(e => e.Header("ce_type") == "shop.orders.order-created.v1").ToList();
        Assert.Equal("true", Assert.Single(created).Header("ce_healing"));
    }

    [Fact]
    public async Task A_refund_that_arrives_before_its_charge_is_not_forgotten_the_charge_is_refunded_when_it_comes()
    {
        var (customer, sku) = (Shop.Unique("c"), Shop.Unique("sku"));
        await _shop.SetBalanceAsync(customer, 100.00m);
        await _shop.SetStockAsync(sku, 5);
        var orderId = Guid.NewGuid(); // as after a restore: Inventory's answer arrives before Payments saw the order
        var bootstrapServers = await fixture.ConnectionStringAsync("kafka");
        var failed = await RedeliverAsync([Event("inventory.events", "/inventory", "shop.inventory.inventory-reservation-failed.v1", orderId,
            $$"""{"orderId":"{{orderId}}","reason":"out-of-stock","items":[{"sku":"{{sku}}","quantity":1}]}""")]);
        // Orders consumes the same partition and has no such order: once it dead-letters the event, it was delivered.
        TopicReader.ReadUntil(bootstrapServers, "orders.dlq", read => read.Any(r => r.Message.Key == orderId.ToString()), atEnd: false);

        await RedeliverAsync([Event("orders.events", "/orders", "shop.orders.order-created.v1", orderId,
            $$"""{"orderId":"{{orderId}}","customerId":"{{customer}}","total":25.00,"items":[{"sku":"{{sku}}","quantity":1,"unitPrice":25.00}]}""")]);

        await Poller.UntilAsync(() => _shop.GetPaymentAsync(orderId), payment => payment?.Status == "Refunded", "the charge to be refunded");
        Assert.Equal(new AccountView(customer, 100.00m), await _shop.GetAccountAsync(customer));
        await WaitUntilConsumedAsync(failed);
    }

    private static ConsumeResult<string?, byte[]?> Event(string topic, string source, string type, Guid orderId, string data)
    {
        var cloudEvent = new CloudNative.CloudEvents.CloudEvent(CloudNative.CloudEvents.CloudEventsSpecVersion.V1_0,
            KafkaCloudEventBinding.ExtensionAttributes)
        {
            Id = Guid.NewGuid().ToString(),
            Source = new Uri(source, UriKind.Relative),
            Type = type,
            Time = DateTimeOffset.UtcNow,
            Subject = orderId.ToString(),
            DataContentType = "application/json",
            Data = System.Text.Encoding.UTF8.GetBytes(data),
        };
        CloudNative.CloudEvents.Extensions.Partitioning.SetPartitionKey(cloudEvent, orderId.ToString());
        return new() { Topic = topic, Message = KafkaCloudEventBinding.ToKafkaMessage(cloudEvent) };
    }

    private static ConsumeResult<string?, byte[]?> WithNewId(ConsumeResult<string?, byte[]?> record)
    {
        var headers = new Headers();
        foreach (var header in record.Message.Headers.Where(h => h.Key != "ce_id"))
        {
            headers.Add(header.Key, header.GetValueBytes());
        }

        headers.Add("ce_id", System.Text.Encoding.UTF8.GetBytes(Guid.NewGuid().ToString()));
        return new() { Topic = record.Topic, Message = new() { Key = record.Message.Key, Value = record.Message.Value, Headers = headers } };
    }

    /// <summary>Ends the session of Orders' outbox dispatcher and holds its lock on this connection until it closes.</summary>
    private static async Task TakeOverOutboxDispatchAsync(Npgsql.NpgsqlConnection connection) =>
        await Poller.UntilAsync(async () =>
        {
            await ExecuteAsync(connection, """
                SELECT pg_terminate_backend(pid) FROM pg_locks
                WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
                  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                """);
            await using var tryLock = new Npgsql.NpgsqlCommand("SELECT pg_try_advisory_lock(hashtext('shop_outbox_dispatcher'))", connection);
            return (bool)(await tryLock.ExecuteScalarAsync())!;
        }, locked => locked, "the outbox dispatcher lock of Orders");

    private static async Task<int> ExecuteAsync(Npgsql.NpgsqlConnection connection, string sql)
    {
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        return await command.ExecuteNonQueryAsync();
    }

    private sealed record StuckOrderView(Guid OrderId, string Status, string WaitingFor, DateTimeOffset LastProgress, int HealAttempts);

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
