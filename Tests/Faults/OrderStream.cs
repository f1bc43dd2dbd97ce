using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Faults;

/// <summary>What an order of the stream is built to end as.</summary>
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

public sealed record PlacedOrder(Guid OrderId, OrderKind Kind, string CustomerId, IReadOnlyList<ItemView> Items)
{
    public decimal Total => Items.Sum(item => item.Quantity * item.UnitPrice);
}

/// <summary>An order the stream sent whose POST has not been answered with 202 yet, and why.</summary>
public sealed record UnansweredOrder(string IdempotencyKey, OrderKind Kind, string CustomerId, string LastFailure);

/// <summary>
/// A steady stream of orders of every outcome, on accounts and SKUs of its own, sent the way a careful client sends
/// them: every order carries an <c>Idempotency-Key</c>, and a request that fails or times out is sent again with the
/// same key and body until it is answered. So every order the stream placed is known by id even when the answer to
/// an earlier try was lost, which is what lets money and stock be checked to the cent and the unit.
/// </summary>
public sealed class OrderStream : IAsyncDisposable
{
    public const decimal FundedBalance = 1_000_000.00m;
    public const decimal ShortBalance = 1.00m;
    public const int PlentifulStock = 1_000_000;
    private const int MaxRequestsInFlight = 32;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Which test placed each order, so a late dead letter can be traced to the test whose order it was.</summary>
    private static readonly ConcurrentDictionary<Guid, string> Owners = new();

    private readonly Shop _shop;
    private readonly string _owner;
    private readonly string[] _fundedCustomers;
    private readonly string _shortCustomer;
    private readonly string _unknownCustomer;
    private readonly string[] _plentifulSkus;
    private readonly string _soldOutSku;
    private readonly ConcurrentDictionary<Guid, PlacedOrder> _accepted = new();
    private readonly ConcurrentDictionary<string, OrderRequest> _unanswered = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _placing = Task.CompletedTask;
    private int _sent;
    private int _acceptedOnRetry;
    private int _sequence = -1;

    private OrderStream(Shop shop, string owner)
    {
        _shop = shop;
        _owner = owner;
        var run = Guid.NewGuid().ToString("N")[..12];
        _fundedCustomers = [.. Enumerable.Range(1, 4).Select(i => $"fm-{run}-funded-{i}")];
        _shortCustomer = $"fm-{run}-short";
        _unknownCustomer = $"fm-{run}-nobody";
        _plentifulSkus = [.. Enumerable.Range(1, 4).Select(i => $"fm-{run}-sku-{i}")];
        _soldOutSku = $"fm-{run}-sold-out";
        InitialBalances = new Dictionary<string, decimal>(_fundedCustomers.Select(c => KeyValuePair.Create(c, FundedBalance)))
        {
            [_shortCustomer] = ShortBalance,
        };
        InitialStock = new Dictionary<string, int>(_plentifulSkus.Select(s => KeyValuePair.Create(s, PlentifulStock)))
        {
            [_soldOutSku] = 0,
        };
    }

    /// <summary>Balances as the stream set them, before its first order.</summary>
    public IReadOnlyDictionary<string, decimal> InitialBalances { get; }

    /// <summary>Available stock as the stream set it, before its first order.</summary>
    public IReadOnlyDictionary<string, int> InitialStock { get; }

    /// <summary>Customers the stream orders for without ever opening an account.</summary>
    public IReadOnlyList<string> UnknownCustomers => [_unknownCustomer];

    public int AcceptedCount => _accepted.Count;

    /// <summary>Orders sent, whether or not they were answered.</summary>
    public int Sent => Volatile.Read(ref _sent);

    /// <summary>Orders accepted only when a later try with the same key was answered.</summary>
    public int AcceptedOnRetry => Volatile.Read(ref _acceptedOnRetry);

    public IReadOnlyList<PlacedOrder> Accepted => [.. _accepted.Values];

    public IReadOnlyList<UnansweredOrder> Unanswered =>
        [.. _unanswered.Select(u => new UnansweredOrder(u.Key, u.Value.Kind, u.Value.CustomerId, u.Value.LastFailure ?? "not sent yet"))];

    /// <summary>The test that placed an order, if a stream of this test run placed it.</summary>
    public static string? OwnerOf(Guid orderId) => Owners.GetValueOrDefault(orderId);

    /// <summary>Opens the stream's accounts and stock, then places orders at the given pace until stopped.</summary>
    public static async Task<OrderStream> StartAsync(Shop shop, string owner, double ordersPerSecond)
    {
        var stream = new OrderStream(shop, owner);
        foreach (var (customer, balance) in stream.InitialBalances)
        {
            await shop.SetBalanceAsync(customer, balance);
        }

        foreach (var (sku, available) in stream.InitialStock)
        {
            await shop.SetStockAsync(sku, available);
        }

        stream._placing = Task.Run(() => stream.PlaceOrdersAsync(ordersPerSecond, stream._stop.Token));
        return stream;
    }

    /// <summary>
    /// Sends this many orders at once, on top of the steady stream, and returns when each has been answered or has
    /// failed (failed ones are sent again later): right after it, the saga's events for all of them are in flight.
    /// </summary>
    public async Task BurstAsync(int orders)
    {
        var burst = Enumerable.Range(0, orders).Select(_ => NextOrder()).ToList();
        await Parallel.ForEachAsync(burst, new ParallelOptions { MaxDegreeOfParallelism = MaxRequestsInFlight },
            async (request, _) => await SendAsync(request));
    }

    public Task WaitUntilAcceptedAsync(int count) =>
        Poller.UntilAsync(() => Task.FromResult(AcceptedCount), accepted => accepted >= count,
            $"the stream to have {count} orders accepted", TimeSpan.FromSeconds(120));

    /// <summary>
    /// Stops sending new orders, then sends the unanswered ones again (same key, same body) until each is answered or
    /// the deadline passes. What is still unanswered then stays in <see cref="Unanswered"/>.
    /// </summary>
    public async Task StopAsync(DateTime deadline)
    {
        await _stop.CancelAsync();
        await _placing;
        var remaining = deadline - DateTime.UtcNow;
        try
        {
            await Poller.UntilAsync(async () =>
            {
                await Parallel.ForEachAsync(_unanswered.Values, new ParallelOptions { MaxDegreeOfParallelism = 8 },
                    async (request, _) => await SendAsync(request));
                return _unanswered.Count;
            }, unanswered => unanswered == 0, "every order of the stream to be answered",
                remaining > TimeSpan.Zero ? remaining : TimeSpan.FromSeconds(1));
        }
        catch (TimeoutException)
        {
            // Reported by the audit, with each request's last failure.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _placing;
        _stop.Dispose();
    }

    private async Task PlaceOrdersAsync(double ordersPerSecond, CancellationToken stop)
    {
        using var pace = new PeriodicTimer(TimeSpan.FromSeconds(1 / ordersPerSecond));
        using var slots = new SemaphoreSlim(MaxRequestsInFlight);
        var sending = new List<Task>();
        try
        {
            while (await pace.WaitForNextTickAsync(stop))
            {
                await slots.WaitAsync(stop);
                var request = NextOrder();
                sending.Add(Task.Run(async () =>
                {
                    try
                    {
                        await SendAsync(request);
                    }
                    finally
                    {
                        slots.Release();
                    }
                }, CancellationToken.None));
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }

        await Task.WhenAll(sending);
    }

    /// <summary>Two in five orders complete; one in five of each other kind is cancelled (one of them after a refund).</summary>
    private OrderRequest NextOrder()
    {
        var sequence = Interlocked.Increment(ref _sequence);
        var funded = _fundedCustomers[sequence % _fundedCustomers.Length];
        var sku = _plentifulSkus[sequence % _plentifulSkus.Length];
        var otherSku = _plentifulSkus[(sequence + 1) % _plentifulSkus.Length];
        var (kind, customer, items) = (sequence % 5) switch
        {
            0 or 1 => (OrderKind.Completes, funded,
                new ItemView[] { new(sku, 1 + sequence % 3, 1.00m + sequence % 7 * 0.25m), new(otherSku, 1, 2.50m) }),
            2 => (OrderKind.InsufficientFunds, _shortCustomer, [new(sku, 1, ShortBalance + 4.00m)]),
            3 => (OrderKind.UnknownCustomer, _unknownCustomer, [new(sku, 1, 3.00m)]),
            _ => (OrderKind.OutOfStock, funded, [new(sku, 2, 4.00m), new(_soldOutSku, 1, 6.00m)]),
        };
        var request = new OrderRequest($"fm-{Guid.NewGuid():N}", kind, customer, items);
        _unanswered[request.IdempotencyKey] = request;
        Interlocked.Increment(ref _sent);
        return request;
    }

    private async Task SendAsync(OrderRequest request)
    {
        var retry = request.LastFailure is not null;
        try
        {
            using var timeout = new CancellationTokenSource(RequestTimeout);
            using var message = new HttpRequestMessage(HttpMethod.Post, "/orders")
            {
                Content = JsonContent.Create(Shop.OrderBody(request.CustomerId, [.. request.Items.Select(i => (i.Sku, i.Quantity, i.UnitPrice))])),
                Headers = { { "Idempotency-Key", request.IdempotencyKey } },
            };
            using var response = await _shop.Orders.SendAsync(message, timeout.Token);
            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                request.LastFailure = $"{(int)response.StatusCode} {response.ReasonPhrase}: {await response.Content.ReadAsStringAsync(timeout.Token)}";
                return;
            }

            var answer = await response.Content.ReadFromJsonAsync<OrderAccepted>(timeout.Token)
                ?? throw new InvalidOperationException("POST /orders answered 202 without a body.");
            var order = new PlacedOrder(answer.OrderId, request.Kind, request.CustomerId, request.Items);
            Owners[order.OrderId] = _owner;
            if (_accepted.TryAdd(order.OrderId, order) && retry)
            {
                Interlocked.Increment(ref _acceptedOnRetry);
            }

            _unanswered.TryRemove(request.IdempotencyKey, out _);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException)
        {
            request.LastFailure = ex is OperationCanceledException ? $"no answer within {RequestTimeout.TotalSeconds:0} s" : ex.Message;
        }
    }

    private sealed record OrderAccepted(Guid OrderId, string Status);

    private sealed record OrderRequest(string IdempotencyKey, OrderKind Kind, string CustomerId, IReadOnlyList<ItemView> Items)
    {
        public string? LastFailure { get; set; }
    }
}
