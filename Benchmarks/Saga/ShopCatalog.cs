using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace ShopChoreography.Benchmarks.Saga;

/// <summary>
/// One run's orders on the shop: the <see cref="OrderMix.Benchmark"/> mix for this many orders, its accounts and stock
/// opened, its orders placed as fast as the shop takes them, and money and stock checked exact afterwards.
/// </summary>
internal sealed class ShopCatalog(HttpClient orders, HttpClient payments, HttpClient inventory, int orderCount)
{
    private readonly OrderMix _mix = OrderMix.Benchmark(orderCount);
    private int _retried;

    /// <summary>Accounts and stock enough for the run's orders, broke customers and a sold-out SKU.</summary>
    public Task SeedAsync() => _mix.SeedAsync(payments, inventory);

    /// <summary>The n-th order of the mix and the kind of outcome it must reach.</summary>
    public (OrderKind Kind, OrderBody Body) Order(int n) => _mix.Order(n);

    /// <summary>POSTs answered 503 (Orders overloaded or its database unavailable) and sent again after their Retry-After.</summary>
    public int Retried => Volatile.Read(ref _retried);

    public async Task<Guid> PlaceAsync(OrderBody body, CancellationToken cancellationToken = default)
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
    public async Task<IReadOnlyList<Discrepancy>> VerifyAsync(IReadOnlyCollection<int> placed, TimeSpan deadline)
    {
        var completed = placed.Select(Order).Where(order => order.Kind == OrderKind.Completes).Select(order => order.Body).ToList();
        var until = DateTime.UtcNow + deadline;
        while (true)
        {
            var wrong = await _mix.AuditAsync(payments, inventory, completed);
            if (wrong.Count == 0 || DateTime.UtcNow > until)
            {
                return wrong;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
    }
}
