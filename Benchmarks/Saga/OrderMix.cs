using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Serialization;
using ShopChoreography.Contracts;
using ShopChoreography.Messaging;

namespace ShopChoreography.Benchmarks.Saga;

/// <summary>What an order of a mix is built to end as.</summary>
public enum OrderKind
{
    /// <summary>A funded customer and stock for every line: paid, reserved, Completed.</summary>
    Completes,

    /// <summary>More than the customer's balance: Cancelled (insufficient-funds), nothing charged.</summary>
    InsufficientFunds,

    /// <summary>A customer without an account: Cancelled (unknown-customer).</summary>
    UnknownCustomer,

    /// <summary>A funded customer, one line sold out: charged, Cancelled (out-of-stock), refunded.</summary>
    OutOfStock,
}

/// <summary>The statuses an order ends in, as <c>GET /orders/{id}</c> shows them.</summary>
public static class OrderStatuses
{
    public const string Completed = "Completed";
    public const string Cancelled = "Cancelled";
}

/// <summary>Where each kind of order must end, and what each service must show for it: its status and the saga's events, one each.</summary>
public sealed record OrderOutcome(string Status, string? Reason, string Payment, string? Reservation, IReadOnlyList<string> Events)
{
    public static readonly OrderOutcome Completed = new(OrderStatuses.Completed, null, "Succeeded", "Reserved",
        [EventTypes.TypeOf<OrderCreated>(), EventTypes.TypeOf<PaymentSucceeded>(), EventTypes.TypeOf<InventoryReserved>(), EventTypes.TypeOf<OrderCompleted>()]);

    public static readonly OrderOutcome InsufficientFunds = new(OrderStatuses.Cancelled, CancellationReasons.InsufficientFunds, "Failed", null,
        [EventTypes.TypeOf<OrderCreated>(), EventTypes.TypeOf<PaymentFailed>(), EventTypes.TypeOf<OrderCancelled>()]);

    public static readonly OrderOutcome UnknownCustomer = new(OrderStatuses.Cancelled, CancellationReasons.UnknownCustomer, "Failed", null,
        [EventTypes.TypeOf<OrderCreated>(), EventTypes.TypeOf<PaymentFailed>(), EventTypes.TypeOf<OrderCancelled>()]);

    public static readonly OrderOutcome OutOfStock = new(OrderStatuses.Cancelled, CancellationReasons.OutOfStock, "Refunded", "Rejected",
        [EventTypes.TypeOf<OrderCreated>(), EventTypes.TypeOf<PaymentSucceeded>(), EventTypes.TypeOf<InventoryReservationFailed>(),
         EventTypes.TypeOf<OrderCancelled>(), EventTypes.TypeOf<PaymentRefunded>()]);

    public static OrderOutcome For(OrderKind kind) => kind switch
    {
        OrderKind.Completes => Completed,
        OrderKind.InsufficientFunds => InsufficientFunds,
        OrderKind.UnknownCustomer => UnknownCustomer,
        _ => OutOfStock,
    };

    /// <summary>The outcome an order's status and cancellation reason show, or null while it is not terminal.</summary>
    public static OrderOutcome? Of(string status, string? reason) =>
        new[] { Completed, InsufficientFunds, UnknownCustomer, OutOfStock }.FirstOrDefault(o => (o.Status, o.Reason) == (status, reason));
}

/// <summary>The body of <c>POST /orders</c>.</summary>
public sealed record OrderBody(string CustomerId, IReadOnlyList<OrderLine> Items)
{
    [JsonIgnore]
    public decimal Total => Items.Sum(item => item.Quantity * item.UnitPrice);
}

/// <summary>Money or stock that is not what the orders imply: the invariant broken, and where.</summary>
public sealed record Discrepancy(string Invariant, string Detail)
{
    public override string ToString() => $"{Invariant}: {Detail}";
}

/// <summary>
/// The customers and SKUs of one run, each named for the run alone, and the mix of orders placed on them: funded
/// customers, short ones (too little money for their orders), customers who never get an account, SKUs in stock and
/// one sold out. The n-th order of the mix is fixed by n, and so is its kind. Opens the accounts and stock through the
/// public APIs, and checks afterwards that money and stock are exactly what the orders that completed imply.
/// </summary>
public sealed class OrderMix
{
    private const decimal BenchmarkPrice = 1.00m;
    private const decimal FaultStreamShortBalance = 1.00m;

    private readonly string[] _funded;
    private readonly string[] _short;
    private readonly string[] _unknown;
    private readonly string[] _stocked;
    private readonly string _soldOut;
    private readonly Func<OrderMix, int, (OrderKind, OrderBody)> _order;

    private OrderMix(string prefix, (int Count, decimal Balance) funded, (int Count, decimal Balance) @short, int unknown,
        (int Count, int Available) stocked, Func<OrderMix, int, (OrderKind, OrderBody)> order)
    {
        var run = $"{prefix}-{Guid.NewGuid().ToString("N")[..12]}";
        _funded = Names($"{run}-funded", funded.Count);
        _short = Names($"{run}-short", @short.Count);
        _unknown = Names($"{run}-nobody", unknown);
        _stocked = Names($"{run}-sku", stocked.Count);
        _soldOut = $"{run}-sold-out";
        _order = order;
        OpeningBalances = _funded.Select(c => (c, funded.Balance)).Concat(_short.Select(c => (c, @short.Balance))).ToDictionary();
        OpeningStock = _stocked.Select(s => (s, stocked.Available)).Append((_soldOut, 0)).ToDictionary();
    }

    /// <summary>Balances as the mix opens them, before its first order.</summary>
    public IReadOnlyDictionary<string, decimal> OpeningBalances { get; }

    /// <summary>Available stock as the mix opens it, before its first order.</summary>
    public IReadOnlyDictionary<string, int> OpeningStock { get; }

    /// <summary>
    /// The benchmark's: 80% complete, 10% are cancelled for insufficient funds (a customer with no money), 10% are
    /// cancelled for lack of stock after being charged (so they are refunded). One unit at 1.00 each, on 100 customers
    /// and 100 SKUs with money and stock enough for <paramref name="orders"/> orders.
    /// </summary>
    public static OrderMix Benchmark(int orders) =>
        new("bench", funded: (100, orders * BenchmarkPrice), @short: (10, 0m), unknown: 0, stocked: (100, orders),
            static (mix, n) => (n % 10) switch
            {
                8 => (OrderKind.InsufficientFunds, new(mix.Short(n), [new(mix.Stocked(n), 1, BenchmarkPrice)])),
                9 => (OrderKind.OutOfStock, new(mix.Funded(n), [new(mix._soldOut, 1, BenchmarkPrice)])),
                _ => (OrderKind.Completes, new(mix.Funded(n), [new(mix.Stocked(n), 1, BenchmarkPrice)])),
            });

    /// <summary>
    /// The fault stream's: two in five orders complete; one in five of each other kind is cancelled (one of them after
    /// a refund). Four customers with a million, one with 1.00, one without an account; four SKUs with a million each.
    /// </summary>
    public static OrderMix FaultStream() =>
        new("fm", funded: (4, 1_000_000.00m), @short: (1, FaultStreamShortBalance), unknown: 1, stocked: (4, 1_000_000),
            static (mix, n) => (n % 5) switch
            {
                0 or 1 => (OrderKind.Completes,
                    new(mix.Funded(n), [new(mix.Stocked(n), 1 + n % 3, 1.00m + n % 7 * 0.25m), new(mix.Stocked(n + 1), 1, 2.50m)])),
                2 => (OrderKind.InsufficientFunds, new(mix.Short(n), [new(mix.Stocked(n), 1, FaultStreamShortBalance + 4.00m)])),
                3 => (OrderKind.UnknownCustomer, new(mix.Unknown(n), [new(mix.Stocked(n), 1, 3.00m)])),
                _ => (OrderKind.OutOfStock, new(mix.Funded(n), [new(mix.Stocked(n), 2, 4.00m), new(mix._soldOut, 1, 6.00m)])),
            });

    /// <summary>The n-th order of the mix, and what it is built to end as.</summary>
    public (OrderKind Kind, OrderBody Body) Order(int n) => _order(this, n);

    /// <summary>Opens the mix's accounts and stock, before its first order.</summary>
    public async Task SeedAsync(HttpClient payments, HttpClient inventory)
    {
        foreach (var (customer, balance) in OpeningBalances)
        {
            (await payments.PutAsJsonAsync($"/accounts/{customer}", new { balance })).EnsureSuccessStatusCode();
        }

        foreach (var (sku, available) in OpeningStock)
        {
            (await inventory.PutAsJsonAsync($"/stock/{sku}", new { available })).EnsureSuccessStatusCode();
        }
    }

    /// <summary>
    /// Money and stock as the services answer, against what the <paramref name="completed"/> orders imply: what left
    /// each account is exactly the total of its completed orders; no SKU gains or loses a unit, and what it has
    /// reserved is exactly what the completed orders hold; a customer the mix never opened has no account. Returns
    /// every difference (none: all exact).
    /// </summary>
    public async Task<IReadOnlyList<Discrepancy>> AuditAsync(HttpClient payments, HttpClient inventory, IEnumerable<OrderBody> completed)
    {
        var orders = completed.ToList();
        var spent = orders.GroupBy(o => o.CustomerId).ToDictionary(c => c.Key, c => c.Sum(o => o.Total));
        var held = orders.SelectMany(o => o.Items).GroupBy(i => i.Sku).ToDictionary(s => s.Key, s => s.Sum(i => i.Quantity));
        var discrepancies = new List<Discrepancy>();
        foreach (var (customer, opening) in OpeningBalances)
        {
            var total = spent.GetValueOrDefault(customer);
            var account = await ReadAsync<Account>(payments, $"/accounts/{customer}");
            if (account is null || opening - account.Balance != total)
            {
                discrepancies.Add(new("Money not conserved",
                    $"{customer}: balance {opening} -> {account?.Balance.ToString() ?? "no account"}, so {opening - account?.Balance} was taken, " +
                    $"but its Completed orders total {total}"));
            }
        }

        foreach (var customer in _unknown)
        {
            if (await ReadAsync<Account>(payments, $"/accounts/{customer}") is { } account)
            {
                discrepancies.Add(new("Money not conserved", $"{customer} never had an account, but now has one with {account.Balance}"));
            }
        }

        foreach (var (sku, opening) in OpeningStock)
        {
            var quantity = held.GetValueOrDefault(sku);
            var stock = await ReadAsync<Stock>(inventory, $"/stock/{sku}");
            if (stock is null || stock.Available + stock.Reserved != opening || stock.Reserved != quantity)
            {
                discrepancies.Add(new("Stock not conserved",
                    $"{sku}: started with {opening} available; now {stock?.Available} available + {stock?.Reserved} reserved; " +
                    $"its Completed orders hold {quantity}"));
            }
        }

        return discrepancies;
    }

    private string Funded(int n) => _funded[n % _funded.Length];

    private string Short(int n) => _short[n % _short.Length];

    private string Unknown(int n) => _unknown[n % _unknown.Length];

    private string Stocked(int n) => _stocked[n % _stocked.Length];

    private static string[] Names(string prefix, int count) => [.. Enumerable.Range(1, count).Select(i => $"{prefix}-{i}")];

    private static async Task<T?> ReadAsync<T>(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return default;
        }

        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<T>();
    }

    private sealed record Account(decimal Balance);

    private sealed record Stock(int Available, int Reserved);
}
