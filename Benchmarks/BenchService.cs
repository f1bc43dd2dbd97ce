using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ShopChoreography.Messaging;

namespace ShopChoreography.Benchmarks;

[CloudEventType("bench.event.v1")]
public sealed record BenchEvent(string Key, int Sequence, string Payload) : IIntegrationEvent
{
    string IIntegrationEvent.Subject => Key;
}

public sealed class Applied
{
    public long Id { get; init; }

    public int Sequence { get; init; }
}

public sealed class BenchDbContext(DbContextOptions<BenchDbContext> options) : DbContext(options)
{
    public DbSet<Applied> Applied => Set<Applied>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.AddMessagingTables();
        modelBuilder.Entity<Applied>().ToTable("applied");
    }
}

/// <summary>A saga step's shape: one inbox row, one state row, in one transaction.</summary>
public sealed class RecordBenchEvent(BenchDbContext db) : IEventHandler<BenchEvent>
{
    public Task HandleAsync(BenchEvent @event, EventContext context, CancellationToken cancellationToken)
    {
        db.Applied.Add(new Applied { Sequence = @event.Sequence });
        return Task.CompletedTask;
    }
}

public static class BenchService
{
    public static IHost Create(string kafka, string database, string serviceName, string topic, bool consumes)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection([
            new("ConnectionStrings:kafka", kafka),
            new("ConnectionStrings:benchdb", database),
            new("Aspire:Confluent:Kafka:Consumer:Config:fetch.wait.max.ms", "10"),
        ]);
        builder.AddNpgsqlDbContext<BenchDbContext>("benchdb", settings => settings.DisableRetry = true);
        var messaging = builder.AddMessaging<BenchDbContext>(serviceName).PublishTo(topic, source: "/bench");
        if (consumes)
        {
            messaging.Handle<BenchEvent, RecordBenchEvent>(topic);
        }

        return builder.Build();
    }
}
