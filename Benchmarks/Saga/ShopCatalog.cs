using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace ShopChoreography.Benchmarks.Saga;

/// <summary>
/// The customers and SKUs of one run and the mix of orders placed on them: 80% complete, 10% are cancelled for
/// insufficient funds (a customer with no money), 10% are cancelled for lack of stock after being charged (so they are
/// refunded). Knows each order's expected outcome, and checks afterwards that money and stock are exact.
/// </summary>
internal sealed class ShopCatalog(HttpClient orders, HttpClient payments, HttpClient inventory)
{
    private const int FundedCustomers = 100;
    private const int BrokeCustomers = 10;
    private const int StockedSkus = 100;
    private const decimal UnitPrice = 1.00m;

    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private int _retried;
    private decimal _openingBalance;
    private int _openingStock;

    private string Funded(int i) => $"bench-{_run}-c{i % FundedCustomers}";
    private string Broke(int i) => $"bench-{_run}-broke{i % BrokeCustomers}";
    private string Stocked(int i) => $"bench-{_run}-sku{i % StockedSkus}";
    private string SoldOut => $"bench-{_run}-sold-out";

    /// <summary>Accounts and stock enough for <paramref name="orders"/> orders, and a broke customer and a sold-out SKU.</summary>
    public async Task SeedAsync(int orders)
    {
        _openingBalance = orders * UnitPrice;
        _openingStock = orders;
        for (var i = 0; i < FundedCustomers; i++)
        {
            await PutAsync(payments, $"/accounts/{Funded(i)}", new { balance = _openingBalance });
        }

        for (var i = 0; i < BrokeCustomers; i++)
        {
            await PutAsync(payments, $"/accounts/{Broke(i)}", new { balance = 0m });
        }

        for (var i = 0; i < StockedSkus; i++)
        {
            await PutAsync(inventory, $"/stock/{Stocked(i)}", new { available = _openingStock });
        }

        await PutAsync(inventory, $"/stock/{SoldOut}", new { available = 0 });
    }

    /// <summary>The n-th order of the mix and the outcome it must reach.</summary>
    public (object Body, Outcome Expected) Order(int n) => (n % 10) switch
    {
        8 => (Body(Broke(n), Stocked(n)), Outcome.Cancelled),
        9 => (Body(Funded(n), SoldOut), Outcome.Cancelled),
        _ => (Body(Funded(n), Stocked(n)), Outcome.Completed),
    };

    /// <summary>POSTs answered 503 (Orders overloaded or its database unavailable) and sent again after their Retry-After.</summary>
    public int Retried => Volatile.Read(ref _retried);

    public async Task<Guid> PlaceAsync(object body, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            using var response = await orders.PostAsJsonAsync("/orders", body, cancellationToken);
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                Interlocked.Increment(ref _retried);
                await Task.Delay(response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1), cancellationToken);
                continue;
            }

            response.EnsureSuccessStatusCode();
            var created = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken);
            return created!["orderId"]!.GetValue<Guid>();
        }
    }

    /// <summary>
    /// Waits (a refund may follow its order's cancellation) until every balance and stock count is what the placed
    /// orders imply, and returns what is still wrong when the deadline passes (empty: all exact).
    /// </summary>
    public async Task<IReadOnlyList<string>> VerifyAsync(IReadOnlyCollection<int> placed, TimeSpan deadline)
    {
        var completed = placed.Where(n => n % 10 < 8).ToList();
        var expected = new Dictionary<string, decimal>();
        for (var i = 0; i < FundedCustomers; i++)
        {
            expected[$"/accounts/{Funded(i)}|balance"] = _openingBalance;
        }

        foreach (var n in completed)
        {
            expected[$"/accounts/{Funded(n)}|balance"] -= UnitPrice;
        }

        for (var i = 0; i < BrokeCustomers; i++)
        {
            expected[$"/accounts/{Broke(i)}|balance"] = 0m;
        }

        for (var i = 0; i < StockedSkus; i++)
        {
            expected[$"/stock/{Stocked(i)}|available"] = _openingStock - completed.Count(n => n % StockedSkus == i);
        }

        expected[$"/stock/{SoldOut}|available"] = 0;

        var until = DateTime.UtcNow + deadline;
        while (true)
        {
            var wrong = new List<string>();
            foreach (var (check, value) in expected)
            {
                var (path, field) = (check.Split('|')[0], check.Split('|')[1]);
                var actual = (await (path.StartsWith("/accounts", StringComparison.Ordinal) ? payments : inventory)
                    .GetFromJsonAsync<JsonObject>(path))![field]!.GetValue<decimal>();
                if (actual != value)
                {
                    wrong.Add($"{path} {field} is {actual}, expected {value}");
                }
            }

            if (wrong.Count == 0 || DateTime.UtcNow > until)
            {
                return wrong;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
    }

    private static object Body(string customer, string sku) =>
        new { customerId = customer, items = new[] { new { sku, quantity = 1, unitPrice = UnitPrice } } };

    private static async Task PutAsync(HttpClient client, string path, object body) =>
        (await client.PutAsJsonAsync(path, body)).EnsureSuccessStatusCode();
}
