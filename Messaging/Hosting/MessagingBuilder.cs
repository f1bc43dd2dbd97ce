using Confluent.Kafka;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using ShopChoreography.Messaging;
using ShopChoreography.Messaging.Consumers;
using ShopChoreography.Messaging.Database;
using ShopChoreography.Messaging.DeadLetters;
using ShopChoreography.Messaging.Health;
using ShopChoreography.Messaging.Outbox;
using ShopChoreography.Messaging.Telemetry;

namespace Microsoft.Extensions.Hosting;

/// <summary>What a service declares: the topic it publishes to, and the handler for each event it consumes.</summary>
public sealed class MessagingBuilder
{
    private readonly IServiceCollection _services;
    private readonly MessagingOptions _options;
    private readonly EventHandlers _handlers;

    internal MessagingBuilder(IServiceCollection services, MessagingOptions options, EventHandlers handlers)
    {
        _services = services;
        _options = options;
        _handlers = handlers;
    }

    /// <summary>This service's events go to <paramref name="topic"/> with CloudEvent <c>source</c> <paramref name="source"/>.</summary>
    public MessagingBuilder PublishTo(string topic, string source)
    {
        _options.PublishTopic = topic;
        _options.Source = source;
        return this;
    }

    /// <summary>When a <typeparamref name="TEvent"/> arrives on <paramref name="topic"/>, <typeparamref name="THandler"/> applies it.</summary>
    public MessagingBuilder Handle<TEvent, THandler>(string topic)
        where TEvent : IIntegrationEvent
        where THandler : class, IEventHandler<TEvent>
    {
        _services.TryAddScoped<THandler>();
        _handlers.Add(new HandlerRegistration(topic, EventTypes.TypeOf<TEvent>(), typeof(TEvent),
            (services, data, context, cancellationToken) =>
                services.GetRequiredService<THandler>().HandleAsync((TEvent)data, context, cancellationToken)));
        return this;
    }

    public MessagingBuilder Configure(Action<MessagingOptions> configure)
    {
        configure(_options);
        return this;
    }
}

public static class MessagingBuilderExtensions
{
    public const string ConfigurationSection = "Messaging";

    /// <summary>
    /// The messaging core for a service whose database is <typeparamref name="TContext"/> (whose model calls
    /// <see cref="MessagingModel.AddMessagingTables"/>): outbox dispatcher, consumer host with inbox, retries and
    /// dead letters (listed and replayed by <see cref="DeadLetterReplay"/>), retention, tracing and metrics, on the Kafka
    /// cluster of connection <c>kafka</c>.
    /// Tunables bind from the <c>Messaging</c> configuration section (see <see cref="MessagingOptions"/>).
    /// </summary>
    public static MessagingBuilder AddMessaging<TContext>(this IHostApplicationBuilder builder, string serviceName)
        where TContext : DbContext
    {
        var options = new MessagingOptions { ServiceName = serviceName };
        builder.Configuration.GetSection(ConfigurationSection).Bind(options);
        var handlers = new EventHandlers();
        var services = builder.Services;

        services.AddSingleton(Microsoft.Extensions.Options.Options.Create(options));
        services.AddSingleton(handlers);
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<MessagingTelemetry>();
        services.AddScoped<ConsumedEvent>();
        services.AddScoped<IAfterCommit>(provider => provider.GetRequiredService<ConsumedEvent>());
        services.AddScoped<IEventPublisher, EventPublisher<TContext>>();

        builder.AddKafkaProducer<string?, byte[]?>(MessagingOptions.KafkaConnectionName, producer =>
        {
            producer.Config.EnableIdempotence = true;
            producer.Config.Acks = Acks.All;
            // The outbox batches already: one read hands every pending row to the producer at once. Lingering would only
            // add up to linger.ms to each saga hop (measured: one order at a time, p50 57 ms with 5, 39 ms with 0).
            producer.Config.LingerMs ??= 0;
        }, (provider, producer) =>
        {
            // Resolved now: the producer reports errors while it is disposed too, after the container is gone.
            var health = provider.GetRequiredService<ProducerHealth>();
            producer.SetErrorHandler((_, error) => health.OnError(error));
        });
        services.AddSingleton<ProducerHealth>();
        services.AddHealthChecks().Add(new HealthCheckRegistration(ProducerHealth.Name,
            provider => provider.GetRequiredService<ProducerHealth>(), HealthStatus.Unhealthy, [Extensions.LiveTag]));
        builder.AddKafkaConsumer<string?, byte[]?>(MessagingOptions.KafkaConnectionName, consumer =>
            {
                consumer.Config.GroupId = serviceName;
                consumer.Config.AutoOffsetReset = AutoOffsetReset.Earliest;
                // librdkafka commits only the offsets the host stored, which it does after the database commit.
                consumer.Config.EnableAutoCommit = true;
                consumer.Config.EnableAutoOffsetStore = false;
                consumer.Config.AutoCommitIntervalMs ??= 1000;
            },
            (provider, consumer) => consumer
                .SetPartitionsAssignedHandler((_, partitions) => provider.GetRequiredService<ConsumerHost<TContext>>().OnAssigned(partitions))
                .SetPartitionsRevokedHandler((_, partitions) =>
                    provider.GetRequiredService<ConsumerHost<TContext>>().OnRevoked(partitions.Select(p => p.TopicPartition), lost: false))
                .SetPartitionsLostHandler((_, partitions) =>
                    provider.GetRequiredService<ConsumerHost<TContext>>().OnRevoked(partitions.Select(p => p.TopicPartition), lost: true)));

        // A service whose topics are missing says so at start and is not ready (Event Hubs cannot create them).
        builder.AddKafkaTopicCheck(MessagingOptions.KafkaConnectionName, _ =>
            [.. handlers.Topics, .. options.PublishTopic is { } topic ? [topic] : Array.Empty<string>(),
             .. handlers.Any ? [options.DeadLetterTopic] : Array.Empty<string>()]);
        services.AddHealthChecks().AddCheck<MessagingBacklogHealthCheck<TContext>>(MessagingBacklogHealthCheck<TContext>.Name, HealthStatus.Degraded);
        services.AddSingleton<DeadLetterPublisher>();
        services.AddSingleton<EventProcessor<TContext>>();
        // Commits that wrote outbox rows wake the dispatcher in process.
        services.AddSingleton<OutboxSignal>();
        services.AddSingleton<OutboxCommitInterceptor>();
        services.ConfigureDbContext<TContext>((provider, db) => db.AddInterceptors(provider.GetRequiredService<OutboxCommitInterceptor>()));
        // A redelivered event fails on the inbox's primary key by design (see EventProcessor), which EF Core would log as
        // an error each time. Whoever runs a command reports the failures it does not expect, with what it was doing
        // (the consumer host, ASP.NET Core's exception handler), so EF Core's own report of them goes to Debug.
        services.ConfigureDbContext<TContext>(db => db.ConfigureWarnings(events => events.Log(
            (RelationalEventId.CommandError, LogLevel.Debug), (CoreEventId.SaveChangesFailed, LogLevel.Debug))));
        services.AddSingleton<DeadLetterReplay>();
        AddHostedSingleton<OutboxDispatcher<TContext>>(services);
        AddHostedSingleton<ConsumerHost<TContext>>(services);
        services.AddSingleton<IConsumerControl>(provider => provider.GetRequiredService<ConsumerHost<TContext>>());
        services.AddHealthChecks().AddCheck<ConsumptionHealth>(ConsumptionHealth.Name);
        AddHostedSingleton<MessagingRetention<TContext>>(services);

        services.AddOpenTelemetry()
            .WithTracing(tracing => tracing.AddSource(MessagingTelemetry.Name))
            .WithMetrics(metrics => metrics.AddMeter(MessagingTelemetry.Name));
        return new MessagingBuilder(services, options, handlers);
    }

    private static void AddHostedSingleton<TService>(IServiceCollection services) where TService : class, IHostedService
    {
        services.AddSingleton<TService>();
        services.AddHostedService(provider => provider.GetRequiredService<TService>());
    }
}
