using System.Diagnostics;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.Testing;

namespace ShopChoreography.Benchmarks.Saga;

/// <summary>
/// The saga under load, end to end: orders placed through <c>POST /orders</c>, each timed until its terminal event
/// appears on <c>orders.events</c>. Scenarios: closed loop (a fixed number of orders in flight), open loop (a fixed
/// arrival rate, whether or not the system keeps up), one order at a time, and the system at rest.
/// </summary>
internal sealed class SagaScenarios(DistributedApplication app)
{
    private static readonly TimeSpan SettleDeadline = TimeSpan.FromMinutes(2);

    /// <summary>Warm-up orders run in rounds of this many, 64 in flight.</summary>
    private const int WarmUpRound = 500;

    private readonly Meters _meters = new(app);

    public Task<int> ClosedLoopAsync(int concurrency, int orders) =>
        RunAsync($"closed loop, {concurrency} in flight, {orders:N0} orders", orders, async (catalog, outcomes, record) =>
        {
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
            {
                for (var n = Interlocked.Increment(ref next); n < orders; n = Interlocked.Increment(ref next))
                {
                    await PlaceAndFollowAsync(catalog, outcomes, n, record);
                }
            }));
        });

    public Task<int> OpenLoopAsync(int rate, int seconds) =>
        RunAsync($"open loop, {rate}/s for {seconds} s", rate * seconds, async (catalog, outcomes, record) =>
        {
            var start = Stopwatch.GetTimestamp();
            var inFlight = new List<Task>(rate * seconds);
            for (var n = 0; n < rate * seconds; n++)
            {
                var due = TimeSpan.FromSeconds((double)n / rate) - Stopwatch.GetElapsedTime(start);
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due);
                }

                inFlight.Add(PlaceAndFollowAsync(catalog, outcomes, n, record));
            }

            await Task.WhenAll(inFlight);
        });

    public Task<int> OneAtATimeAsync(int orders) =>
        RunAsync($"one at a time, {orders:N0} orders", orders, async (catalog, outcomes, record) =>
        {
            for (var n = 0; n < orders; n++)
            {
                await PlaceAndFollowAsync(catalog, outcomes, n, record);
            }
        });

    /// <summary>The system up and warmed, with no traffic: what it costs to just be there.</summary>
    public async Task<int> IdleAsync(int seconds)
    {
        var (catalog, outcomes, _) = await PrepareAsync(minimumWarmUp: 20, maximumWarmUp: 20);
        using (outcomes)
        {
            await Task.Delay(TimeSpan.FromSeconds(5)); // let the warm-up's stragglers (retention, reports) pass
            var before = _meters.CpuSeconds();
            await Task.Delay(TimeSpan.FromSeconds(seconds));
            var used = Meters.Used(before, _meters.CpuSeconds());
            Console.WriteLine($"At rest for {seconds} s:");
            foreach (var (process, cpu) in used)
            {
                Console.WriteLine($"  {process,-10} {cpu / seconds * 100,6:F2}% of one core");
            }

            var services = Meters.Services.Sum(s => used[s]) / seconds * 100;
            Console.WriteLine($"  services together: {services:F2}% of one core");
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                scenario = "idle", seconds,
                percentOfOneCore = used.ToDictionary(e => e.Key, e => Math.Round(e.Value / seconds * 100, 2)),
                servicesPercentOfOneCore = Math.Round(services, 2),
            }));
            return 0;
        }
    }

    private async Task<int> RunAsync(string scenario, int orders,
        Func<ShopCatalog, OrderOutcomes, Action<int, bool, double>, Task> load)
    {
        var (catalog, outcomes, warmUpOrders) = await PrepareAsync(minimumWarmUp: 2_000, maximumWarmUp: 10_000, seedFor: orders);
        using (outcomes)
        {
            var latencies = new double[orders];
            var wrongOutcomes = 0;
            void Record(int n, bool expected, double milliseconds)
            {
                latencies[n] = milliseconds;
                if (!expected)
                {
                    Interlocked.Increment(ref wrongOutcomes);
                }
            }

            Console.WriteLine($"Running: {scenario}...");
            var before = _meters.CpuSeconds();
            var memoryBefore = _meters.ServiceMemoryMiB();
            var databaseBefore = await PostgresWork.ReadAsync(app);
            using var postgresWaits = _meters.CountPostgresWaits();
            var clock = Stopwatch.StartNew();
            await load(catalog, outcomes, Record);
            var elapsed = clock.Elapsed;
            var used = Meters.Used(before, _meters.CpuSeconds());
            var waits = postgresWaits.Waits;
            var database = await PostgresWork.ReadAsync(app) - databaseBefore;
            var memory = _meters.ServiceMemoryMiB();
            var wrong = await catalog.VerifyAsync([.. Enumerable.Range(0, orders)], SettleDeadline);

            Array.Sort(latencies);
            var total = used.Values.Sum();
            var result = new
            {
                scenario,
                orders,
                warmUpOrders,
                seconds = Math.Round(elapsed.TotalSeconds, 2),
                ordersPerSecond = Math.Round(orders / elapsed.TotalSeconds, 1),
                latencyMs = new { p50 = Percentile(latencies, 0.50), p95 = Percentile(latencies, 0.95), p99 = Percentile(latencies, 0.99), max = Math.Round(latencies[^1], 1) },
                cpuMsPerOrder = used.ToDictionary(e => e.Key, e => Math.Round(e.Value * 1000 / orders, 2)),
                cpuMsPerOrderTotal = Math.Round(total * 1000 / orders, 2),
                postgresPerOrder = new
                {
                    statements = database.StatementsPerDatabase().ToDictionary(s => s.Database, s => Math.Round((double)s.Statements / orders, 2)),
                    pages = Math.Round((double)database.Pages / orders, 1),
                    transactions = Math.Round((double)database.Transactions / orders, 2),
                    walFlushes = Math.Round((double)database.WalFlushes / orders, 2),
                    waits = Math.Round((double)waits / orders, 2),
                },
                residentMiB = memory.ToDictionary(e => e.Key, e => new { before = Math.Round(memoryBefore[e.Key].Now), after = Math.Round(e.Value.Now), peak = Math.Round(e.Value.Peak) }),
                wrongOutcomes,
                invariantsExact = wrong.Count == 0,
                postsRetriedAfter503 = catalog.Retried,
            };

            Console.WriteLine($"{orders:N0} orders in {elapsed.TotalSeconds:F2} s: {result.ordersPerSecond:N1} orders/s");
            Console.WriteLine($"POST -> terminal event: p50 {result.latencyMs.p50:N1} ms, p95 {result.latencyMs.p95:N1} ms, p99 {result.latencyMs.p99:N1} ms, max {result.latencyMs.max:N1} ms");
            Console.WriteLine("CPU            seconds   ms/order");
            foreach (var (process, cpu) in used)
            {
                Console.WriteLine($"  {process,-10} {cpu,9:F2} {cpu * 1000 / orders,10:F2}");
            }

            Console.WriteLine($"  {"total",-10} {total,9:F2} {total * 1000 / orders,10:F2}");
            Console.WriteLine($"PostgreSQL per order: {result.postgresPerOrder.statements.Values.Sum():F2} statements " +
                $"({string.Join(", ", result.postgresPerOrder.statements.Select(s => $"{s.Key} {s.Value:F2}"))}) reading " +
                $"{result.postgresPerOrder.pages:F1} pages, {result.postgresPerOrder.transactions:F2} transactions, {result.postgresPerOrder.walFlushes:F2} WAL flushes, " +
                $"{result.postgresPerOrder.waits:F2} waits (about one per round trip); the most frequent statements and the pages each read:");
            foreach (var (db, statement, work) in database.MostFrequent(12))
            {
                Console.WriteLine($"  {(double)work.Calls / orders,6:F2}  {db,-11} {(double)work.Pages / work.Calls,5:F1} pages  " +
                    (statement.Length > 90 ? statement[..90] + "…" : statement));
            }

            foreach (var (service, mib) in memory)
            {
                Console.WriteLine($"RSS {service,-10} {memoryBefore[service].Now,6:F0} MiB before, {mib.Now,6:F0} MiB after, peak {mib.Peak,6:F0} MiB");
            }

            if (catalog.Retried > 0)
            {
                Console.WriteLine($"{catalog.Retried:N0} POSTs were answered 503 (overloaded) and sent again after their Retry-After");
            }

            Console.WriteLine(wrongOutcomes == 0 ? "every order reached its expected outcome" : $"{wrongOutcomes} orders reached the wrong outcome");
            Console.WriteLine(wrong.Count == 0 ? "money and stock exact" : $"money or stock wrong:{Environment.NewLine}  {string.Join($"{Environment.NewLine}  ", wrong.Take(20))}");
            Console.WriteLine(JsonSerializer.Serialize(result));
            return wrongOutcomes == 0 && wrong.Count == 0 ? 0 : 1;
        }
    }

    /// <summary>
    /// Seeds a fresh catalog, starts following orders.events and runs warm-up orders unmeasured: group joins, pools,
    /// and the JIT's tiering, which on two busy cores keeps compiling hot methods for thousands of orders. It runs
    /// rounds of <see cref="WarmUpRound"/> orders: at least <paramref name="minimumWarmUp"/>, then until the services'
    /// CPU per order stops falling (a round within 5% of the one before, or above it), at most <paramref name="maximumWarmUp"/>.
    /// </summary>
    private async Task<(ShopCatalog, OrderOutcomes, int WarmUpOrders)> PrepareAsync(int minimumWarmUp, int maximumWarmUp, int seedFor = 0)
    {
        var catalog = NewCatalog(seedFor);
        await catalog.SeedAsync();
        var outcomes = new OrderOutcomes((await app.GetConnectionStringAsync("kafka"))!);
        var servicesMsPerOrder = new List<double>();
        var warmedUp = 0;
        bool Settled() => warmedUp >= minimumWarmUp && servicesMsPerOrder is [.., var previous, var last] && last > previous * 0.95;
        while (warmedUp < maximumWarmUp && !Settled())
        {
            var orders = Math.Min(WarmUpRound, maximumWarmUp - warmedUp);
            var round = NewCatalog(orders);
            await round.SeedAsync();
            var before = _meters.CpuSeconds();
            await Parallel.ForAsync(0, orders, new ParallelOptions { MaxDegreeOfParallelism = 64 },
                async (n, _) => await PlaceAndFollowAsync(round, outcomes, n, (_, _, _) => { }));
            var used = Meters.Used(before, _meters.CpuSeconds());
            servicesMsPerOrder.Add(Meters.Services.Sum(service => used[service]) * 1000 / orders);
            warmedUp += orders;
        }

        Console.WriteLine($"Warmed up with {warmedUp:N0} orders; the services' CPU per order, round by round: " +
            string.Join(", ", servicesMsPerOrder.Select(ms => ms.ToString("F2", System.Globalization.CultureInfo.InvariantCulture))) + " ms");
        return (catalog, outcomes, warmedUp);
    }

    private ShopCatalog NewCatalog(int orders) =>
        new(app.CreateHttpClient("orders", "http"), app.CreateHttpClient("payments", "http"), app.CreateHttpClient("inventory", "http"), orders);

    /// <summary>Places the n-th order and records how long until its terminal event, and whether it ended as its kind dictates.</summary>
    private static async Task PlaceAndFollowAsync(ShopCatalog catalog, OrderOutcomes outcomes, int n, Action<int, bool, double> record)
    {
        var started = Stopwatch.GetTimestamp();
        var (kind, body) = catalog.Order(n);
        var orderId = await catalog.PlaceAsync(body);
        var (status, at) = await outcomes.OfAsync(orderId).WaitAsync(SettleDeadline);
        record(n, status == OrderOutcome.For(kind).Status, Stopwatch.GetElapsedTime(started, at).TotalMilliseconds);
    }

    private static double Percentile(double[] sorted, double p) =>
        Math.Round(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)], 1);
}
