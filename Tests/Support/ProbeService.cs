using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ShopChoreography.Messaging;
using ShopChoreography.Messaging.CloudEvents;
using ShopChoreography.Messaging.Outbox;

namespace ShopChoreography.Tests.Support;

[CloudEventType(Type)]
public sealed record ProbeEvent(string Key, int Sequence, string? Behaviour = null) : IIntegrationEvent
{
    public const string Type = "test.probe.v1";
    public const string Reject = "reject";
    public const string KeepFailing = "keep-failing";
    public const string Slow = "slow";
    public const string KeepTimingOut = "keep-timing-out";
    public const string RejectRepeats = "reject-repeats";

    string IIntegrationEvent.Subject => Key;

    /// <summary>A probe as a CloudEvent of its own, as a test producing straight onto a topic writes it.</summary>
    public static CloudNative.CloudEvents.CloudEvent CloudEvent(string key, int sequence, string? behaviour = null)
    {
        var cloudEvent = new CloudNative.CloudEvents.CloudEvent(CloudNative.CloudEvents.CloudEventsSpecVersion.V1_0,
            KafkaCloudEventBinding.ExtensionAttributes)
        {
            Id = Guid.NewGuid().ToString(),
            Source = new Uri("/probe", UriKind.Relative),
            Type = Type,
            Time = DateTimeOffset.UtcNow,
            Subject = key,
            DataContentType = "application/json",
            Data = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new ProbeEvent(key, sequence, behaviour), MessagingJson.Options),
        };
        CloudNative.CloudEvents.Extensions.Partitioning.SetPartitionKey(cloudEvent, key);
        return cloudEvent;
    }
}

public sealed class AppliedEvent
{
    public long Id { get; init; }

    public required string EventId { get; init; }

    public required string Key { get; init; }

    public int Sequence { get; init; }

    /// <summary>The trace the handler ran in.</summary>
    public string? TraceId { get; init; }
}

public sealed class ProbeDbContext(DbContextOptions<ProbeDbContext> options) : DbContext(options)
{
    public DbSet<AppliedEvent> Applied => Set<AppliedEvent>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.AddMessagingTables();
        modelBuilder.Entity<AppliedEvent>().ToTable("applied_events");
    }
}

/// <summary>Records every probe it applies, in the order it applies them (the identity column).</summary>
public sealed class RecordProbe(ProbeDbContext db) : IEventHandler<ProbeEvent>
{
    public Task HandleAsync(ProbeEvent probe, EventContext context, CancellationToken cancellationToken) => probe.Behaviour switch
    {
        ProbeEvent.Reject => throw new EventRejectedException("the probe asked to be rejected"),
        ProbeEvent.KeepFailing => throw new InvalidOperationException("the probe keeps failing"),
        ProbeEvent.KeepTimingOut => throw new TimeoutException("the probe keeps timing out"),
        ProbeEvent.Slow => RecordAfterWorkAsync(probe, context, cancellationToken),
        ProbeEvent.RejectRepeats => RecordUnlessAppliedAsync(probe, context, cancellationToken),
        _ => Record(probe, context),
    };

    /// <summary>Handler work that takes a while, so records queue up and back-pressure pauses the partition.</summary>
    private async Task RecordAfterWorkAsync(ProbeEvent probe, EventContext context, CancellationToken cancellationToken)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);
        await Record(probe, context);
    }

    /// <summary>A handler with rules that refuse what it has seen, as a redelivered event meets it.</summary>
    private async Task RecordUnlessAppliedAsync(ProbeEvent probe, EventContext context, CancellationToken cancellationToken)
    {
        if (await db.Applied.AnyAsync(applied => applied.EventId == context.Id, cancellationToken))
        {
            throw new EventRejectedException($"event {context.Id} was applied already");
        }

        await Record(probe, context);
    }

    private Task Record(ProbeEvent probe, EventContext context)
    {
        db.Applied.Add(new AppliedEvent
        {
            EventId = context.Id,
            Key = probe.Key,
            Sequence = probe.Sequence,
            TraceId = System.Diagnostics.Activity.Current?.TraceId.ToString(),
        });
        return Task.CompletedTask;
    }
}

/// <summary>
/// A small service built on the messaging core, with its own database on the test PostgreSQL and the test's own
/// topic on the mock cluster: the core exercised exactly as a real service uses it.
/// </summary>
public sealed class ProbeService : IAsyncDisposable
{
    private ProbeService(IHost host) => Host = host;

    public IHost Host { get; }

    public IServiceProvider Services => Host.Services;

    public static async Task<string> CreateDatabaseAsync(DistributedAppFixture fixture)
    {
        var connectionString = await fixture.CreateDatabaseAsync("probe");
        await using var db = new ProbeDbContext(new DbContextOptionsBuilder<ProbeDbContext>().UseNpgsql(connectionString).Options);
        await db.Database.EnsureCreatedAsync();
        return connectionString;
    }

    public static Task<ProbeService> CreateAsync(DistributedAppFixture fixture, string database, string serviceName,
        string topic, bool consumes, Action<MessagingOptions>? configure = null) =>
        BuildAsync(fixture, database, serviceName, topic, consumes ? messaging => messaging.Handle<ProbeEvent, RecordProbe>(topic) : null, configure);

    /// <summary>The same service, with <typeparamref name="THandler"/> applying the probes of <paramref name="topic"/>.</summary>
    public static Task<ProbeService> CreateAsync<THandler>(DistributedAppFixture fixture, string database, string serviceName,
        string topic, Action<MessagingOptions>? configure = null) where THandler : class, IEventHandler<ProbeEvent> =>
        BuildAsync(fixture, database, serviceName, topic, messaging => messaging.Handle<ProbeEvent, THandler>(topic), configure);

    private static async Task<ProbeService> BuildAsync(DistributedAppFixture fixture, string database, string serviceName,
        string topic, Action<MessagingBuilder>? handle, Action<MessagingOptions>? configure)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning).AddFakeLogging();
        builder.Configuration.AddInMemoryCollection([
            new("ConnectionStrings:kafka", await fixture.ConnectionStringAsync("kafka")),
            new("ConnectionStrings:probedb", database),
            new("Aspire:Confluent:Kafka:Consumer:Config:fetch.wait.max.ms", "10"),
            // The mock's group coordinator only moves on from a member that misses a rebalance after its session times out.
            new("Aspire:Confluent:Kafka:Consumer:Config:session.timeout.ms", "6000"),
            new("Aspire:Confluent:Kafka:Consumer:Config:heartbeat.interval.ms", "1000"),
        ]);
        builder.AddNpgsqlDbContext<ProbeDbContext>("probedb", settings => settings.DisableRetry = true);
        var messaging = builder.AddMessaging<ProbeDbContext>(serviceName)
            .PublishTo(topic, source: "/probe")
            .Configure(options =>
            {
                options.Consumer.RetryBaseDelay = TimeSpan.FromMilliseconds(10);
                options.Consumer.MaxRetryAttempts = 2;
                configure?.Invoke(options);
            });
        handle?.Invoke(messaging);
        return new ProbeService(builder.Build());
    }

    public Task StartAsync() => Host.StartAsync();

    /// <summary>Writes the events to the outbox in one transaction, committed or rolled back.</summary>
    public async Task<List<PublishedEvent>> PublishAsync(bool commit, params ProbeEvent[] events)
    {
        await using var scope = Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ProbeDbContext>();
        var publisher = scope.ServiceProvider.GetRequiredService<IEventPublisher>();
        await using var transaction = await db.Database.BeginTransactionAsync();
        var published = events.Select(publisher.Publish).ToList();
        await db.SaveChangesAsync();
        if (commit)
        {
            await transaction.CommitAsync();
        }
        else
        {
            await transaction.RollbackAsync();
        }

        return published;
    }

    public async Task<List<AppliedEvent>> AppliedAsync()
    {
        await using var scope = Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<ProbeDbContext>().Applied.OrderBy(a => a.Id).ToListAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync();
        Host.Dispose();
    }
}
