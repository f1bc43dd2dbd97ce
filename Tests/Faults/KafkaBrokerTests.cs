using Confluent.Kafka;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Faults;

[Trait("Category", "Distributed")]
[Collection(DistributedAppCollection.Name)]
public sealed class KafkaBrokerTests(DistributedAppFixture fixture)
{
    private static readonly string[] ContractTopics =
        ["orders.events", "payments.events", "inventory.events", "orders.dlq", "payments.dlq", "inventory.dlq"];

    /// <summary>
    /// The mock answers an empty fetch only when its wait expires, so every consumer polls each broker that leads one
    /// of its partitions every 10 ms: one leader keeps that to one broker per consumer.
    /// </summary>
    [Fact]
    public async Task Every_contract_topic_exists_with_12_partitions_all_led_by_broker_1()
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig
        {
            BootstrapServers = await fixture.ConnectionStringAsync("kafka"),
        }).Build();

        var metadata = admin.GetMetadata(TimeSpan.FromSeconds(10));

        foreach (var topic in ContractTopics)
        {
            var found = Assert.Single(metadata.Topics, t => t.Topic == topic);
            Assert.Equal(ErrorCode.NoError, found.Error.Code);
            Assert.Equal(12, found.Partitions.Count);
            Assert.All(found.Partitions, partition => Assert.Equal(1, partition.Leader));
        }
    }

    [Fact]
    public async Task A_message_produced_to_a_contract_topic_is_consumed_back_by_a_consumer_group()
    {
        var bootstrapServers = await fixture.ConnectionStringAsync("kafka");
        var key = Guid.NewGuid().ToString();
        var value = $"round trip {key}";

        using var producer = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
        }).Build();
        var delivered = await producer.ProduceAsync("orders.events", new Message<string, string> { Key = key, Value = value });
        Assert.Equal(PersistenceStatus.Persisted, delivered.Status);

        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = $"round-trip-{key}",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
            FetchWaitMaxMs = 10,
        }).Build();
        consumer.Subscribe("orders.events");

        var consumed = ConsumeUntil(consumer, result => result.Message.Key == key, TimeSpan.FromSeconds(30));
        consumer.Commit(consumed);

        Assert.Equal(value, consumed.Message.Value);
        Assert.Equal(delivered.TopicPartitionOffset, consumed.TopicPartitionOffset);
        var committed = Assert.Single(consumer.Committed([consumed.TopicPartition], TimeSpan.FromSeconds(10)));
        Assert.Equal(consumed.Offset + 1, committed.Offset);
        consumer.Close();
    }

    private static ConsumeResult<string, string> ConsumeUntil(
        IConsumer<string, string> consumer, Func<ConsumeResult<string, string>, bool> wanted, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { } result && wanted(result))
            {
                return result;
            }
        }

        throw new TimeoutException($"No matching message arrived within {timeout.TotalSeconds} s.");
    }
}
