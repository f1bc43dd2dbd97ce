using Microsoft.AspNetCore.OpenApi;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Polly;
using Polly.Retry;
using ShopChoreography.Messaging.Database;

namespace Microsoft.Extensions.Hosting;

public static class ServiceDatabaseExtensions
{
    /// <summary>
    /// Registers the service's DbContext on its PostgreSQL database (pooling, health check, tracing from Aspire's
    /// Npgsql EF Core integration) and applies its EF Core migrations before the service starts listening. A request
    /// that fails because the database is unavailable is answered 503 (<see cref="DependencyUnavailableExceptionHandler"/>).
    /// </summary>
    public static IHostApplicationBuilder AddServiceDatabase<TContext>(this IHostApplicationBuilder builder, string connectionName)
        where TContext : DbContext
    {
        // Retries belong to the messaging core's consumer host (Polly), which runs each event in its own transaction;
        // EF Core's retrying strategy would refuse those user-initiated transactions.
        builder.AddNpgsqlDbContext<TContext>(connectionName, settings =>
        {
            settings.DisableRetry = true;
            settings.ConnectionString = Tuned(settings.ConnectionString);
        });
        builder.Services.AddHostedService<DatabaseMigrator<TContext>>();
        builder.Services.AddExceptionHandler<DependencyUnavailableExceptionHandler>();
        builder.Services.ConfigureAll<OpenApiOptions>(openApi => openApi.AddOperationTransformer(DependencyUnavailableExceptionHandler.DescribeAsync));
        return builder;
    }

    /// <summary>
    /// Tuned for a service that runs the same few short transactions per event: Npgsql prepares the statements it
    /// sees twice on a connection (unless the connection string sets Max Auto Prepare), so the server parses and plans
    /// them once per connection instead of once per event; and a connection going back to the pool is not reset (seven
    /// statements once statements are prepared), because nothing here leaves session state behind.
    /// </summary>
    private static string? Tuned(string? connectionString)
    {
        if (connectionString is null)
        {
            return null;
        }

        var settings = new NpgsqlConnectionStringBuilder(connectionString);
        if (settings.MaxAutoPrepare == 0)
        {
            settings.MaxAutoPrepare = 64;
            settings.AutoPrepareMinUsages = 2;
        }

        settings.NoResetOnClose = true;
        return settings.ConnectionString;
    }
}

/// <summary>
/// Applies pending migrations at start, safely when several replicas start at once: the first to arrive creates
/// a missing database (the others see it exists), then each migrates under a PostgreSQL advisory lock on that
/// database, so one applies the pending migrations and the others find nothing left to do.
/// </summary>
internal sealed class DatabaseMigrator<TContext>(IServiceProvider services, ILogger<DatabaseMigrator<TContext>> logger) : IHostedService
    where TContext : DbContext
{
    private const string MigrationLock = "hashtext('shop_schema_migration')";

    private static readonly ResiliencePipeline Retry = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<NpgsqlException>(ex => ex.IsTransient),
            MaxRetryAttempts = 5,
            Delay = TimeSpan.FromMilliseconds(500),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
        })
        .Build();

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        await Retry.ExecuteAsync(async token =>
        {
            await CreateDatabaseIfMissingAsync(db, token);
            await using var connection = new NpgsqlConnection(db.Database.GetConnectionString());
            await connection.OpenAsync(token);
            await ExecuteAsync(connection, $"SELECT pg_advisory_lock({MigrationLock})", token);
            try
            {
                // Npgsql's provider reads the history table before creating it and logs the failure as an error on
                // every new database (npgsql/efcore.pg#3407): create it first.
                await db.Database.ExecuteSqlRawAsync(db.GetService<IHistoryRepository>().GetCreateIfNotExistsScript(), token);
                await db.Database.MigrateAsync(token);
            }
            finally
            {
                await ExecuteAsync(connection, $"SELECT pg_advisory_unlock({MigrationLock})", CancellationToken.None);
            }
        }, cancellationToken);
        logger.LogInformation("Database schema of {Context} is up to date", typeof(TContext).Name);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static async Task CreateDatabaseIfMissingAsync(TContext db, CancellationToken cancellationToken)
    {
        if (await db.GetService<IRelationalDatabaseCreator>().ExistsAsync(cancellationToken))
        {
            return;
        }

        // As EF's creator does, on the server's maintenance database; by hand, so that a replica that loses the race
        // to create it does not log EF's failed command as an error.
        var database = new NpgsqlConnectionStringBuilder(db.Database.GetConnectionString());
        var maintenance = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Database = "postgres", Pooling = false };
        await using var connection = new NpgsqlConnection(maintenance.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        try
        {
            await ExecuteAsync(connection, $"CREATE DATABASE {db.GetService<ISqlGenerationHelper>().DelimitIdentifier(database.Database!)}", cancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.DuplicateDatabase or PostgresErrorCodes.UniqueViolation)
        {
            // Another replica created it first.
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
