using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Npgsql;

namespace ShopChoreography.Benchmarks;

/// <summary>
/// Places N orders at once through <c>POST /orders</c> (funded, in stock, so each runs the whole happy path; spread
/// over 100 customers and <c>--skus</c> SKUs, since every order of one SKU waits for that SKU's row lock) and
/// reports how long until every order is Completed or Cancelled, and the time from each POST to its
/// <c>OrderCompleted</c> event (p50, p99, max).
/// </summary>
public static class SagaLoad
{
    private const int Customers = 100;

    public static async Task RunAsync(DistributedApplication app, int orders, int skus)
    {
        using var ordersApi = app.CreateHttpClient("orders", "http");
        using var paymentsApi = app.CreateHttpClient("payments", "http");
        using var inventoryApi = app.CreateHttpClient("inventory", "http");
        var run = Guid.NewGuid().ToString("N")[..8];
        var catalog = Enumerable.Range(0, skus).Select(i => $"load-{run}-sku-{i}").ToArray();
        foreach (var sku in catalog)
        {
            (await inventoryApi.PutAsJsonAsync($"/stock/{sku}", new { available = orders + 1 })).EnsureSuccessStatusCode();
        }

        var customers = Enumerable.Range(0, Customers).Select(i => $"load-{run}-{i}").ToArray();
        foreach (var customer in customers)
        {
            (await paymentsApi.PutAsJsonAsync($"/accounts/{customer}", new { balance = orders * 10m })).EnsureSuccessStatusCode();
        }

        // One order first, so the burst meets a running system rather than consumers still joining their groups.
        var ordersDb = (await app.GetConnectionStringAsync("ordersdb"))!;
        using (var warmUp = await ordersApi.PostAsJsonAsync("/orders", new
        {
            customerId = customers[0],
            items = new[] { new { sku = catalog[0], quantity = 1, unitPrice = 1.00m } },
        }))
        {
            warmUp.EnsureSuccessStatusCode();
        }

        await Database.WaitUntilAsync(ordersDb, "SELECT count(*) FROM orders WHERE \"Status\" = 'Completed'", completed => completed == 1);

        Console.WriteLine($"Placing {orders:N0} orders at once ({Customers} customers, {skus} SKUs)...");
        var clock = Stopwatch.StartNew();
        var started = DateTimeOffset.UtcNow;
        var placed = await Task.WhenAll(Enumerable.Range(0, orders).Select(async i =>
        {
            var postedAt = DateTimeOffset.UtcNow;
            using var response = await ordersApi.PostAsJsonAsync("/orders", new
            {
                customerId = customers[i % Customers],
                items = new[] { new { sku = catalog[i % skus], quantity = 1, unitPrice = 1.00m } },
            });
            response.EnsureSuccessStatusCode();
            var orderId = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["orderId"]!.GetValue<Guid>();
            return (OrderId: orderId, PostedAt: postedAt);
        }));
        var allPosted = clock.Elapsed;

        await Database.WaitUntilAsync(ordersDb,
            $"SELECT count(*) FROM orders WHERE \"Status\" IN ('Completed', 'Cancelled') AND \"CreatedAt\" >= '{started:O}'",
            settled => settled >= orders);
        var allSettled = clock.Elapsed;

        var completedAt = await CompletionTimesAsync(ordersDb);
        var latencies = placed.Where(o => completedAt.ContainsKey(o.OrderId))
            .Select(o => (completedAt[o.OrderId] - o.PostedAt).TotalMilliseconds).Order().ToArray();
        Console.WriteLine($"all {orders:N0} POSTs answered after {allPosted.TotalSeconds:F2} s");
        Console.WriteLine($"all {orders:N0} orders terminal after {allSettled.TotalSeconds:F2} s ({latencies.Length:N0} Completed)");
        Console.WriteLine($"POST -> Completed: p50 {Percentile(latencies, 0.50):N0} ms, p99 {Percentile(latencies, 0.99):N0} ms, max {latencies.LastOrDefault():N0} ms");
    }

    private static async Task<Dictionary<Guid, DateTimeOffset>> CompletionTimesAsync(string ordersDb)
    {
        await using var connection = new NpgsqlConnection(ordersDb);
        await connection.OpenAsync();
        await using var query = new NpgsqlCommand(
            "SELECT \"OrderId\", \"Time\" FROM order_history WHERE \"Type\" = 'shop.orders.order-completed.v1'", connection);
        await using var reader = await query.ExecuteReaderAsync();
        var completed = new Dictionary<Guid, DateTimeOffset>();
        while (await reader.ReadAsync())
        {
            completed[reader.GetGuid(0)] = reader.GetFieldValue<DateTimeOffset>(1);
        }

        return completed;
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}
