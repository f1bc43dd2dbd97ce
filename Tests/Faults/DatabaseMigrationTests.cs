using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using ShopChoreography.Orders.Data;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Faults;

[Trait("Category", "Distributed")]
[Collection(DistributedAppCollection.Name)]
public sealed class DatabaseMigrationTests(DistributedAppFixture fixture)
{
    [Fact]
    public async Task Two_replicas_starting_at_once_create_and_migrate_a_new_database_exactly_once_and_log_no_error()
    {
        var server = await fixture.ConnectionStringAsync("postgres");
        var database = $"migration_race_{Guid.NewGuid():N}";
        var connectionString = $"{server};Database={database}";
        using var first = Replica(connectionString);
        using var second = Replica(connectionString);

        try
        {
            await Task.WhenAll(first.StartAsync(), second.StartAsync());

            await using var db = first.Services.CreateScope().ServiceProvider.GetRequiredService<OrdersDbContext>();
            var applied = await AppliedMigrationsAsync(connectionString);
            Assert.Equal(db.Database.GetMigrations(), applied);
            Assert.Empty(await db.Database.GetPendingMigrationsAsync());
            Assert.Equal(0, await db.Orders.CountAsync());
            // A new database is the normal case: an operator must not find errors in the logs for it.
            var errors = first.Services.ErrorsLogged().Concat(second.Services.ErrorsLogged()).ToList();
            Assert.True(errors.Count == 0, string.Join(Environment.NewLine, errors));
        }
        finally
        {
            await Task.WhenAll(first.StopAsync(), second.StopAsync());
            NpgsqlConnection.ClearAllPools();
            await using var connection = new NpgsqlConnection(server);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
        }
    }

    private static IHost Replica(string connectionString)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection([new("ConnectionStrings:ordersdb", connectionString)]);
        builder.AddServiceDatabase<OrdersDbContext>("ordersdb");
        builder.Logging.AddFakeLogging();
        return builder.Build();
    }

    private static async Task<List<string>> AppliedMigrationsAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var query = new NpgsqlCommand("""SELECT "MigrationId" FROM "__EFMigrationsHistory" ORDER BY "MigrationId" """, connection);
        await using var reader = await query.ExecuteReaderAsync();
        var applied = new List<string>();
        while (await reader.ReadAsync())
        {
            applied.Add(reader.GetString(0));
        }

        return applied;
    }
}
