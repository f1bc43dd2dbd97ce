using Confluent.Kafka;

namespace ShopChoreography.Tests.Support;

/// <summary>Reads a topic from the beginning of every partition, outside any consumer group.</summary>
public static class TopicReader
{
    /// <summary>
    /// Reads until <paramref name="enough"/> holds, or with <paramref name="atEnd"/> until every partition's end as
    /// it was when reading began.
    /// </summary>
    public static List<ConsumeResult<string?, byte[]?>> ReadUntil(string bootstrapServers, string topic,
        Func<IReadOnlyList<ConsumeResult<string?, byte[]?>>, bool> enough, TimeSpan? timeout = null, bool atEnd = false)
    {
        using var consumer = new ConsumerBuilder<string?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = $"reader-{Guid.NewGuid():N}", // required by the client; never joined or committed
            EnableAutoCommit = false,
            FetchWaitMaxMs = 10,
        }).Build();
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
        var partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions;
        consumer.Assign(partitions.Select(p => new TopicPartitionOffset(topic, p.PartitionId, Offset.Beginning)));
        var ends = atEnd
            ? partitions.ToDictionary(p => p.PartitionId,
                p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p.PartitionId), TimeSpan.FromSeconds(10)).High.Value)
            : null;
        var positions = partitions.ToDictionary(p => p.PartitionId, _ => 0L);

        var records = new List<ConsumeResult<string?, byte[]?>>();
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (ends is null ? !enough(records) : ends.Any(end => positions[end.Key] < end.Value))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"'{topic}' did not hold what was expected within the deadline; read {records.Count} record(s).");
            }

            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { IsPartitionEOF: false } record)
            {
                records.Add(record);
                positions[record.Partition.Value] = record.Offset.Value + 1;
            }
        }

        return records;
    }

    public static long HighWatermark(string bootstrapServers, string topic, int partition)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = $"reader-{Guid.NewGuid():N}",
        }).Build();
        return consumer.QueryWatermarkOffsets(new TopicPartition(topic, partition), TimeSpan.FromSeconds(10)).High.Value;
    }

    public static string? Header(this ConsumeResult<string?, byte[]?> record, string name) =>
        record.Message.Headers.TryGetLastBytes(name, out var value) ? System.Text.Encoding.UTF8.GetString(value) : null;
}
