using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using ShopChoreography.Messaging.Outbox;
using ShopChoreography.Orders.Data;
using ShopChoreography.Orders.Features;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Saga;

/// <summary><c>POST /orders</c> as Orders registers it, run in this process (<see cref="OrdersInProcess"/>).</summary>
[Trait("Category", "Distributed")]
[Collection(DistributedAppCollection.Name)]
public sealed class PlaceOrderRoundTripTests(DistributedAppFixture fixture)
{
    private const string Body = """{"customerId":"c-1","items":[{"sku":"SKU-1","quantity":2,"unitPrice":9.99}]}""";

    [Fact]
    public async Task Placing_an_order_is_one_round_trip_to_the_database_with_or_without_an_Idempotency_Key()
    {
        var database = await fixture.CreateDatabaseAsync("orders_place");
        using var orders = await OrdersInProcess.CreateAsync(database);
        var name = new NpgsqlConnectionStringBuilder(database).Database!;
        using var commands = new DatabaseCommands(name);
        var before = await UtilityStatementsAsync(name);

        var withoutKey = await PlaceAsync(orders, Body, idempotencyKey: null);
        var withKey = await PlaceAsync(orders, Body, idempotencyKey: "k-1");

        Assert.IsType<Accepted<PlaceOrderResponse>>(withoutKey);
        Assert.IsType<Accepted<PlaceOrderResponse>>(withKey);
        Assert.True(commands.Executed.Count == 2, string.Join(Environment.NewLine, commands.Executed)); // one batch each,
        Assert.Equal(before, await UtilityStatementsAsync(name)); // with no BEGIN before it and no COMMIT after it
        Assert.Equal((2, 2), await OrdersAndEventsAsync(orders));
    }

    [Fact]
    public async Task A_repeat_under_an_Idempotency_Key_adds_nothing_and_another_body_under_it_is_refused()
    {
        var database = await fixture.CreateDatabaseAsync("orders_place");
        using var orders = await OrdersInProcess.CreateAsync(database);

        var first = Assert.IsType<Accepted<PlaceOrderResponse>>(await PlaceAsync(orders, Body, "k-1"));
        var repeat = Assert.IsType<Accepted<PlaceOrderResponse>>(await PlaceAsync(orders, Body, "k-1"));
        var other = Assert.IsType<ProblemHttpResult>(await PlaceAsync(orders, Body.Replace("\"quantity\":2", "\"quantity\":3"), "k-1"));

        Assert.Equal(first.Value!.OrderId, repeat.Value!.OrderId);
        Assert.Equal(StatusCodes.Status422UnprocessableEntity, other.StatusCode);
        Assert.Equal((1, 1), await OrdersAndEventsAsync(orders));
    }

    /// <summary>
    /// A NOTIFY in a writer's transaction would make its commit wait for a lock that every notifying commit of the
    /// server takes in turn and holds through its WAL flush, whatever the database.
    /// </summary>
    [Fact]
    public async Task Placing_an_order_wakes_the_outbox_dispatcher_in_this_process_and_notifies_no_session_of_the_database()
    {
        var database = await fixture.CreateDatabaseAsync("orders_place");
        using var orders = await OrdersInProcess.CreateAsync(database);
        await using var listener = new NpgsqlConnection(database);
        await listener.OpenAsync();
        var notifications = 0;
        listener.Notification += (_, _) => notifications++;
        await using (var listen = new NpgsqlCommand($"LISTEN {OutboxWakeUp.Channel}", listener))
        {
            await listen.ExecuteNonQueryAsync();
        }

        Assert.IsType<Accepted<PlaceOrderResponse>>(await PlaceAsync(orders, Body, idempotencyKey: null));

        Assert.True(orders.Services.GetRequiredService<OutboxSignal>().IsRaised);
        await using (var afterTheCommit = new NpgsqlCommand("SELECT 1", listener))
        {
            await afterTheCommit.ExecuteNonQueryAsync(); // a notification sent at the commit arrives before its answer
        }

        Assert.Equal(0, notifications);
    }

    private static async Task<IResult> PlaceAsync(IHost orders, string body, string? idempotencyKey)
    {
        await using var scope = orders.Services.CreateAsyncScope();
        var http = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        http.Request.Method = HttpMethods.Post;
        http.Request.ContentType = "application/json";
        http.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body));
        if (idempotencyKey is not null)
        {
            http.Request.Headers[PlaceOrder.IdempotencyHeader] = idempotencyKey;
        }

        var result = await PlaceOrder.HandleAsync(http.Request, scope.ServiceProvider.GetRequiredService<OrdersDbContext>(),
            scope.ServiceProvider.GetRequiredService<IEventPublisher>(), TimeProvider.System, CancellationToken.None);
        return result.Result;
    }

    private static async Task<(int Orders, int Events)> OrdersAndEventsAsync(IHost orders)
    {
        await using var scope = orders.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrdersDbContext>();
        return (await db.Orders.CountAsync(), await db.Set<OutboxMessage>().CountAsync());
    }

    /// <summary>
    /// How often the database has run BEGIN and COMMIT (pg_stat_statements, preloaded by the AppHost), asked from
    /// another database so that asking adds no command to it.
    /// </summary>
    private async Task<long> UtilityStatementsAsync(string database)
    {
        await using var connection = new NpgsqlConnection(await fixture.ConnectionStringAsync("postgres"));
        await connection.OpenAsync();
        await using var install = new NpgsqlCommand("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", connection);
        await install.ExecuteNonQueryAsync();
        await using var calls = new NpgsqlCommand("""
            SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1) AND (query LIKE 'BEGIN%' OR query = 'COMMIT')
            """, connection) { Parameters = { new() { Value = database } } };
        return (long)(await calls.ExecuteScalarAsync())!;
    }
}
