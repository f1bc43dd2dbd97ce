extern alias Benchmarks;

using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Benchmarks::ShopChoreography.Benchmarks.Saga;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Faults;

public sealed record PlacedOrder(Guid OrderId, OrderKind Kind, OrderBody Body);

/// <summary>An order the stream sent whose POST has not been answered with 202 yet, and why.</summary>
public sealed record UnansweredOrder(string IdempotencyKey, OrderKind Kind, string CustomerId, string LastFailure);

/// <summary>
/// A steady stream of orders of every outcome (<see cref="OrderMix.FaultStream"/>), on accounts and SKUs of its own,
/// sent the way a careful client sends them: every order carries an <c>Idempotency-Key</c>, and a request that fails or
/// times out is sent again with the same key and body until it is answered. So every order the stream placed is known by id even when the answer to
/// an earlier try was lost, which is what lets money and stock be checked to the cent and the unit.
/// </summary>
public sealed class OrderStream : IAsyncDisposable
{
    private const int MaxRequestsInFlight = 32;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Which test placed each order, so a late dead letter can be traced to the test whose order it was.</summary>
    private static readonly ConcurrentDictionary<Guid, string> Owners = new();

    private readonly Shop _shop;
    private readonly string _owner;
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
    }

    /// <summary>The stream's customers, SKUs and orders.</summary>
    public OrderMix Mix { get; } = OrderMix.FaultStream();

    public int AcceptedCount => _accepted.Count;

    /// <summary>Orders sent, whether or not they were answered.</summary>
    public int Sent => Volatile.Read(ref _sent);

    /// <summary>Orders accepted only when a later try with the same key was answered.</summary>
    public int AcceptedOnRetry => Volatile.Read(ref _acceptedOnRetry);

    public IReadOnlyList<PlacedOrder> Accepted => [.. _accepted.Values];

    public IReadOnlyList<UnansweredOrder> Unanswered =>
        [.. _unanswered.Select(u => new UnansweredOrder(u.Key, u.Value.Kind, u.Value.Body.CustomerId, u.Value.LastFailure ?? "not sent yet"))];

    /// <summary>The test that placed an order, if a stream of this test run placed it.</summary>
    public static string? OwnerOf(Guid orderId) => Owners.GetValueOrDefault(orderId);

    /// <summary>Opens the stream's accounts and stock, then places orders at the given pace until stopped.</summary>
    public static async Task<OrderStream> StartAsync(Shop shop, string owner, double ordersPerSecond)
    {
        var stream = new OrderStream(shop, owner);
        await stream.Mix.SeedAsync(shop.Payments, shop.Inventory);
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

    private OrderRequest NextOrder()
    {
        var (kind, body) = Mix.Order(Interlocked.Increment(ref _sequence));
        var request = new OrderRequest($"fm-{Guid.NewGuid():N}", kind, body);
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
                Content = JsonContent.Create(request.Body),
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
            var order = new PlacedOrder(answer.OrderId, request.Kind, request.Body);
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

    private sealed record OrderRequest(string IdempotencyKey, OrderKind Kind, OrderBody Body)
    {
        public string? LastFailure { get; set; }
    }
}
