using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using CloudNative.CloudEvents;
using CloudNative.CloudEvents.Extensions;
using ShopChoreography.Contracts;
using ShopChoreography.Messaging;
using ShopChoreography.Messaging.CloudEvents;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Delivery;

/// <summary>The operator endpoints every service maps over its own dead-letter topic.</summary>
[Trait("Category", "Distributed")]
[Collection(DistributedAppCollection.Name)]
public sealed class DeadLetterOperationsTests(DistributedAppFixture fixture) : IDisposable
{
    private readonly HttpClient _orders = fixture.CreateHttpClient("orders");

    public void Dispose()
    {
        _orders.Dispose();
    }

    [Fact]
    public async Task Orders_lists_a_payment_for_an_order_it_does_not_know_with_the_reason_and_replays_it_by_event_id()
    {
        var orderId = Guid.NewGuid();
        var payment = PaymentSucceededFor(orderId);
        var original = await fixture.ProduceAsync(Topics.PaymentsEvents, KafkaCloudEventBinding.ToKafkaMessage(payment));
        var byId = $"/operations/dead-letters?eventId={payment.Id}";

        var listing = await WaitForDeadLettersAsync(_orders, byId, count: 1);

        var deadLetter = listing["deadLetters"]![0]!;
        Assert.Equal(Topics.PaymentsEvents, deadLetter["originalTopic"]!.GetValue<string>());
        Assert.Equal(original.Partition.Value, deadLetter["originalPartition"]!.GetValue<int>());
        Assert.Equal(original.Offset.Value, deadLetter["originalOffset"]!.GetValue<long>());
        Assert.Equal(orderId.ToString(), deadLetter["key"]!.GetValue<string>());
        Assert.Equal("shop.payments.payment-succeeded.v1", deadLetter["type"]!.GetValue<string>());
        Assert.Contains($"order {orderId} does not exist", deadLetter["reason"]!.GetValue<string>());
        Assert.True(deadLetter["deadLetteredAt"]!.GetValue<DateTimeOffset>() > DateTimeOffset.UtcNow.AddMinutes(-1));

        using var response = await _orders.PostAsync($"/operations/dead-letters/replay?eventId={payment.Id}", content: null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var replay = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal((1, 1), (replay["matched"]!.GetValue<int>(), replay["replayed"]!.GetValue<int>()));
        var replayedTo = replay["deadLetters"]![0]!["replayedTo"]!;
        Assert.Equal(Topics.PaymentsEvents, replayedTo["topic"]!.GetValue<string>());
        Assert.Equal(original.Partition.Value, replayedTo["partition"]!.GetValue<int>());
        // The order still does not exist, so Orders refuses the replayed copy again, with the same event id.
        var again = await WaitForDeadLettersAsync(_orders, byId, count: 2);
        Assert.Equal(replayedTo["offset"]!.GetValue<long>(), again["deadLetters"]!.AsArray().Max(letter => letter!["originalOffset"]!.GetValue<long>()));
    }

    [Theory]
    [InlineData("partition=first", "partition")]
    [InlineData("partition=-1", "partition")]
    [InlineData("offset=3", "partition")]
    [InlineData("partition=0&offset=3.5", "offset")]
    [InlineData("category=poison", "category")]
    [InlineData("originalTopic=payments%20events", "originalTopic")]
    [InlineData("eventId=a&eventId=b", "eventId")]
    [InlineData("evntId=a", "evntId")]
    public async Task A_bad_filter_is_answered_with_problem_details_naming_the_field(string query, string field)
    {
        foreach (var request in new[]
                 {
                     new HttpRequestMessage(HttpMethod.Get, $"/operations/dead-letters?{query}"),
                     new HttpRequestMessage(HttpMethod.Post, $"/operations/dead-letters/replay?{query}"),
                 })
        {
            using var response = await _orders.SendAsync(request);

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.Equal(400, problem["status"]!.GetValue<int>());
            Assert.NotNull(problem["errors"]![field]);
        }
    }

    internal static async Task<JsonNode> WaitForDeadLettersAsync(HttpClient service, string query, int count) =>
        await Poller.UntilAsync(async () => await service.GetFromJsonAsync<JsonNode>(query),
            listing => listing?["matched"]?.GetValue<int>() == count, $"{service.BaseAddress}{query} to list {count} dead letter(s)")
        ?? throw new InvalidOperationException();

    /// <summary>A payment for an order Orders never placed, with no lines (which Inventory refuses too).</summary>
    internal static CloudEvent PaymentSucceededFor(Guid orderId, decimal amount = 12.50m)
    {
        var cloudEvent = new CloudEvent(CloudEventsSpecVersion.V1_0, KafkaCloudEventBinding.ExtensionAttributes)
        {
            Id = Guid.NewGuid().ToString(),
            Source = new Uri("/payments", UriKind.Relative),
            Type = EventTypes.TypeOf<PaymentSucceeded>(),
            Time = DateTimeOffset.UtcNow,
            Subject = orderId.ToString(),
            DataContentType = "application/json",
            Data = JsonSerializer.SerializeToUtf8Bytes(new PaymentSucceeded(orderId, Shop.Unique("c"), amount, [new ReservedLine("sku-1", 1)]), MessagingJson.Options),
        };
        cloudEvent.SetPartitionKey(orderId.ToString());
        return cloudEvent;
    }
}
