using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Npgsql;
using ShopChoreography.Benchmarks.Saga;

namespace ShopChoreography.Benchmarks;

/// <summary>
/// What the plumbing of an applied event costs on this machine before any handler's work: a round trip to PostgreSQL,
/// and a transaction as the consumer host runs one (BEGIN with a locking read, a write, COMMIT: three round trips)
/// against the same write committed in one. One caller at a time, async as the services are; CPU of the client (this
/// process, less what it uses at rest) and of its PostgreSQL backend.
/// </summary>
public static class RoundTrips
{
    public static async Task RunAsync(DistributedApplication app, int calls)
    {
        var database = await Database.CreateAsync((await app.GetConnectionStringAsync("postgres"))!, "bench_round_trips");
        // Prepared after two uses, as the services' statements are (see ServiceDatabaseExtensions).
        var prepared = new NpgsqlConnectionStringBuilder(database) { MaxAutoPrepare = 64, AutoPrepareMinUsages = 2 };
        await using var connection = new NpgsqlConnection(prepared.ConnectionString);
        await connection.OpenAsync();
        await Execute(connection, "CREATE TABLE counters (id int PRIMARY KEY, n bigint NOT NULL); INSERT INTO counters VALUES (1, 0)");
        await using var backendPid = new NpgsqlCommand("SELECT pg_backend_pid()", connection);
        var backend = (int)(await backendPid.ExecuteScalarAsync())!;

        await MeasureAsync("a statement (SELECT 1): one round trip", calls, backend, () => Execute(connection, "SELECT 1"));
        await MeasureAsync("a transaction as the consumer host runs one: BEGIN + SELECT ... FOR UPDATE, UPDATE, COMMIT (three round trips)",
            calls, backend, async () =>
            {
                await using var transaction = await connection.BeginTransactionAsync();
                await Execute(connection, "SELECT n FROM counters WHERE id = 1 FOR UPDATE", transaction);
                await Execute(connection, "UPDATE counters SET n = n + 1 WHERE id = 1", transaction);
                await transaction.CommitAsync();
            });
        await MeasureAsync("the same UPDATE committed on its own (one round trip)", calls, backend,
            () => Execute(connection, "UPDATE counters SET n = n + 1 WHERE id = 1"));
    }

    private static async Task MeasureAsync(string what, int calls, int backend, Func<Task> call)
    {
        for (var i = 0; i < Math.Min(calls, 500); i++)
        {
            await call(); // the statements get prepared, the JIT settles
        }

        var atRest = ClientCpuSeconds();
        var resting = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(1));
        var clientRestRate = (ClientCpuSeconds() - atRest) / resting.Elapsed.TotalSeconds;

        long BackendWaits() => ProcessMeter.TreeWaits(backend).Sum(process => process.Waits);
        var (client, server, waits) = (ClientCpuSeconds(), ProcessMeter.TreeCpuSeconds(backend), BackendWaits());
        var elapsed = Stopwatch.StartNew();
        for (var i = 0; i < calls; i++)
        {
            await call();
        }

        elapsed.Stop();
        var clientCpu = ClientCpuSeconds() - client - clientRestRate * elapsed.Elapsed.TotalSeconds;
        double PerCall(double seconds) => seconds * 1e6 / calls;
        Console.WriteLine($"{what}: {calls / elapsed.Elapsed.TotalSeconds:N0}/s one at a time; per call {PerCall(elapsed.Elapsed.TotalSeconds):F0} us, "
            + $"client CPU {PerCall(clientCpu):F0} us, PostgreSQL backend CPU {PerCall(ProcessMeter.TreeCpuSeconds(backend) - server):F0} us, "
            + $"{(double)(BackendWaits() - waits) / calls:F1} backend waits");
    }

    /// <summary>This process less the broker it hosts (the AppHost runs in it).</summary>
    private static double ClientCpuSeconds() =>
        Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - ProcessMeter.ThreadCpuSeconds(Meters.BrokerThreads);

    private static async Task Execute(NpgsqlConnection connection, string sql, NpgsqlTransaction? transaction = null)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync();
    }
}
