using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Input;

/// <summary>What a request may be besides its fields (its size, headers and path), and how the rest is answered.</summary>
[Trait("Category", "Distributed")]
[Collection(DistributedAppCollection.Name)]
public sealed class RequestLimitsTests(DistributedAppFixture fixture) : IDisposable
{
    private const int BodyLimit = 1024 * 1024;
    private readonly Shop _shop = new(fixture);

    public void Dispose() => _shop.Dispose();

    /// <summary>
    /// Chunked, so Kestrel reads past the limit before it answers. With a Content-Length over the limit it answers 413
    /// at once and closes, and the client may still be writing the body: a broken pipe, not an answer to assert on.
    /// </summary>
    public static TheoryData<string, bool> Endpoints => new()
    {
        { "orders", true }, { "payments", true }, { "inventory", true },
    };

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task A_body_over_1_MiB_is_refused_with_413_problem_details_and_nothing_is_stored(string service, bool chunked)
    {
        var id = Shop.Unique("big");
        using var request = WriteRequest(service, id, PaddedTo(BodyLimit + 1, ValidBody(service, id)));
        request.Headers.TransferEncodingChunked = chunked;

        using var response = await Client(service).SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(413, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["status"]?.GetValue<int>());
        Assert.Equal(0, await RowsHoldingAsync(service, id));
    }

    [Fact]
    public async Task A_body_of_exactly_1_MiB_is_read()
    {
        var sku = Shop.Unique("sku");
        using var request = WriteRequest("inventory", sku, PaddedTo(BodyLimit, ValidBody("inventory", sku)));

        using var response = await _shop.Inventory.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(new StockView(sku, 7, 0), await _shop.GetStockAsync(sku));
    }

    [Theory]
    [InlineData(256)]
    [InlineData(8_000)]
    public async Task An_Idempotency_Key_over_255_characters_is_refused_naming_it_and_nothing_is_stored(int length)
    {
        var customer = Shop.Unique("c");
        using var request = WriteRequest("orders", customer, Encoding.UTF8.GetBytes(ValidBody("orders", customer)));
        request.Headers.Add("Idempotency-Key", new string('k', length));

        using var response = await _shop.Orders.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(["Idempotency-Key"], JsonNode.Parse(await response.Content.ReadAsStringAsync())!["errors"]!.AsObject().Select(e => e.Key));
        Assert.Equal(0, await RowsHoldingAsync("orders", customer));
    }

    [Theory]
    [InlineData("k-\u0001")]
    [InlineData("k-\u001b[31m")]
    [InlineData("k-\u007f")]
    [InlineData("k-\tx")]
    public async Task An_Idempotency_Key_with_a_control_character_is_refused_naming_it_and_nothing_is_stored(string key)
    {
        var customer = Shop.Unique("c");
        using var request = WriteRequest("orders", customer, Encoding.UTF8.GetBytes(ValidBody("orders", customer)));
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);

        using var response = await _shop.Orders.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(["Idempotency-Key"], JsonNode.Parse(await response.Content.ReadAsStringAsync())!["errors"]!.AsObject().Select(e => e.Key));
        Assert.Equal(0, await RowsHoldingAsync("orders", customer));
    }

    /// <summary>A stated limit: Kestrel answers before any middleware runs, so the 431 has no problem details body.</summary>
    [Fact]
    public async Task Request_headers_over_32_KiB_are_refused_by_Kestrel_with_431()
    {
        var sku = Shop.Unique("sku");
        using var request = WriteRequest("inventory", sku, Encoding.UTF8.GetBytes(ValidBody("inventory", sku)));
        request.Headers.Add("X-Padding", new string('p', 40 * 1024));

        using var response = await _shop.Inventory.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        Assert.Equal(0, await RowsHoldingAsync("inventory", sku));
    }

    /// <summary>A stated limit: Kestrel refuses a NUL in the path itself, before any middleware, with a bare 400.</summary>
    [Fact]
    public async Task A_NUL_in_the_path_is_refused_by_Kestrel_with_400()
    {
        var customer = Shop.Unique("c");
        using var request = WriteRequest("payments", customer + "%00", Encoding.UTF8.GetBytes(ValidBody("payments", customer)));

        using var response = await _shop.Payments.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(0, await RowsHoldingAsync("payments", customer));
    }

    private HttpClient Client(string service) => service switch
    {
        "orders" => _shop.Orders,
        "payments" => _shop.Payments,
        _ => _shop.Inventory,
    };

    private static HttpRequestMessage WriteRequest(string service, string id, byte[] body) => new(
        service == "orders" ? HttpMethod.Post : HttpMethod.Put,
        service switch { "orders" => "/orders", "payments" => $"/accounts/{id}", _ => $"/stock/{id}" })
    {
        Content = new ByteArrayContent(body) { Headers = { { "Content-Type", "application/json" } } },
    };

    private static string ValidBody(string service, string id) => service switch
    {
        "orders" => $$"""{"customerId": "{{id}}", "items": [{"sku": "SKU-1", "quantity": 1, "unitPrice": 1.00}]}""",
        "payments" => """{"balance": 10.00}""",
        _ => """{"available": 7}""",
    };

    /// <summary>The JSON followed by spaces up to the given size: still a valid body, just a big one.</summary>
    private static byte[] PaddedTo(int size, string json)
    {
        var body = new byte[size];
        Array.Fill(body, (byte)' ');
        Encoding.UTF8.GetBytes(json).CopyTo(body, 0);
        return body;
    }

    private async Task<long> RowsHoldingAsync(string service, string id)
    {
        var (database, sql) = service switch
        {
            "orders" => ("ordersdb", "SELECT count(*) FROM orders WHERE strpos(\"CustomerId\", @id) > 0"),
            "payments" => ("paymentsdb", "SELECT count(*) FROM accounts WHERE strpos(customer_id, @id) > 0"),
            _ => ("inventorydb", "SELECT count(*) FROM stock WHERE strpos(sku, @id) > 0"),
        };
        await using var connection = new NpgsqlConnection(await fixture.ConnectionStringAsync(database));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("id", id);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
