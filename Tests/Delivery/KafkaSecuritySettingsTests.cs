using System.Collections.Concurrent;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ShopChoreography.AppHost.Infrastructure.Kafka;
using ShopChoreography.Messaging.Kafka;

namespace ShopChoreography.Tests.Delivery;

/// <summary>
/// Kafka's TLS and SASL settings reach librdkafka from configuration, whatever the mode (the managed deployment passes
/// them as environment variables, Event Hubs' way), and the secret among them never reaches a log.
/// </summary>
public sealed class KafkaSecuritySettingsTests
{
    private const string Password = "Endpoint=sb://shop-ns.servicebus.windows.net/;SharedAccessKeyName=services;SharedAccessKey=TOP-SECRET-KEY-9f2c=";

    private static Dictionary<string, string?> EventHubsSettings(string client) => new()
    {
        [$"Aspire:Confluent:Kafka:{client}:Config:security.protocol"] = "sasl_ssl",
        [$"Aspire:Confluent:Kafka:{client}:Config:sasl.mechanism"] = "PLAIN",
        [$"Aspire:Confluent:Kafka:{client}:Config:sasl.username"] = "$ConnectionString",
        [$"Aspire:Confluent:Kafka:{client}:Config:sasl.password"] = Password,
        [$"Aspire:Confluent:Kafka:{client}:Config:ssl.endpoint.identification.algorithm"] = "https",
        [$"Aspire:Confluent:Kafka:{client}:Config:socket.keepalive.enable"] = "true",
        [$"Aspire:Confluent:Kafka:{client}:Config:metadata.max.age.ms"] = "180000",
    };

    [Fact]
    public void The_producers_TLS_and_SASL_settings_bind_from_configuration()
    {
        var builder = Builder(new(EventHubsSettings("Producer")) { ["ConnectionStrings:kafka"] = "shop-ns.servicebus.windows.net:9093" });
        KafkaProducerSettings? bound = null;

        builder.AddKafkaProducer<string, string>("kafka", settings => bound = settings);

        Assert.NotNull(bound);
        Assert.Equal("shop-ns.servicebus.windows.net:9093", bound.Config.BootstrapServers);
        Assert.Equal(SecurityProtocol.SaslSsl, bound.Config.SecurityProtocol);
        Assert.Equal(SaslMechanism.Plain, bound.Config.SaslMechanism);
        Assert.Equal("$ConnectionString", bound.Config.SaslUsername);
        Assert.Equal(Password, bound.Config.SaslPassword);
        Assert.Equal(SslEndpointIdentificationAlgorithm.Https, bound.Config.SslEndpointIdentificationAlgorithm);
        Assert.True(bound.Config.SocketKeepaliveEnable);
        Assert.Equal(180000, bound.Config.MetadataMaxAgeMs);
    }

    [Fact]
    public void The_consumers_TLS_and_SASL_settings_bind_from_environment_variables_named_as_Container_Apps_passes_them()
    {
        // Container Apps allows dots in environment variable names: the AppHost names librdkafka's properties as they are.
        var prefix = $"SHOPTEST{Guid.NewGuid():N}_";
        var variables = EventHubsSettings("Consumer").ToDictionary(setting => prefix + setting.Key.Replace(":", "__", StringComparison.Ordinal), setting => setting.Value);
        variables[prefix + "ConnectionStrings__kafka"] = "shop-ns.servicebus.windows.net:9093";
        variables[prefix + "Aspire__Confluent__Kafka__Consumer__Config__session.timeout.ms"] = "30000";
        foreach (var (name, value) in variables)
        {
            Environment.SetEnvironmentVariable(name, value);
        }

        try
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Configuration.Sources.Clear();
            builder.Configuration.AddEnvironmentVariables(prefix);
            KafkaConsumerSettings? bound = null;

            builder.AddKafkaConsumer<string, string>("kafka", settings =>
            {
                settings.Config.GroupId = "orders";
                bound = settings;
            });

            Assert.NotNull(bound);
            Assert.Equal("shop-ns.servicebus.windows.net:9093", bound.Config.BootstrapServers);
            Assert.Equal(SecurityProtocol.SaslSsl, bound.Config.SecurityProtocol);
            Assert.Equal(SaslMechanism.Plain, bound.Config.SaslMechanism);
            Assert.Equal("$ConnectionString", bound.Config.SaslUsername);
            Assert.Equal(Password, bound.Config.SaslPassword);
            Assert.Equal(30000, bound.Config.SessionTimeoutMs);
        }
        finally
        {
            foreach (var name in variables.Keys)
            {
                Environment.SetEnvironmentVariable(name, null);
            }
        }
    }

    [Fact]
    public void The_health_check_connects_with_the_clients_security_settings_and_nothing_else()
    {
        var producer = new ProducerConfig(EventHubsSettings("Producer").ToDictionary(
            setting => setting.Key["Aspire:Confluent:Kafka:Producer:Config:".Length..], setting => setting.Value!))
        {
            BootstrapServers = "shop-ns.servicebus.windows.net:9093",
            Acks = Acks.All,
            LingerMs = 5,
        };

        var admin = KafkaHealthCheck.ConnectionConfig(producer);

        Assert.Equal(
            ["bootstrap.servers", "sasl.mechanism", "sasl.password", "sasl.username", "security.protocol", "socket.keepalive.enable",
                "ssl.endpoint.identification.algorithm"],
            admin.Select(property => property.Key).Order(StringComparer.Ordinal));
        Assert.Equal(SecurityProtocol.SaslSsl, admin.SecurityProtocol);
        Assert.Equal(Password, admin.SaslPassword);
    }

    [Fact]
    public async Task The_SASL_password_never_reaches_the_logs_even_with_every_librdkafka_debug_context()
    {
        using var cluster = new KafkaMockCluster(1); // speaks no SASL: every connection attempt fails and is logged
        var logs = new CapturingLoggerProvider();
        var builder = Builder(new()
        {
            ["ConnectionStrings:kafka"] = cluster.BootstrapServers,
            ["Aspire:Confluent:Kafka:Producer:Config:security.protocol"] = "SASL_PLAINTEXT",
            ["Aspire:Confluent:Kafka:Producer:Config:sasl.mechanism"] = "PLAIN",
            ["Aspire:Confluent:Kafka:Producer:Config:sasl.username"] = "$ConnectionString",
            ["Aspire:Confluent:Kafka:Producer:Config:sasl.password"] = Password,
            ["Aspire:Confluent:Kafka:Producer:Config:debug"] = "all",
        });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        builder.Logging.AddProvider(logs);
        builder.AddKafkaProducer<string, string>("kafka");
        using var host = builder.Build();

        var producer = host.Services.GetRequiredService<IProducer<string, string>>();
        producer.Produce("orders.events", new Message<string, string> { Key = "k", Value = "v" });
        producer.Flush(TimeSpan.FromSeconds(3)); // long enough for the client to try the broker, fail, and say so
        var health = await new KafkaHealthCheck(KafkaHealthCheck.CreateAdminClient(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            SecurityProtocol = SecurityProtocol.SaslPlaintext,
            SaslMechanism = SaslMechanism.Plain,
            SaslUsername = "$ConnectionString",
            SaslPassword = Password,
        })).CheckHealthAsync(new());

        Assert.Contains(logs.Messages, message => message.Contains("sasl", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(logs.Messages, message => message.Contains("TOP-SECRET-KEY", StringComparison.Ordinal));
        Assert.DoesNotContain("TOP-SECRET-KEY", $"{health.Description} {health.Exception}", StringComparison.Ordinal);
    }

    private static HostApplicationBuilder Builder(Dictionary<string, string?> configuration)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(configuration);
        return builder;
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _messages = new();

        public IReadOnlyCollection<string> Messages => _messages;

        public ILogger CreateLogger(string categoryName) => new Logger(_messages);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<string> messages) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                messages.Enqueue(formatter(state, exception) + (exception is null ? "" : " " + exception));
        }
    }
}
