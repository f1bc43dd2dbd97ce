using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace ShopChoreography.Tests.Support;

public sealed record OrderView(Guid OrderId, string CustomerId, string Status, decimal Total, List<ItemView> Items, string? CancellationReason);

public sealed record ItemView(string Sku, int Quantity, decimal UnitPrice);

public sealed record TimelineEntry(string Type, string Source, string Id, DateTimeOffset Time);

public sealed record AccountView(string CustomerId, decimal Balance);

public sealed record PaymentView(Guid OrderId, string Status, decimal Amount);

public sealed record StockView(string Sku, int Available, int Reserved);

public sealed record ReservationView(Guid OrderId, string Status, List<ReservationLineView> Lines);

public sealed record ReservationLineView(string Sku, int Quantity);

/// <summary>The three services' public HTTP APIs, as a client of the shop uses them.</summary>
public sealed class Shop(DistributedAppFixture fixture) : IDisposable
{
    public readonly HttpClient Orders = fixture.CreateHttpClient("orders");
    public readonly HttpClient Payments = fixture.CreateHttpClient("payments");
    public readonly HttpClient Inventory = fixture.CreateHttpClient("inventory");

    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    public async Task SetBalanceAsync(string customerId, decimal balance) =>
        (await Payments.PutAsJsonAsync($"/accounts/{customerId}", new { balance })).EnsureSuccessStatusCode();

    public async Task SetStockAsync(string sku, int available) =>
        (await Inventory.PutAsJsonAsync($"/stock/{sku}", new { available })).EnsureSuccessStatusCode();

    public async Task<Guid> PlaceOrderAsync(string customerId, params (string Sku, int Quantity, decimal UnitPrice)[] items)
    {
        using var response = await Orders.PostAsJsonAsync("/orders", OrderBody(customerId, items));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("Pending", body["status"]!.GetValue<string>());
        var orderId = body["orderId"]!.GetValue<Guid>();
        Assert.Equal($"/orders/{orderId}", response.Headers.Location?.OriginalString);
        return orderId;
    }

    public static object OrderBody(string customerId, params (string Sku, int Quantity, decimal UnitPrice)[] items) =>
        new { customerId, items = items.Select(i => new { sku = i.Sku, quantity = i.Quantity, unitPrice = i.UnitPrice }) };

    public async Task<OrderView> WaitUntilSettledAsync(Guid orderId, TimeSpan? timeout = null) =>
        await Poller.UntilAsync(() => GetOrderAsync(orderId), order => order?.Status is "Completed" or "Cancelled",
            $"order {orderId} to be completed or cancelled", timeout ?? TimeSpan.FromSeconds(60)) ?? throw new InvalidOperationException();

    /// <summary>Waits until the order's story has reached the given length: events can still arrive after it settles.</summary>
    public async Task<List<TimelineEntry>> WaitForTimelineAsync(Guid orderId, int events) =>
        await Poller.UntilAsync(async () => await Orders.GetFromJsonAsync<List<TimelineEntry>>($"/orders/{orderId}/timeline") ?? [],
            timeline => timeline.Count >= events, $"the timeline of {orderId} to hold {events} events");

    public Task<OrderView?> GetOrderAsync(Guid orderId) => GetAsync<OrderView>(Orders, $"/orders/{orderId}");

    public Task<AccountView?> GetAccountAsync(string customerId) => GetAsync<AccountView>(Payments, $"/accounts/{customerId}");

    public Task<PaymentView?> GetPaymentAsync(Guid orderId) => GetAsync<PaymentView>(Payments, $"/payments/{orderId}");

    public Task<StockView?> GetStockAsync(string sku) => GetAsync<StockView>(Inventory, $"/stock/{sku}");

    public Task<ReservationView?> GetReservationAsync(Guid orderId) => GetAsync<ReservationView>(Inventory, $"/reservations/{orderId}");

    private static async Task<T?> GetAsync<T>(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            return default;
        }

        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<T>();
    }

    public void Dispose()
    {
        Orders.Dispose();
        Payments.Dispose();
        Inventory.Dispose();
    }
}
