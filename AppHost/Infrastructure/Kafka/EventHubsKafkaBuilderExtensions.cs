namespace ShopChoreography.AppHost.Infrastructure.Kafka;

/// <summary>
/// The <c>kafka</c> resource of the managed deployment shape: Azure Event Hubs' Kafka endpoint (Standard tier or above),
/// or any Kafka cluster that takes SASL PLAIN over TLS.
/// </summary>
public static class EventHubsKafkaBuilderExtensions
{
    /// <summary>
    /// A secret connection-string parameter holding the bootstrap servers (<c>&lt;namespace&gt;.servicebus.windows.net:9093</c>),
    /// and a secret parameter <c>{name}-sasl-password</c> holding the namespace's connection string. Event Hubs takes the
    /// literal user name <c>$ConnectionString</c> with the connection string as the password.
    /// </summary>
    public static IResourceBuilder<IResourceWithConnectionString> AddEventHubsKafka(this IDistributedApplicationBuilder builder, string name)
    {
        var saslPassword = builder.AddParameter($"{name}-sasl-password", secret: true);
        var kafka = builder.AddConnectionString(name);
        foreach (var setting in ClientSettings(saslPassword))
        {
            kafka.WithAnnotation(setting);
        }

        return kafka;
    }

    /// <summary>
    /// What Event Hubs' Kafka endpoint needs from librdkafka. It closes connections idle for 240 s, so metadata is refreshed
    /// sooner than that and sockets are kept alive; its request and session timeouts are longer than Kafka's defaults.
    /// Values are spelt as librdkafka documents them (<c>sasl_ssl</c>), which Confluent.Kafka's typed properties also read.
    /// </summary>
    private static IEnumerable<KafkaClientSettingAnnotation> ClientSettings(IResourceBuilder<ParameterResource> saslPassword) =>
    [
        KafkaClientSettingAnnotation.Plain(KafkaClients.All, "security.protocol", "sasl_ssl"),
        KafkaClientSettingAnnotation.Plain(KafkaClients.All, "sasl.mechanism", "PLAIN"),
        KafkaClientSettingAnnotation.Plain(KafkaClients.All, "sasl.username", "$ConnectionString"),
        KafkaClientSettingAnnotation.FromSecret(KafkaClients.All, "sasl.password", saslPassword),
        KafkaClientSettingAnnotation.Plain(KafkaClients.All, "socket.keepalive.enable", "true"),
        KafkaClientSettingAnnotation.Plain(KafkaClients.All, "metadata.max.age.ms", "180000"),
        KafkaClientSettingAnnotation.Plain(KafkaClients.Producer, "request.timeout.ms", "60000"),
        KafkaClientSettingAnnotation.Plain(KafkaClients.Consumer, "session.timeout.ms", "30000"),
    ];
}
