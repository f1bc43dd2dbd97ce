using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Npgsql;

namespace ShopChoreography.Benchmarks.Saga;

/// <summary>
/// What the services asked of PostgreSQL, from its cumulative statistics: statements executed in each of their
/// databases (pg_stat_statements, which the local server preloads), transactions committed (each statement outside an
/// explicit transaction is one), pages those statements read (8 KiB each, from shared buffers or not) and WAL flushes to
/// disk (each an fsync). Counts, not times: unlike CPU seconds they do not vary with a noisy machine, so they show what a
/// change saves even when throughput cannot.
/// </summary>
internal sealed record PostgresWork(
    IReadOnlyDictionary<(string Database, string Statement), long> Calls, long Pages, long Transactions, long WalFlushes)
{
    public static readonly string[] Databases = ["ordersdb", "paymentsdb", "inventorydb"];

    public static async Task<PostgresWork> ReadAsync(DistributedApplication app)
    {
        await using var connection = new NpgsqlConnection(await app.GetConnectionStringAsync("postgres"));
        await connection.OpenAsync();
        await using (var install = new NpgsqlCommand("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", connection))
        {
            await install.ExecuteNonQueryAsync();
        }

        // The statistics a backend gathers reach these views within about a second; a run lasts far longer.
        var calls = new Dictionary<(string, string), long>();
        var pages = 0L;
        await using (var statements = new NpgsqlCommand("""
            SELECT d.datname, s.query, sum(s.calls)::bigint, sum(s.shared_blks_hit + s.shared_blks_read)::bigint
            FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
            WHERE d.datname = ANY($1) GROUP BY 1, 2
            """, connection) { Parameters = { new() { Value = Databases } } })
        await using (var reader = await statements.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                calls[(reader.GetString(0), reader.GetString(1))] = reader.GetInt64(2);
                pages += reader.GetInt64(3);
            }
        }

        await using var totals = new NpgsqlCommand("""
            SELECT (SELECT sum(xact_commit)::bigint FROM pg_stat_database WHERE datname = ANY($1)), (SELECT wal_sync FROM pg_stat_wal)
            """, connection) { Parameters = { new() { Value = Databases } } };
        await using var totalsReader = await totals.ExecuteReaderAsync();
        await totalsReader.ReadAsync();
        return new PostgresWork(calls, pages, totalsReader.GetInt64(0), totalsReader.GetInt64(1));
    }

    /// <summary>Statements executed in each database, in <see cref="Databases"/> order.</summary>
    public IEnumerable<(string Database, long Statements)> StatementsPerDatabase() =>
        Databases.Select(database => (database, Calls.Where(c => c.Key.Database == database).Sum(c => c.Value)));

    /// <summary>The statements run most often, with their database and text on one line.</summary>
    public IEnumerable<(string Database, string Statement, long Calls)> MostFrequent(int count) =>
        Calls.Where(c => c.Value > 0).OrderByDescending(c => c.Value).Take(count)
            .Select(c => (c.Key.Database, string.Join(' ', c.Key.Statement.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)), c.Value));

    public static PostgresWork operator -(PostgresWork after, PostgresWork before) =>
        new(after.Calls.ToDictionary(c => c.Key, c => c.Value - before.Calls.GetValueOrDefault(c.Key)),
            after.Pages - before.Pages, after.Transactions - before.Transactions, after.WalFlushes - before.WalFlushes);
}
