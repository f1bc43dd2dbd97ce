using Npgsql;

namespace ShopChoreography.Tests.Support;

internal static class Sql
{
    /// <summary>Runs <paramref name="sql"/> (one or more statements) on a connection of its own to <paramref name="database"/>.</summary>
    public static async Task ExecuteAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
