using Npgsql;

namespace ShopChoreography.Tests.Support;

/// <summary>What <c>pg_stat_statements</c> (preloaded by the AppHost) counted for the statements of one database.</summary>
internal static class StatementStatistics
{
    private const string Install = "CREATE EXTENSION IF NOT EXISTS pg_stat_statements";

    /// <summary>Forgets what the database's statements did so far.</summary>
    public static async Task ResetAsync(string database) => await Sql.ExecuteAsync(database, $"""
        {Install};
        SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0);
        """);

    /// <summary>How often the statements whose text is LIKE <paramref name="pattern"/> ran, and the pages they read in all.</summary>
    public static async Task<(long Calls, long Pages)> ReadAsync(string database, string pattern)
    {
        await Sql.ExecuteAsync(database, Install);
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var read = new NpgsqlCommand("""
            SELECT coalesce(sum(calls), 0)::bigint, coalesce(sum(shared_blks_hit + shared_blks_read), 0)::bigint FROM pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query LIKE $1
            """, connection) { Parameters = { new() { Value = pattern } } };
        await using var reader = await read.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }
}
