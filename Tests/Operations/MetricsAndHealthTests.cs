using System.Diagnostics;
using System.Net;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ShopChoreography.Messaging;
using ShopChoreography.Messaging.CloudEvents;
using ShopChoreography.Tests.Delivery;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Operations;

/// <summary>What an operator reads from the running services: metrics for real traffic, event logs, and <c>/health</c>.</summary>
[Trait("Category", "Distributed")]
[Collection(TelemetryAppCollection.Name)]
public sealed class MetricsAndHealthTests(TelemetryAppFixture fixture) : IDisposable
{
    private readonly Shop _shop = new(fixture);

    private OtlpReceiver Receiver => fixture.Receiver;

    public void Dispose() => _shop.Dispose();

    [Fact]
    public async Task Saga_durations_by_outcome_handler_durations_by_event_type_and_consumer_lag_are_measured()
    {
        var before = await FreshExportAsync();
        var (customer, sku, soldOut) = (Shop.Unique("c"), Shop.Unique("sku"), Shop.Unique("sku"));
        await _shop.SetBalanceAsync(customer, 100.00m);
        await _shop.SetStockAsync(sku, 5);
        await _shop.SetStockAsync(soldOut, 0);

        var completed = await _shop.PlaceOrderAsync(customer, (sku, 1, 5.00m));
        var poor = await _shop.PlaceOrderAsync(customer, (sku, 1, 500.00m));
        var outOfStock = await _shop.PlaceOrderAsync(customer, (sku, 1, 5.00m), (soldOut, 1, 5.00m));
        await _shop.WaitForTimelineAsync(completed, 4);
        await _shop.WaitForTimelineAsync(poor, 3);
        await _shop.WaitForTimelineAsync(outOfStock, 5);
        var after = await FreshExportAsync();

        // Orders' own counts: what it settled, and the events it applied.
        Assert.Equal(1UL, Delta("orders.saga.duration", ("outcome", "completed")));
        Assert.Equal(1UL, Delta("orders.saga.duration", ("outcome", "cancelled"), ("cancellation.reason", "insufficient-funds")));
        Assert.Equal(1UL, Delta("orders.saga.duration", ("outcome", "cancelled"), ("cancellation.reason", "out-of-stock")));
        Assert.All(Points(after, "orders", "orders.saga.duration"), point => Assert.True(point.Value > 0, "a saga takes time"));
        (string Type, ulong Applied)[] handled =
        [
            ("shop.inventory.inventory-reservation-failed.v1", 1), ("shop.inventory.inventory-reserved.v1", 1),
            ("shop.payments.payment-failed.v1", 1), ("shop.payments.payment-refunded.v1", 1), ("shop.payments.payment-succeeded.v1", 2),
        ];
        Assert.Equal(handled, handled.Select(h => (h.Type, Delta("messaging.consumer.handler.duration", ("cloudevents.event_type", h.Type)))));

        // Durations are in seconds, so their buckets must resolve milliseconds: with the SDK's default boundaries
        // (0, 5, 10, … 10000, made for milliseconds) every event falls in the first bucket and reads as 5 s.
        string[] durations = ["orders.saga.duration", "messaging.consumer.handler.duration", "messaging.outbox.publish.duration"];
        Assert.All(durations.SelectMany(metric => Points(after, "orders", metric)),
            point => Assert.Equal([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300], point.Bounds!));
        Assert.All(durations, metric => Assert.NotEmpty(Points(after, "orders", metric)));

        // Each consumer reports its lag on the partitions of every topic it consumes, and has caught up.
        var lag = await Poller.UntilAsync(() => Task.FromResult(LatestLag()),
            latest => OrderTrace.Consumers.All(topic => topic.Value.All(service => latest.Keys.Any(k => k == (service, topic.Key)))) &&
                      latest.Values.All(partitions => partitions.Values.All(value => value == 0)),
            "every consumer's lag on its topics to be reported, and 0");
        Assert.All(lag.Values, partitions => Assert.InRange(partitions.Count, 1, 12));

        ulong Delta(string metric, params (string Key, string Value)[] attributes) =>
            Count(after, "orders", metric, attributes) - Count(before, "orders", metric, attributes);
    }

    [Fact]
    public async Task The_events_of_one_order_arriving_at_once_are_applied_one_after_the_other_without_a_retry()
    {
        var (customer, sku) = (Shop.Unique("c"), Shop.Unique("sku"));
        await _shop.SetBalanceAsync(customer, 100.00m);
        await _shop.SetStockAsync(sku, 20);
        var before = await FreshExportAsync();

        // With Orders paused, each order's PaymentSucceeded and InventoryReserved wait for it on two topics; resumed, its
        // partition workers of both topics get them at the same moment.
        await PostAsync(_shop.Orders, "/operations/consumption/pause");
        Guid[] orders;
        try
        {
            orders = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => _shop.PlaceOrderAsync(customer, (sku, 1, 1.00m))));
            await Poller.UntilAsync(() => Task.WhenAll(orders.Select(_shop.GetReservationAsync)),
                reservations => reservations.All(r => r?.Status == "Reserved"), "every order's stock to be reserved");
        }
        finally
        {
            await PostAsync(_shop.Orders, "/operations/consumption/resume");
        }

        foreach (var order in orders)
        {
            Assert.Equal("Completed", (await _shop.WaitUntilSettledAsync(order)).Status);
        }

        var after = await FreshExportAsync();
        Assert.Equal(0UL, Count(after, "orders", "messaging.consumer.retries") - Count(before, "orders", "messaging.consumer.retries"));
    }

    [Fact]
    public async Task An_event_a_service_dead_letters_is_logged_with_its_event_fields_and_trace_and_counted_by_topic_and_category()
    {
        var orderId = Guid.NewGuid();
        var traceId = ActivityTraceId.CreateRandom();
        // A negative amount breaks the event rules: both consumers of payments.events dead-letter it.
        var cloudEvent = DeadLetterOperationsTests.PaymentSucceededFor(orderId, amount: -1m);
        cloudEvent[KafkaCloudEventBinding.TraceParentAttribute] = $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01";
        using (var producer = new ProducerBuilder<string?, byte[]?>(new ProducerConfig { BootstrapServers = await fixture.ConnectionStringAsync("kafka") }).Build())
        {
            await producer.ProduceAsync("payments.events", KafkaCloudEventBinding.ToKafkaMessage(cloudEvent));
        }

        string[] consumers = ["inventory", "orders"];
        var logs = await Poller.UntilAsync(
            () => Task.FromResult(Receiver.Logs.Where(log => log.Attributes.GetValueOrDefault("EventId") == cloudEvent.Id).ToList()),
            found => consumers.All(service => found.Any(log => log.Service == service && log.Body.StartsWith("Dead-lettered", StringComparison.Ordinal))),
            "the dead-letter warnings of both consumers");
        foreach (var log in logs)
        {
            Assert.Equal((cloudEvent.Type, orderId.ToString(), traceId.ToString(), traceId.ToString()),
                (log.Attributes["EventType"], log.Attributes["OrderId"], log.Attributes["TraceId"], log.TraceId));
        }

        var counted = await Poller.UntilAsync(() => Task.FromResult(consumers.Select(service =>
                Points(Receiver.Points, service, "messaging.consumer.dead_letters")
                    .Where(p => p.Attributes.GetValueOrDefault("messaging.destination.name") == "payments.events" &&
                                p.Attributes.GetValueOrDefault("dlq.category") == "rejected")
                    .OrderBy(p => p.Time).LastOrDefault()?.Value ?? 0).ToList()),
            values => values.All(value => value >= 1), "both consumers to count the dead letter");
        // This is the collection's only dead letter.
        Assert.Equal([1.0, 1.0], counted);
    }

    [Fact]
    public async Task Health_turns_degraded_naming_the_outbox_backlog_while_a_broker_is_down_and_healthy_again_after()
    {
        using var orders = fixture.CreateHttpClient("orders");
        await WaitForHealthAsync(orders, body => body == "Healthy", "Healthy at the start");
        var (customer, sku) = (Shop.Unique("c"), Shop.Unique("sku"));
        await _shop.SetBalanceAsync(customer, 1000.00m);
        await _shop.SetStockAsync(sku, 100);

        var placed = new List<Guid>();
        fixture.KafkaCluster.SetBrokerDown(1);
        try
        {
            // The dispatcher waits for the acknowledgement of an event whose partition is led by the broker that is
            // down; every order placed after it waits in the outbox behind it.
            var degraded = await Poller.UntilAsync(async () =>
                {
                    placed.Add(await _shop.PlaceOrderAsync(customer, (sku, 1, 1.00m)));
                    return await HealthAsync(orders);
                },
                health => health.Body.StartsWith("Degraded", StringComparison.Ordinal), "Degraded while the outbox backs up", TimeSpan.FromSeconds(60));
            Assert.Equal(HttpStatusCode.OK, degraded.Status);
            Assert.Matches(
                $@"^Degraded\nmessaging-backlog: Degraded: outbox backlog (\d+) is over Messaging:Health:MaxOutboxBacklog \({TelemetryAppFixture.MaxOutboxBacklog}\)$",
                degraded.Body);
        }
        finally
        {
            fixture.KafkaCluster.SetAllBrokersUp();
        }

        await WaitForHealthAsync(orders, body => body == "Healthy", "Healthy once the broker is back");
        foreach (var orderId in placed)
        {
            Assert.Equal("Completed", (await _shop.WaitUntilSettledAsync(orderId)).Status);
        }

        // Published after waiting in the outbox, an order is still one trace.
        (await OrderTrace.WaitForAsync(Receiver, placed[^1], publishedEvents: 4)).AssertOneRootAndEveryParentPresent();
    }

    /// <summary>
    /// A service of the messaging core whose handler stalls (an outage it waits out) falls behind on its partition:
    /// its health says by how much, and is Healthy again once it has caught up.
    /// </summary>
    [Fact]
    public async Task Health_turns_degraded_naming_the_consumer_lag_while_a_handler_stalls_and_healthy_again_after()
    {
        var topic = fixture.CreateTopic("lag", partitions: 1);
        var database = await ProbeService.CreateDatabaseAsync(fixture);
        await using var probe = await ProbeService.CreateAsync<StallUntilOpened>(fixture, database, Shop.Unique("lag"), topic,
            options => options.Health.MaxConsumerLag = 5);
        await probe.StartAsync();
        var health = probe.Services.GetRequiredService<HealthCheckService>();

        // The first is applied and committed (lag is measured from the committed offset); the 21 after it wait.
        await probe.PublishAsync(commit: true, [.. Enumerable.Range(0, 22).Select(sequence => new ProbeEvent("key", sequence))]);

        var behind = await Poller.UntilAsync(() => BacklogHealthAsync(health),
            entry => entry.Status == HealthStatus.Degraded && entry.Description?.StartsWith("consumer lag 21 ", StringComparison.Ordinal) == true,
            "Degraded, 21 records behind");
        Assert.Equal("consumer lag 21 is over Messaging:Health:MaxConsumerLag (5)", behind.Description);

        StallUntilOpened.Open();
        await Poller.UntilAsync(() => BacklogHealthAsync(health), entry => entry.Status == HealthStatus.Healthy, "Healthy once caught up");
    }

    /// <summary>Applies the first probe, then waits out an outage (as a handler whose database times out does) until the test opens it.</summary>
    public sealed class StallUntilOpened : IEventHandler<ProbeEvent>
    {
        private static volatile bool _open;

        public static void Open() => _open = true;

        public Task HandleAsync(ProbeEvent probe, EventContext context, CancellationToken cancellationToken) =>
            _open || probe.Sequence == 0 ? Task.CompletedTask : throw new TimeoutException("stalled until the test opens it");
    }

    private static async Task PostAsync(HttpClient service, string path)
    {
        using var response = await service.PostAsync(path, content: null);
        response.EnsureSuccessStatusCode();
    }

    private static async Task<HealthReportEntry> BacklogHealthAsync(HealthCheckService health) =>
        (await health.CheckHealthAsync(registration => registration.Name == "messaging-backlog")).Entries["messaging-backlog"];

    private static async Task<(HttpStatusCode Status, string Body)> HealthAsync(HttpClient service)
    {
        using var response = await service.GetAsync("/health");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task WaitForHealthAsync(HttpClient service, Func<string, bool> expected, string what) =>
        await Poller.UntilAsync(() => HealthAsync(service), health => expected(health.Body), what, TimeSpan.FromSeconds(60));

    /// <summary>Waits for an export that began after this call, so it holds everything recorded before it.</summary>
    private async Task<List<ExportedPoint>> FreshExportAsync()
    {
        var from = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1);
        await Poller.UntilAsync(() => Task.FromResult(Receiver.Points.Where(p => p.Time > from).Select(p => p.Service).Distinct().Count()),
            services => services == DistributedAppFixture.Services.Length, "a metrics export from every service");
        return [.. Receiver.Points];
    }

    private static IEnumerable<ExportedPoint> Points(IEnumerable<ExportedPoint> points, string service, string metric) =>
        points.Where(p => p.Service == service && p.Metric == metric);

    /// <summary>A cumulative count (a histogram's count, a counter's value) at the newest export, 0 before its first.</summary>
    private static ulong Count(List<ExportedPoint> points, string service, string metric, params (string Key, string Value)[] attributes)
    {
        var matching = Points(points, service, metric).Where(p => attributes.All(a => p.Attributes.GetValueOrDefault(a.Key) == a.Value)).ToList();
        if (matching.Count == 0)
        {
            return 0;
        }

        var newest = matching.Max(p => p.Time);
        return (ulong)matching.Where(p => p.Time == newest).Sum(p => (decimal)(p.Count > 0 ? p.Count : p.Value));
    }

    /// <summary>The newest lag reported for each partition, by (service, topic).</summary>
    private Dictionary<(string Service, string Topic), Dictionary<string, double>> LatestLag() =>
        Receiver.Points.Where(p => p.Metric == "messaging.kafka.consumer.lag")
            .GroupBy(p => (p.Service, p.Attributes["messaging.destination.name"]))
            .ToDictionary(topic => topic.Key, topic => topic.GroupBy(p => p.Attributes["messaging.destination.partition.id"])
                .ToDictionary(partition => partition.Key, partition => partition.MaxBy(p => p.Time)!.Value));
}
