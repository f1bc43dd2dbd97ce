using System.Text.Json.Nodes;
using Confluent.Kafka;
using CsCheck;
using Npgsql;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Input;

/// <summary>
/// Every bad input is refused, and nothing changes: generated bad requests (see <see cref="BadRequests"/>) each get a
/// 4xx problem details answer naming what is wrong, never a 5xx, and leave no row in the service's database and no
/// event on its topic.
/// </summary>
[Trait("Category", "Distributed")]
[Collection(DistributedAppCollection.Name)]
public sealed class BadRequestTests(DistributedAppFixture fixture) : IDisposable
{
    /// <summary>Enough to meet every kind of bad input several times, at a few milliseconds each.</summary>
    private const int CasesPerEndpoint = 120;

    private const string OrderCreated = "shop.orders.order-created.v1";
    private readonly Shop _shop = new(fixture);

    public void Dispose() => _shop.Dispose();

    [Fact]
    public async Task Every_bad_order_is_refused_naming_the_bad_field_and_nothing_is_stored_or_published()
    {
        await using var ordersDb = await OpenAsync("ordersdb");
        // Orders placed by earlier tests are on the topic, not on their way to it.
        await Poller.UntilAsync(() => CountAsync(ordersDb, $"SELECT count(*) FROM outbox_messages WHERE sent_at IS NULL AND type = '{OrderCreated}'"),
            unsent => unsent == 0, "earlier orders to be published");
        var publishedBefore = await HighWatermarksAsync("orders.events");

        await BadRequests.PlaceOrder.SampleAsync(async request =>
        {
            var storedBefore = await StoredOrdersAsync(ordersDb);
            await AssertRefusedAsync(_shop.Orders, HttpMethod.Post, request);
            Assert.Equal(storedBefore, await StoredOrdersAsync(ordersDb));
        }, iter: CasesPerEndpoint, threads: 1);

        Assert.Empty(await OrdersCreatedSinceAsync(publishedBefore));
    }

    [Fact]
    public async Task Every_bad_balance_update_is_refused_naming_the_bad_field_and_stores_no_account()
    {
        await using var paymentsDb = await OpenAsync("paymentsdb");
        await BadRequests.SetBalance.SampleAsync(async request =>
        {
            var accountsBefore = await CountAsync(paymentsDb, "SELECT count(*) FROM accounts");
            await AssertRefusedAsync(_shop.Payments, HttpMethod.Put, request);
            Assert.Equal(0, await CountAsync(paymentsDb, "SELECT count(*) FROM accounts WHERE strpos(customer_id, @marker) > 0", request.Marker));
            Assert.Equal(accountsBefore, await CountAsync(paymentsDb, "SELECT count(*) FROM accounts"));
        }, iter: CasesPerEndpoint, threads: 1);
    }

    [Fact]
    public async Task Every_bad_stock_update_is_refused_naming_the_bad_field_and_stores_no_stock()
    {
        await using var inventoryDb = await OpenAsync("inventorydb");
        await BadRequests.SetStock.SampleAsync(async request =>
        {
            var stockBefore = await CountAsync(inventoryDb, "SELECT count(*) FROM stock");
            await AssertRefusedAsync(_shop.Inventory, HttpMethod.Put, request);
            Assert.Equal(0, await CountAsync(inventoryDb, "SELECT count(*) FROM stock WHERE strpos(sku, @marker) > 0", request.Marker));
            Assert.Equal(stockBefore, await CountAsync(inventoryDb, "SELECT count(*) FROM stock"));
        }, iter: CasesPerEndpoint, threads: 1);
    }

    /// <summary>The answer is the expected status as problem details; a 400 names exactly the expected fields.</summary>
    private static async Task AssertRefusedAsync(HttpClient client, HttpMethod method, BadRequest bad)
    {
        using var request = new HttpRequestMessage(method, bad.Path) { Content = new ByteArrayContent(bad.Body) };
        if (bad.ContentType is not null)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Type", bad.ContentType);
        }

        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == bad.Status, $"Expected {(int)bad.Status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(body)!;
        Assert.Equal((int)bad.Status, problem["status"]?.GetValue<int>());
        if (bad.Fields.Length > 0)
        {
            Assert.Equal(bad.Fields.Order(), problem["errors"]?.AsObject().Select(error => error.Key).Order() ?? Enumerable.Empty<string>());
        }
    }

    private async Task<NpgsqlConnection> OpenAsync(string database)
    {
        var connection = new NpgsqlConnection(await fixture.ConnectionStringAsync(database));
        await connection.OpenAsync();
        return connection;
    }

    private static async Task<long> CountAsync(NpgsqlConnection connection, string sql, string? marker = null)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        if (marker is not null)
        {
            command.Parameters.AddWithValue("marker", marker);
        }

        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Only placing an order writes these: the order, its idempotency key and its OrderCreated event.</summary>
    private static async Task<string> StoredOrdersAsync(NpgsqlConnection ordersDb) =>
        $"orders {await CountAsync(ordersDb, "SELECT count(*) FROM orders")}, " +
        $"idempotency keys {await CountAsync(ordersDb, "SELECT count(*) FROM idempotency_keys")}, " +
        $"OrderCreated events {await CountAsync(ordersDb, $"SELECT count(*) FROM outbox_messages WHERE type = '{OrderCreated}'")}";

    private async Task<Dictionary<int, long>> HighWatermarksAsync(string topic)
    {
        var bootstrapServers = await fixture.ConnectionStringAsync("kafka");
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
        return admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions
            .ToDictionary(p => p.PartitionId, p => TopicReader.HighWatermark(bootstrapServers, topic, p.PartitionId));
    }

    /// <summary>
    /// The OrderCreated events published after the given high watermarks. Sagas of earlier tests may still publish
    /// OrderCompleted or OrderCancelled meanwhile; only a placed order publishes OrderCreated.
    /// </summary>
    private async Task<List<string?>> OrdersCreatedSinceAsync(Dictionary<int, long> highWatermarks)
    {
        var bootstrapServers = await fixture.ConnectionStringAsync("kafka");
        return TopicReader.ReadUntil(bootstrapServers, "orders.events", _ => true, atEnd: true)
            .Where(record => record.Offset.Value >= highWatermarks[record.Partition.Value] && record.Header("ce_type") == OrderCreated)
            .Select(record => record.Message.Key)
            .ToList();
    }
}
