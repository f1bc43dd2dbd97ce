using Confluent.Kafka;
using ShopChoreography.Contracts;

namespace ShopChoreography.Tests.Support;

/// <summary>
/// The services' consumer groups, each named after its service, with the event topics each consumes (as the services
/// register their handlers), and where each group has committed.
/// </summary>
public static class ConsumerGroups
{
    public static readonly IReadOnlyDictionary<string, string[]> TopicsOf = new Dictionary<string, string[]>
    {
        ["orders"] = [Topics.PaymentsEvents, Topics.InventoryEvents],
        ["payments"] = [Topics.OrdersEvents, Topics.InventoryEvents],
        ["inventory"] = [Topics.PaymentsEvents],
    };

    public static IReadOnlyList<string> ConsumersOf(string topic) =>
        [.. TopicsOf.Where(group => group.Value.Contains(topic)).Select(group => group.Key)];

    /// <summary>The group's committed offset (the next record it will read) per partition; 0 where it never committed.</summary>
    public static async Task<Dictionary<TopicPartition, long>> CommittedAsync(IAdminClient admin, string group, IEnumerable<TopicPartition> partitions) =>
        (await admin.ListConsumerGroupOffsetsAsync([new ConsumerGroupTopicPartitions(group, [.. partitions])]))
        .Single().Partitions.ToDictionary(p => p.TopicPartition, p => Math.Max(p.Offset.Value, 0));

    /// <summary>
    /// How far each group is behind the end of its topics, partition by partition ("payments: orders.events[3] 120
    /// behind"); empty once every group has committed up to the end, that is once the system has nothing left to do.
    /// </summary>
    public static async Task<string> BacklogAsync(string bootstrapServers)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
        using var watermarks = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = $"backlog-probe-{Guid.NewGuid():N}", // required by the client; never joined
        }).Build();
        var behind = new List<string>();
        foreach (var (group, topics) in TopicsOf)
        {
            var partitions = topics.SelectMany(topic => Enumerable.Range(0, Topics.Partitions).Select(p => new TopicPartition(topic, p))).ToList();
            var committed = await CommittedAsync(admin, group, partitions);
            foreach (var partition in partitions)
            {
                var end = watermarks.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(10)).High.Value;
                if (end > committed.GetValueOrDefault(partition))
                {
                    behind.Add($"{group}: {partition.Topic}[{partition.Partition.Value}] {end - committed.GetValueOrDefault(partition)} behind");
                }
            }
        }

        return string.Join("; ", behind);
    }
}
