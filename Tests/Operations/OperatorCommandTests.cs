using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using ShopChoreography.Contracts;
using ShopChoreography.Messaging.CloudEvents;
using ShopChoreography.Tests.Delivery;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Operations;

/// <summary>The dashboard's operator commands, executed as the dashboard executes them, against the running system.</summary>
[Trait("Category", "Distributed")]
[Collection(DistributedAppCollection.Name)]
public sealed class OperatorCommandTests(DistributedAppFixture fixture) : IDisposable
{
    private readonly Shop _shop = new(fixture);
    private ResourceCommandService Commands => fixture.App.Services.GetRequiredService<ResourceCommandService>();

    public void Dispose() => _shop.Dispose();

    [Fact]
    public async Task An_order_waits_while_payments_is_paused_is_healed_by_command_and_completes_once_payments_resumes()
    {
        var (customer, sku) = (Shop.Unique("c"), Shop.Unique("sku"));
        await _shop.SetBalanceAsync(customer, 100.00m);
        await _shop.SetStockAsync(sku, 5);

        var pause = await Commands.ExecuteCommandAsync("payments", "pause-consumption");
        Guid orderId;
        try
        {
            Assert.True(pause.Success, pause.Message);
            Assert.Equal("Consumption of payments paused: 24 of 24 partitions paused.", pause.Message);
            Assert.Equal(new ConsumptionView(true, 24, 24, 0), await _shop.Payments.GetFromJsonAsync<ConsumptionView>("/operations/consumption"));

            orderId = await _shop.PlaceOrderAsync(customer, (sku, 2, 10.00m));
            var created = OrderCreatedRecord(await fixture.ConnectionStringAsync("kafka"), orderId);
            // Orders counts the order as stuck once it has waited a step deadline (15 s) with Payments paused.
            var stuck = await Poller.UntilAsync(
                async () => await _shop.Orders.GetFromJsonAsync<JsonArray>("/operations/stuck-orders") ?? [],
                list => list.Any(order => order!["orderId"]!.GetValue<Guid>() == orderId), $"order {orderId} to be listed as stuck",
                TimeSpan.FromSeconds(60));
            Assert.True(await CommittedByPaymentsAsync(created.TopicPartition) <= created.Offset.Value,
                "payments committed past an OrderCreated while its consumption was paused");
            Assert.Null(await _shop.GetPaymentAsync(orderId));

            var heal = await Commands.ExecuteCommandAsync("orders", "heal-stuck-orders");

            Assert.True(heal.Success, heal.Message);
            Assert.Equal(stuck.Count == 1 ? "Healed 1 stuck order." : $"Healed {stuck.Count} stuck orders.", heal.Message);
            Assert.Equal("Pending", (await _shop.GetOrderAsync(orderId))!.Status);
        }
        finally
        {
            var resume = await Commands.ExecuteCommandAsync("payments", "resume-consumption");
            Assert.True(resume.Success, resume.Message);
            Assert.Equal("Consumption of payments resumed: 0 of 24 partitions paused.", resume.Message);
        }

        Assert.Equal("Completed", (await _shop.WaitUntilSettledAsync(orderId)).Status);
        Assert.Equal(new PaymentView(orderId, "Succeeded", 20.00m), await _shop.GetPaymentAsync(orderId));
        Assert.Equal(new ConsumptionView(false, 24, 0, 0), await _shop.Payments.GetFromJsonAsync<ConsumptionView>("/operations/consumption"));
    }

    [Fact]
    public async Task Pausing_with_a_parameter_is_refused_with_problem_details_and_pauses_nothing()
    {
        using var response = await _shop.Inventory.PostAsync("/operations/consumption/pause?partition=3", content: null);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["errors"]!["partition"]);
        Assert.False((await _shop.Inventory.GetFromJsonAsync<ConsumptionView>("/operations/consumption"))!.PausedByOperator);
    }

    [Fact]
    public async Task Replay_dead_letters_replays_the_one_its_filter_selects_and_says_so()
    {
        var payment = DeadLetterOperationsTests.PaymentSucceededFor(Guid.NewGuid()); // for an order Orders does not know
        await fixture.ProduceAsync(Topics.PaymentsEvents, KafkaCloudEventBinding.ToKafkaMessage(payment));
        var byId = $"/operations/dead-letters?eventId={payment.Id}";
        await DeadLetterOperationsTests.WaitForDeadLettersAsync(_shop.Orders, byId, count: 1);

        var replay = await Commands.ExecuteCommandAsync("orders", "replay-dead-letters", Arguments(("eventId", payment.Id!)));

        Assert.True(replay.Success, replay.Message);
        Assert.Equal("Replayed 1 of 1 dead letters of orders.dlq.", replay.Message);
        // The order still does not exist, so Orders dead-letters the replayed copy again.
        await DeadLetterOperationsTests.WaitForDeadLettersAsync(_shop.Orders, byId, count: 2);
    }

    [Fact]
    public async Task Replay_dead_letters_with_a_bad_filter_fails_with_the_services_reason()
    {
        var replay = await Commands.ExecuteCommandAsync("inventory", "replay-dead-letters", Arguments(("category", "poison")));

        Assert.False(replay.Success);
        Assert.StartsWith("inventory answered 400 to POST /operations/dead-letters/replay?category=poison:", replay.Message);
        Assert.Contains("category: 'poison' is not a category", replay.Message);
    }

    [Fact]
    public async Task Injected_produce_errors_hold_every_produce_until_the_window_closes_then_it_succeeds()
    {
        var topic = fixture.CreateTopic("produce-errors", partitions: 1);
        var opened = DateTimeOffset.UtcNow;

        var inject = await Commands.ExecuteCommandAsync("kafka", "inject-produce-errors", Arguments(("seconds", "2")));

        Assert.True(inject.Success, inject.Message);
        Assert.Matches(@"^Every produce request fails with NotLeaderForPartition for 2 s, until \d\d:\d\d:\d\d UTC\.$", inject.Message);
        await ShownAsync("kafka.errors.produce", shown: true);
        var delivered = await fixture.ProduceAsync(topic, new Message<string?, byte[]?> { Key = "k", Value = [1] });
        Assert.Equal((PersistenceStatus.Persisted, 0L), (delivered.Status, delivered.Offset.Value));
        Assert.True(DateTimeOffset.UtcNow - opened >= TimeSpan.FromSeconds(2), "a produce succeeded while every produce request failed");
        await ShownAsync("kafka.errors.produce", shown: false);
    }

    [Fact]
    public async Task Injected_fetch_errors_hold_every_fetch_until_the_window_closes_then_the_record_is_read()
    {
        var topic = fixture.CreateTopic("fetch-errors", partitions: 1);
        var bootstrapServers = await fixture.ConnectionStringAsync("kafka");
        await fixture.ProduceAsync(topic, new Message<string?, byte[]?> { Key = "k", Value = [1] });
        var opened = DateTimeOffset.UtcNow;

        var inject = await Commands.ExecuteCommandAsync("kafka", "inject-fetch-errors", Arguments(("seconds", "2")));

        Assert.True(inject.Success, inject.Message);
        Assert.Matches(@"^Every fetch request fails with NotLeaderForPartition for 2 s, until \d\d:\d\d:\d\d UTC\.$", inject.Message);
        var read = Assert.Single(TopicReader.ReadUntil(bootstrapServers, topic, records => records.Count == 1));
        Assert.Equal("k", read.Message.Key);
        Assert.True(DateTimeOffset.UtcNow - opened >= TimeSpan.FromSeconds(2), "a fetch succeeded while every fetch request failed");
        await ShownAsync("kafka.errors.fetch", shown: false);
    }

    [Fact]
    public async Task Injecting_errors_for_a_duration_that_is_not_a_number_of_seconds_fails_and_injects_nothing()
    {
        var inject = await Commands.ExecuteCommandAsync("kafka", "inject-produce-errors", Arguments(("seconds", "forever")));

        Assert.False(inject.Success);
        Assert.False(fixture.App.ResourceNotifications.TryGetCurrentState("kafka", out var kafka) &&
                     kafka.Snapshot.Properties.Any(p => p.Name == "kafka.errors.produce"));
    }

    private static InteractionInputCollection Arguments(params (string Name, string Value)[] arguments) =>
        new([.. arguments.Select(argument => new InteractionInput { Name = argument.Name, InputType = InputType.Text, Value = argument.Value })]);

    private async Task ShownAsync(string property, bool shown)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await fixture.App.ResourceNotifications.WaitForResourceAsync("kafka",
            e => e.Snapshot.Properties.Any(p => p.Name == property) == shown, timeout.Token);
    }

    private static ConsumeResult<string?, byte[]?> OrderCreatedRecord(string bootstrapServers, Guid orderId) =>
        TopicReader.ReadUntil(bootstrapServers, Topics.OrdersEvents, read => read.Any(r => r.Message.Key == orderId.ToString()))
            .Single(r => r.Message.Key == orderId.ToString());

    private async Task<long> CommittedByPaymentsAsync(TopicPartition partition)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = await fixture.ConnectionStringAsync("kafka") }).Build();
        return (await ConsumerGroups.CommittedAsync(admin, "payments", [partition]))[partition];
    }

    private sealed record ConsumptionView(bool PausedByOperator, int AssignedPartitions, int PausedPartitions, int BackPressuredPartitions);
}
