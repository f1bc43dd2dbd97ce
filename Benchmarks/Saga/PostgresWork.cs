using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Npgsql;

namespace ShopChoreography.Benchmarks.Saga;

/// <summary>
/// What the services asked of PostgreSQL, from its cumulative statistics: transactions committed in their three
/// databases (each statement outside an explicit transaction is one) and WAL flushes to disk (each an fsync). Counts,
/// not times: unlike CPU seconds they do not vary with a noisy machine, so they show what a change saves even when
/// throughput cannot.
/// </summary>
internal sealed record PostgresWork(long Transactions, long WalFlushes)
{
    public static async Task<PostgresWork> ReadAsync(DistributedApplication app)
    {
        await using var connection = new NpgsqlConnection(await app.GetConnectionStringAsync("postgres"));
        await connection.OpenAsync();
        // The statistics a backend gathers reach these views within about a second; a run lasts far longer.
        await using var query = new NpgsqlCommand("""
            SELECT (SELECT sum(xact_commit)::bigint FROM pg_stat_database WHERE datname IN ('ordersdb', 'paymentsdb', 'inventorydb')),
                   (SELECT wal_sync FROM pg_stat_wal)
            """, connection);
        await using var reader = await query.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new PostgresWork(reader.GetInt64(0), reader.GetInt64(1));
    }

    public static PostgresWork operator -(PostgresWork after, PostgresWork before) =>
        new(after.Transactions - before.Transactions, after.WalFlushes - before.WalFlushes);
}
