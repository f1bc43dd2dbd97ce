using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ShopChoreography.Orders;
using ShopChoreography.Orders.Data;

namespace ShopChoreography.Tests.Saga;

/// <summary>
/// Orders as it registers itself (<c>AddOrders</c>), built in this process on a database of its own and migrated, but
/// not started: a test calls its features directly, so every statement that database sees is the test's.
/// </summary>
internal static class OrdersInProcess
{
    public static async Task<IHost> CreateAsync(string database)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection([
            new("ConnectionStrings:ordersdb", database),
            new("ConnectionStrings:kafka", "localhost:9"), // never started: nothing here reads or writes Kafka
        ]);
        builder.AddOrders();
        var orders = builder.Build();
        await using var scope = orders.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<OrdersDbContext>().Database.MigrateAsync();
        return orders;
    }
}
