namespace ShopChoreography.AppHost.Infrastructure.Kafka;

/// <summary>Which of a service's Kafka clients a setting is for.</summary>
[Flags]
public enum KafkaClients
{
    Producer = 1,
    Consumer = 2,
    All = Producer | Consumer,
}

/// <summary>
/// A librdkafka property that every client of a Kafka resource needs (the mock broker's fetch tuning, Event Hubs' SASL
/// settings). <see cref="KafkaBuilderExtensions.WithKafka"/> passes it to each service that references the resource, as
/// <c>Aspire:Confluent:Kafka:{Producer|Consumer}:Config:{property}</c>. A secret is a <see cref="ParameterResource"/>,
/// so it is published as a reference to a secret parameter and never as a plain value.
/// </summary>
public sealed class KafkaClientSettingAnnotation : IResourceAnnotation
{
    private KafkaClientSettingAnnotation(KafkaClients clients, string property, string? value, IResourceBuilder<ParameterResource>? secret)
    {
        Clients = clients;
        Property = property;
        Value = value;
        Secret = secret;
    }

    public KafkaClients Clients { get; }

    public string Property { get; }

    public string? Value { get; }

    public IResourceBuilder<ParameterResource>? Secret { get; }

    public static KafkaClientSettingAnnotation Plain(KafkaClients clients, string property, string value) =>
        new(clients, property, value, null);

    public static KafkaClientSettingAnnotation FromSecret(KafkaClients clients, string property, IResourceBuilder<ParameterResource> secret) =>
        new(clients, property, null, secret);

    /// <summary>The environment variables that carry the setting, one per client.</summary>
    public IEnumerable<string> EnvironmentVariables()
    {
        if (Clients.HasFlag(KafkaClients.Producer))
        {
            yield return $"Aspire__Confluent__Kafka__Producer__Config__{Property}";
        }

        if (Clients.HasFlag(KafkaClients.Consumer))
        {
            yield return $"Aspire__Confluent__Kafka__Consumer__Config__{Property}";
        }
    }
}
