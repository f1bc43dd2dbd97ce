using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Npgsql;
using ShopChoreography.Inventory.Data;
using ShopChoreography.Orders.Data;
using ShopChoreography.Tests.Probing;

namespace ShopChoreography.Tests.Distributed;

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

    [Fact]
    public async Task Lines_kept_in_their_own_tables_move_into_their_order_and_reservation_rows_intact()
    {
        var orderId = Guid.NewGuid();
        var emptyOrderId = Guid.NewGuid();
        await using var orders = new OrdersDbContext(Options<OrdersDbContext>(await fixture.CreateDatabaseAsync("orders_lines")));
        await orders.GetService<IMigrator>().MigrateAsync("20261128180000_OutboxWakeUpTrigger");
        await orders.Database.ExecuteSqlAsync($"""
            INSERT INTO orders ("Id", "CustomerId", "Status", "Total", "CreatedAt", "HealAttempts")
            VALUES ({orderId}, 'alice', 'Completed', 25.18, now(), 0), ({emptyOrderId}, 'bob', 'Pending', 0, now(), 0);
            INSERT INTO order_lines ("OrderId", "Sku", "Quantity", "UnitPrice")
            VALUES ({orderId}, 'sku-b', 2, 12.34), ({orderId}, 'sku-a', 1, 0.50);
            """);
        await using var inventory = new InventoryDbContext(Options<InventoryDbContext>(await fixture.CreateDatabaseAsync("inventory_lines")));
        await inventory.GetService<IMigrator>().MigrateAsync("20261128180000_OutboxWakeUpTrigger");
        await inventory.Database.ExecuteSqlAsync($"""
            INSERT INTO reservations ("OrderId", "Status") VALUES ({orderId}, 'Reserved');
            INSERT INTO reservation_lines ("ReservationOrderId", "Sku", "Quantity") VALUES ({orderId}, 'sku-b', 2), ({orderId}, 'sku-a', 1);
            """);

        await orders.Database.MigrateAsync();
        await inventory.Database.MigrateAsync();

        var order = await orders.Orders.AsNoTracking().SingleAsync(o => o.Id == orderId);
        Assert.Equal([new("sku-b", 2, 12.34m), new("sku-a", 1, 0.50m)], order.Lines);
        Assert.Empty((await orders.Orders.AsNoTracking().SingleAsync(o => o.Id == emptyOrderId)).Lines);
        var reservation = await inventory.Reservations.AsNoTracking().SingleAsync(r => r.OrderId == orderId);
        Assert.Equal([new("sku-b", 2), new("sku-a", 1)], reservation.Lines);

        await orders.GetService<IMigrator>().MigrateAsync("20261128180000_OutboxWakeUpTrigger");
        await inventory.GetService<IMigrator>().MigrateAsync("20261128180000_OutboxWakeUpTrigger");
        Assert.Equal(["sku-b 2 12.34", "sku-a 1 0.50"], await RowsAsync(orders,
            """SELECT concat_ws(' ', "Sku", "Quantity", "UnitPrice") AS "Value" FROM order_lines ORDER BY "Id" """));
        Assert.Equal(["sku-b 2", "sku-a 1"], await RowsAsync(inventory,
            """SELECT concat_ws(' ', "Sku", "Quantity") AS "Value" FROM reservation_lines ORDER BY "Id" """));
    }

    [Fact]
    public async Task An_order_refunded_before_orders_remembered_their_refund_keeps_its_refund_time_and_does_not_await_one()
    {
        Guid refunded = Guid.NewGuid(), awaitingRefund = Guid.NewGuid();
        var refundedAt = new DateTimeOffset(2026, 12, 1, 10, 0, 5, TimeSpan.Zero);
        await using var orders = new OrdersDbContext(Options<OrdersDbContext>(await fixture.CreateDatabaseAsync("orders_refunds")));
        await orders.GetService<IMigrator>().MigrateAsync("20261203081424_LinesAsJson");
        await orders.Database.ExecuteSqlAsync($"""
            INSERT INTO orders ("Id", "CustomerId", "Status", "CancellationReason", "Total", "CreatedAt", "HealAttempts", "Lines")
            VALUES ({refunded}, 'alice', 'Cancelled', 'out-of-stock', 10, now(), 0, '[]'),
                   ({awaitingRefund}, 'bob', 'Cancelled', 'out-of-stock', 10, now(), 0, '[]');
            INSERT INTO order_history ("OrderId", "EventId", "Type", "Source", "Time")
            VALUES ({refunded}, 'e-1', 'shop.orders.order-cancelled.v1', '/orders', {refundedAt.AddSeconds(-5)}),
                   ({refunded}, 'e-2', 'shop.payments.payment-refunded.v1', '/payments', {refundedAt}),
                   ({awaitingRefund}, 'e-3', 'shop.orders.order-cancelled.v1', '/orders', {refundedAt});
            """);

        await orders.Database.MigrateAsync();

        var refundTimes = await orders.Orders.AsNoTracking().ToDictionaryAsync(o => o.Id, o => o.RefundedAt);
        Assert.Equal(refundedAt, refundTimes[refunded]);
        Assert.Null(refundTimes[awaitingRefund]);
    }

    private static async Task<List<string>> RowsAsync(DbContext db, string sql) =>
        await db.Database.SqlQueryRaw<string>(sql).ToListAsync();

    private static DbContextOptions<TContext> Options<TContext>(string connectionString) where TContext : DbContext =>
        new DbContextOptionsBuilder<TContext>().UseNpgsql(connectionString).Options;

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
