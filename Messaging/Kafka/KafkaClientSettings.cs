using Confluent.Kafka;
using Microsoft.Extensions.Configuration;

namespace ShopChoreography.Messaging.Kafka;

/// <summary>
/// Settings of a Kafka client, bound from <c>Aspire:Confluent:Kafka:Producer</c> or <c>Aspire:Confluent:Kafka:Consumer</c>
/// in the shape of the official Aspire.Confluent.Kafka integration: <c>Config</c> holds librdkafka properties by their
/// own names (for example <c>Config:fetch.wait.max.ms</c>), and <c>ConnectionStrings:{name}</c> is the bootstrap list.
/// </summary>
public abstract class KafkaClientSettings<TConfig> where TConfig : ClientConfig, new()
{
    /// <summary>The bootstrap servers list; overrides <c>Config:bootstrap.servers</c>.</summary>
    public string? ConnectionString { get; set; }

    public TConfig Config { get; } = new();

    public bool DisableHealthChecks { get; set; }

    public bool DisableMetrics { get; set; }

    /// <summary>How often librdkafka reports the statistics behind the client metrics.</summary>
    public TimeSpan StatisticsInterval { get; set; } = TimeSpan.FromSeconds(5);

    internal void Bind(IConfiguration configuration, string sectionName, string connectionName)
    {
        var section = configuration.GetSection(sectionName);
        section.Bind(this);
        foreach (var (key, value) in section.GetSection(nameof(Config)).AsEnumerable(makePathsRelative: true))
        {
            if (value is not null)
            {
                Config.Set(key, value);
            }
        }

        ConnectionString = configuration.GetConnectionString(connectionName) ?? ConnectionString;
        if (!string.IsNullOrWhiteSpace(ConnectionString))
        {
            Config.BootstrapServers = ConnectionString;
        }

        if (string.IsNullOrWhiteSpace(Config.BootstrapServers))
        {
            throw new InvalidOperationException(
                $"Kafka client '{connectionName}' has no bootstrap servers: set 'ConnectionStrings:{connectionName}' " +
                $"(the AppHost does so for a referenced kafka resource) or '{sectionName}:Config:bootstrap.servers'.");
        }

        if (!DisableMetrics && Config.StatisticsIntervalMs is null)
        {
            Config.StatisticsIntervalMs = (int)StatisticsInterval.TotalMilliseconds;
        }
    }
}

public sealed class KafkaProducerSettings : KafkaClientSettings<ProducerConfig>
{
    public const string SectionName = "Aspire:Confluent:Kafka:Producer";
}

public sealed class KafkaConsumerSettings : KafkaClientSettings<ConsumerConfig>
{
    public const string SectionName = "Aspire:Confluent:Kafka:Consumer";
}
