using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Polly;
using Polly.Retry;

namespace Microsoft.Extensions.Hosting;

public static class ServiceDatabaseExtensions
{
    /// <summary>
    /// Registers the service's DbContext on its PostgreSQL database (pooling, retries, health check, tracing from
    /// Aspire's Npgsql EF Core integration) and applies its EF Core migrations before the service starts listening.
    /// </summary>
    public static IHostApplicationBuilder AddServiceDatabase<TContext>(this IHostApplicationBuilder builder, string connectionName)
        where TContext : DbContext
    {
        // Retries belong to the messaging core's consumer host (Polly), which runs each event in its own transaction;
        // EF Core's retrying strategy would refuse those user-initiated transactions.
        builder.AddNpgsqlDbContext<TContext>(connectionName, settings => settings.DisableRetry = true);
        builder.Services.AddHostedService<DatabaseMigrator<TContext>>();
        return builder;
    }
}

/// <summary>
/// Applies pending migrations at start. EF Core holds a database-wide migration lock while it migrates, so two
/// replicas starting together apply each migration once; the one step outside that lock, creating a missing
/// database, can collide between replicas, and the loser simply retries and finds the database there.
/// </summary>
internal sealed class DatabaseMigrator<TContext>(IServiceProvider services, ILogger<DatabaseMigrator<TContext>> logger) : IHostedService
    where TContext : DbContext
{
    private static readonly ResiliencePipeline Retry = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder()
                .Handle<PostgresException>(ex => ex.SqlState is PostgresErrorCodes.DuplicateDatabase or PostgresErrorCodes.UniqueViolation)
                .Handle<NpgsqlException>(ex => ex.IsTransient),
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
        await Retry.ExecuteAsync(async token => await db.Database.MigrateAsync(token), cancellationToken);
        logger.LogInformation("Database schema of {Context} is up to date", typeof(TContext).Name);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
