using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ShopChoreography.Messaging.Kafka;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Registers Confluent.Kafka producers and consumers bound to a connection name, with a metadata health check and
/// client metrics. Shaped like the official Aspire.Confluent.Kafka integration (same method names, configuration
/// sections and connection string), so a team that can use it swaps the package and keeps the call sites.
/// </summary>
public static class KafkaClientBuilderExtensions
{
    public static void AddKafkaProducer<TKey, TValue>(this IHostApplicationBuilder builder, string connectionName,
        Action<KafkaProducerSettings>? configureSettings = null,
        Action<IServiceProvider, ProducerBuilder<TKey, TValue>>? configureBuilder = null)
    {
        var settings = new KafkaProducerSettings();
        settings.Bind(builder.Configuration, KafkaProducerSettings.SectionName, connectionName);
        configureSettings?.Invoke(settings);

        builder.Services.AddSingleton(services =>
        {
            var producer = new ProducerBuilder<TKey, TValue>(settings.Config)
                .SetLogHandler((_, message) => Log(services, message));
            if (!settings.DisableMetrics)
            {
                producer.SetStatisticsHandler((_, json) => services.GetRequiredService<KafkaClientMetrics>().Record(json));
            }

            configureBuilder?.Invoke(services, producer);
            return producer.Build();
        });
        builder.AddKafkaInstrumentation(connectionName, settings.Config, settings.DisableHealthChecks, settings.DisableMetrics);
    }

    public static void AddKafkaConsumer<TKey, TValue>(this IHostApplicationBuilder builder, string connectionName,
        Action<KafkaConsumerSettings>? configureSettings = null,
        Action<IServiceProvider, ConsumerBuilder<TKey, TValue>>? configureBuilder = null)
    {
        var settings = new KafkaConsumerSettings();
        settings.Bind(builder.Configuration, KafkaConsumerSettings.SectionName, connectionName);
        configureSettings?.Invoke(settings);
        if (string.IsNullOrWhiteSpace(settings.Config.GroupId))
        {
            throw new InvalidOperationException(
                $"Kafka consumer '{connectionName}' has no group id: set '{KafkaConsumerSettings.SectionName}:Config:group.id' or Config.GroupId.");
        }

        builder.Services.AddSingleton(services =>
        {
            var consumer = new ConsumerBuilder<TKey, TValue>(settings.Config)
                .SetLogHandler((_, message) => Log(services, message));
            if (!settings.DisableMetrics)
            {
                consumer.SetStatisticsHandler((_, json) => services.GetRequiredService<KafkaClientMetrics>().Record(json));
            }

            configureBuilder?.Invoke(services, consumer);
            return consumer.Build();
        });
        builder.AddKafkaInstrumentation(connectionName, settings.Config, settings.DisableHealthChecks, settings.DisableMetrics);
    }

    /// <summary>
    /// Registers <see cref="KafkaTopicCheck"/>: at start, the service checks that <paramref name="requiredTopics"/> exist on
    /// the cluster of <paramref name="connectionName"/> and is not ready until they do. It asks the admin client of the
    /// connection's health check, so it does nothing for a connection without one.
    /// </summary>
    public static TBuilder AddKafkaTopicCheck<TBuilder>(this TBuilder builder, string connectionName,
        Func<IServiceProvider, IEnumerable<string>> requiredTopics) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.TryAddSingleton(services => new KafkaTopicCheck(services, connectionName, requiredTopics,
            services.GetRequiredService<ILogger<KafkaTopicCheck>>()));
        builder.Services.AddHostedService(services => services.GetRequiredService<KafkaTopicCheck>());
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(KafkaTopicCheck.HealthCheckName,
            services => services.GetRequiredService<KafkaTopicCheck>(), HealthStatus.Unhealthy, tags: null));
        return builder;
    }

    /// <summary>The key of the admin client that a connection's health checks share.</summary>
    internal static string AdminClientKey(string connectionName) => $"{connectionName}-health";

    private static void Log(IServiceProvider services, LogMessage message) =>
        services.GetRequiredService<ILoggerFactory>().CreateLogger("Confluent.Kafka").Log(
            (LogLevel)message.LevelAs(LogLevelType.MicrosoftExtensionsLogging), "{Facility} {Client}: {Message}",
            message.Facility, message.Name, message.Message);

    private static void AddKafkaInstrumentation(this IHostApplicationBuilder builder, string connectionName,
        ClientConfig config, bool disableHealthChecks, bool disableMetrics)
    {
        if (!disableMetrics)
        {
            builder.Services.AddMetrics();
            builder.Services.AddSingleton<KafkaClientMetrics>();
            builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(KafkaClientMetrics.MeterName));
        }

        if (!disableHealthChecks)
        {
            // A producer and a consumer of the same cluster share one check and one admin client.
            var adminKey = AdminClientKey(connectionName);
            builder.Services.TryAddKeyedSingleton(adminKey, (_, _) => KafkaHealthCheck.CreateAdminClient(config));
            builder.Services.Configure<HealthCheckServiceOptions>(options =>
            {
                if (options.Registrations.All(registration => registration.Name != connectionName))
                {
                    options.Registrations.Add(new HealthCheckRegistration(connectionName,
                        services => new KafkaHealthCheck(services.GetRequiredKeyedService<IAdminClient>(adminKey)),
                        HealthStatus.Unhealthy, tags: null, timeout: KafkaHealthCheck.Timeout + TimeSpan.FromSeconds(1)));
                }
            });
        }
    }
}
