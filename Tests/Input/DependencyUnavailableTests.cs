using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using ShopChoreography.Messaging.Database;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Input;

/// <summary>
/// A request that fails because its database is unavailable or overloaded is answered 503 with Retry-After, not 500,
/// and changes nothing. A small web app on the services' defaults, writing to a real PostgreSQL database.
/// </summary>
[Trait("Category", "Distributed")]
[Collection(DistributedAppCollection.Name)]
public sealed class DependencyUnavailableTests(DistributedAppFixture fixture)
{
    [Fact]
    public async Task A_request_whose_database_refuses_connections_gets_503_with_retry_after_and_changes_nothing()
    {
        var database = new NpgsqlConnectionStringBuilder(await CreateNotesDatabaseAsync());
        await using var proxy = new TcpProxy(database.Host!, database.Port);
        database.Host = "127.0.0.1";
        database.Port = proxy.Port;
        await using var app = await StartAsync(database.ConnectionString);
        using var client = new HttpClient { BaseAddress = app.Address };

        proxy.Down();
        using var response = await client.PostAsync("/notes", null);
        proxy.Up();

        await AssertUnavailableAsync(response);
        Assert.Equal(0L, await NotesAsync(database.ConnectionString));
    }

    /// <summary>What an overloaded service meets: every pooled connection is busy for longer than the pool's timeout.</summary>
    [Fact]
    public async Task A_request_that_finds_no_free_database_connection_in_time_gets_503_with_retry_after_and_changes_nothing()
    {
        var database = new NpgsqlConnectionStringBuilder(await CreateNotesDatabaseAsync()) { MaxPoolSize = 1, Timeout = 1 };
        await using var app = await StartAsync(database.ConnectionString);
        using var client = new HttpClient { BaseAddress = app.Address };

        HttpResponseMessage response;
        await using (var busy = new NpgsqlConnection(database.ConnectionString))
        {
            await busy.OpenAsync();
            response = await client.PostAsync("/notes", null);
        }

        using (response)
        {
            await AssertUnavailableAsync(response);
        }

        Assert.Equal(0L, await NotesAsync(database.ConnectionString));
    }

    [Fact]
    public async Task A_failure_that_is_not_the_infrastructure_stays_a_500()
    {
        await using var app = await StartAsync(await CreateNotesDatabaseAsync());
        using var client = new HttpClient { BaseAddress = app.Address };

        using var response = await client.GetAsync("/bug");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Null(response.Headers.RetryAfter);
    }

    private static async Task AssertUnavailableAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>();
        Assert.Equal(503, problem!["status"]!.GetValue<int>());
        Assert.Contains("rolled back", problem["detail"]!.GetValue<string>());
    }

    private async Task<string> CreateNotesDatabaseAsync()
    {
        var connectionString = await fixture.CreateDatabaseAsync("unavailable");
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand("CREATE TABLE notes (written_at timestamptz NOT NULL)", connection);
        await create.ExecuteNonQueryAsync();
        return connectionString;
    }

    private static async Task<long> NotesAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM notes", connection);
        return (long)(await count.ExecuteScalarAsync())!;
    }

    private static async Task<NotesApp> StartAsync(string connectionString)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Critical);
        builder.AddServiceDefaults();
        builder.Services.AddExceptionHandler<DependencyUnavailableExceptionHandler>();
        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapPost("/notes", async () =>
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var insert = new NpgsqlCommand("INSERT INTO notes VALUES (now())", connection);
            await insert.ExecuteNonQueryAsync();
            return Results.NoContent();
        });
        app.MapGet("/bug", IResult () => throw new InvalidOperationException("a bug, not an outage"));
        await app.StartAsync();
        return new NotesApp(app, new Uri(app.Urls.Single()));
    }

    private sealed record NotesApp(WebApplication App, Uri Address) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => App.DisposeAsync();
    }
}
