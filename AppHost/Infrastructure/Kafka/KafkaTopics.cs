namespace ShopChoreography.AppHost.Infrastructure.Kafka;

/// <summary>The topics of the contract: one event topic per publishing service and one dead-letter topic per consumer.</summary>
public static class KafkaTopics
{
    public const int Partitions = 12;

    public static readonly string[] All =
    [
        "orders.events", "payments.events", "inventory.events",
        "orders.dlq", "payments.dlq", "inventory.dlq",
    ];
}
