using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Saga;

[Trait("Category", "Distributed")]
[Collection(DistributedAppCollection.Name)]
public sealed class PlaceOrderRulesTests(DistributedAppFixture fixture) : IDisposable
{
    private const string ValidLine = """{"sku": "SKU-1", "quantity": 1, "unitPrice": 1.00}""";
    private readonly Shop _shop = new(fixture);

    public void Dispose() => _shop.Dispose();

    public static TheoryData<string, string[]> InvalidBodies => new()
    {
        { $$"""{"items": [{{ValidLine}}]}""", ["customerId"] },
        { $$"""{"customerId": "", "items": [{{ValidLine}}]}""", ["customerId"] },
        { $$"""{"customerId": "   ", "items": [{{ValidLine}}]}""", ["customerId"] },
        { $$"""{"customerId": "{{new string('c', 65)}}", "items": [{{ValidLine}}]}""", ["customerId"] },
        { $$"""{"customerId": 42, "items": [{{ValidLine}}]}""", ["customerId"] },
        { """{"customerId": "c-1"}""", ["items"] },
        { """{"customerId": "c-1", "items": []}""", ["items"] },
        { $$"""{"customerId": "c-1", "items": [{{string.Join(",", Enumerable.Repeat(ValidLine, 101))}}]}""", ["items"] },
        { """{"customerId": "c-1", "items": [{"quantity": 1, "unitPrice": 1}]}""", ["items[0].sku"] },
        { """{"customerId": "c-1", "items": [{"sku": "", "quantity": 1, "unitPrice": 1}]}""", ["items[0].sku"] },
        { $$"""{"customerId": "c-1", "items": [{"sku": "{{new string('s', 65)}}", "quantity": 1, "unitPrice": 1}]}""", ["items[0].sku"] },
        { """{"customerId": "c-1", "items": [{"sku": "S", "quantity": 0, "unitPrice": 1}]}""", ["items[0].quantity"] },
        { """{"customerId": "c-1", "items": [{"sku": "S", "quantity": 1001, "unitPrice": 1}]}""", ["items[0].quantity"] },
        { """{"customerId": "c-1", "items": [{"sku": "S", "quantity": 1.5, "unitPrice": 1}]}""", ["items[0].quantity"] },
        { """{"customerId": "c-1", "items": [{"sku": "S", "quantity": "2", "unitPrice": 1}]}""", ["items[0].quantity"] },
        { """{"customerId": "c-1", "items": [{"sku": "S", "quantity": 1, "unitPrice": 0}]}""", ["items[0].unitPrice"] },
        { """{"customerId": "c-1", "items": [{"sku": "S", "quantity": 1, "unitPrice": -1}]}""", ["items[0].unitPrice"] },
        { """{"customerId": "c-1", "items": [{"sku": "S", "quantity": 1, "unitPrice": 1.001}]}""", ["items[0].unitPrice"] },
        { """{"customerId": "c-1", "items": [{"sku": "S", "quantity": 1}]}""", ["items[0].unitPrice"] },
        { $$"""{"customerId": "c-1", "items": [{{ValidLine}}, {"sku": "S", "quantity": 1, "unitPrice": 0}]}""", ["items[1].unitPrice"] },
        { """{"customerId": "", "items": [{"sku": "", "quantity": 0, "unitPrice": 0}]}""",
            ["customerId", "items[0].sku", "items[0].quantity", "items[0].unitPrice"] },
        { "{", ["body"] },
        { "", ["body"] },
        { "[]", ["body"] },
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task An_invalid_order_is_refused_naming_every_bad_field_and_creates_nothing(string body, string[] badFields)
    {
        var ordersBefore = await CountOrdersAsync();

        using var response = await _shop.Orders.PostAsync("/orders", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["errors"]!.AsObject();
        Assert.Equal(badFields.Order(), errors.Select(e => e.Key).Order());
        Assert.Equal(ordersBefore, await CountOrdersAsync());
    }

    [Fact]
    public async Task Values_at_the_limits_are_accepted()
    {
        var customer = new string('c', 63) + "x";
        var items = Enumerable.Range(0, 99).Select(i => ($"SKU-{i}", 1, 0.01m)).Append((new string('s', 64), 1000, 0.01m)).ToArray();

        using var response = await _shop.Orders.PostAsJsonAsync("/orders", Shop.OrderBody(customer, items));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Fact]
    public async Task Repeating_a_request_with_its_Idempotency_Key_returns_the_same_order_and_charges_once()
    {
        var (customer, sku) = (Shop.Unique("c"), Shop.Unique("sku"));
        await _shop.SetBalanceAsync(customer, 100.00m);
        await _shop.SetStockAsync(sku, 100);
        var key = Guid.NewGuid().ToString();

        var first = await PostWithKeyAsync(key, Shop.OrderBody(customer, (sku, 1, 10.00m)));
        var sequential = await PostWithKeyAsync(key, Shop.OrderBody(customer, (sku, 1, 10.00m)));
        var concurrent = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => PostWithKeyAsync(key, Shop.OrderBody(customer, (sku, 1, 10.00m)))));
        var concurrentKey = Guid.NewGuid().ToString();
        var concurrentFirst = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => PostWithKeyAsync(concurrentKey, Shop.OrderBody(customer, (sku, 2, 10.00m)))));

        Assert.All([sequential, .. concurrent], orderId => Assert.Equal(first, orderId));
        Assert.Single(concurrentFirst.Distinct());
        await _shop.WaitUntilSettledAsync(first);
        await _shop.WaitUntilSettledAsync(concurrentFirst[0]);
        Assert.Equal(new AccountView(customer, 70.00m), await _shop.GetAccountAsync(customer)); // 10 once, then 20 once
        Assert.Equal(new StockView(sku, 97, 3), await _shop.GetStockAsync(sku));
    }

    [Fact]
    public async Task Reusing_an_Idempotency_Key_with_a_different_body_is_refused_with_422()
    {
        var key = Guid.NewGuid().ToString();
        var customer = Shop.Unique("c");
        await PostWithKeyAsync(key, Shop.OrderBody(customer, ("SKU-1", 1, 10.00m)));

        using var request = new HttpRequestMessage(HttpMethod.Post, "/orders")
        {
            Content = JsonContent.Create(Shop.OrderBody(customer, ("SKU-1", 2, 10.00m))),
            Headers = { { "Idempotency-Key", key } },
        };
        using var response = await _shop.Orders.SendAsync(request);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task With_5_in_stock_20_concurrent_funded_orders_of_1_give_exactly_5_completed_and_15_cancelled_and_refunded()
    {
        var sku = Shop.Unique("scarce");
        await _shop.SetStockAsync(sku, 5);
        var customers = Enumerable.Range(0, 20).Select(_ => Shop.Unique("c")).ToArray();
        await Task.WhenAll(customers.Select(c => _shop.SetBalanceAsync(c, 10.00m)));

        var orderIds = await Task.WhenAll(customers.Select(c => _shop.PlaceOrderAsync(c, (sku, 1, 4.00m))));
        var orders = await Task.WhenAll(orderIds.Select(id => _shop.WaitUntilSettledAsync(id, TimeSpan.FromSeconds(90))));

        Assert.Equal(5, orders.Count(o => o.Status == "Completed"));
        Assert.Equal(15, orders.Count(o => o is { Status: "Cancelled", CancellationReason: "out-of-stock" }));
        Assert.Equal(new StockView(sku, 0, 5), await _shop.GetStockAsync(sku));
        foreach (var order in orders)
        {
            var settled = order.Status == "Completed" ? ("Succeeded", 6.00m) : ("Refunded", 10.00m);
            var payment = await Poller.UntilAsync(() => _shop.GetPaymentAsync(order.OrderId), p => p?.Status == settled.Item1,
                $"the payment of {order.OrderId} to be {settled.Item1}");
            Assert.Equal(4.00m, payment!.Amount);
            Assert.Equal(new AccountView(order.CustomerId, settled.Item2), await _shop.GetAccountAsync(order.CustomerId));
        }
    }

    private async Task<Guid> PostWithKeyAsync(string key, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/orders")
        {
            Content = JsonContent.Create(body),
            Headers = { { "Idempotency-Key", key } },
        };
        using var response = await _shop.Orders.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["orderId"]!.GetValue<Guid>();
    }

    private async Task<long> CountOrdersAsync()
    {
        await using var connection = new NpgsqlConnection(await fixture.ConnectionStringAsync("ordersdb"));
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM outbox_messages)", connection);
        return (long)(await count.ExecuteScalarAsync())!;
    }
}
