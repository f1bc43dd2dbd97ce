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
    IReadOnlyDictionary<(string Database, string Statement), StatementWork> Statements, long Transactions, long WalFlushes)
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
        var statements = new Dictionary<(string, string), StatementWork>();
        await using (var query = new NpgsqlCommand("""
            SELECT d.datname, s.query, sum(s.calls)::bigint, sum(s.shared_blks_hit + s.shared_blks_read)::bigint
            FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
            WHERE d.datname = ANY($1) GROUP BY 1, 2
            """, connection) { Parameters = { new() { Value = Databases } } })
        await using (var reader = await query.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                statements[(reader.GetString(0), reader.GetString(1))] = new(reader.GetInt64(2), reader.GetInt64(3));
            }
        }

        await using var totals = new NpgsqlCommand("""
            SELECT (SELECT sum(xact_commit)::bigint FROM pg_stat_database WHERE datname = ANY($1)), (SELECT wal_sync FROM pg_stat_wal)
            """, connection) { Parameters = { new() { Value = Databases } } };
        await using var totalsReader = await totals.ExecuteReaderAsync();
        await totalsReader.ReadAsync();
        return new PostgresWork(statements, totalsReader.GetInt64(0), totalsReader.GetInt64(1));
    }

    public long Pages => Statements.Values.Sum(s => s.Pages);

    /// <summary>Statements executed in each database, in <see cref="Databases"/> order.</summary>
    public IEnumerable<(string Database, long Statements)> StatementsPerDatabase() =>
        Databases.Select(database => (database, Statements.Where(s => s.Key.Database == database).Sum(s => s.Value.Calls)));

    /// <summary>The statements run most often, with their database and text on one line.</summary>
    public IEnumerable<(string Database, string Statement, StatementWork Work)> MostFrequent(int count) =>
        Statements.Where(s => s.Value.Calls > 0).OrderByDescending(s => s.Value.Calls).Take(count)
            .Select(s => (s.Key.Database, string.Join(' ', s.Key.Statement.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)), s.Value));

    public static PostgresWork operator -(PostgresWork after, PostgresWork before) =>
        new(after.Statements.ToDictionary(s => s.Key, s => s.Value - before.Statements.GetValueOrDefault(s.Key)),
            after.Transactions - before.Transactions, after.WalFlushes - before.WalFlushes);
}

/// <summary>How often a statement ran and the pages it read in all.</summary>
internal readonly record struct StatementWork(long Calls, long Pages)
{
    public static StatementWork operator -(StatementWork after, StatementWork before) => new(after.Calls - before.Calls, after.Pages - before.Pages);
}
