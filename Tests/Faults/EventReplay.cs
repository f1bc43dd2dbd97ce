using System.Text;
using Confluent.Kafka;
using ShopChoreography.Contracts;
using ShopChoreography.Messaging;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Faults;

/// <summary>A record the test wrote to an event topic that no consumer can use, and the services that consume that topic.</summary>
public sealed record InjectedPoison(string Id, string Kind, string Topic, int Partition, long Offset, IReadOnlyList<string> Consumers)
{
    public override string ToString() => $"{Kind} {Id} on {Topic}[{Partition}]@{Offset}";
}

/// <summary>
/// Writes to the saga's topics behind the services' backs: redeliveries of real events, and poison records.
/// </summary>
public sealed class EventReplay(string bootstrapServers) : IDisposable
{
    /// <summary>Marks the poison records; a dead letter keeps the original headers, so it is known by it too.</summary>
    public const string PoisonHeader = "fault-matrix-poison";

    public const string NotACloudEvent = "not-a-cloudevent";
    public const string UndecodableData = "undecodable-data";

    /// <summary>Each event topic and an event type on it that every consumer of the topic handles.</summary>
    private static readonly (string Topic, string HandledType)[] EventTopics =
    [
        (Topics.OrdersEvents, EventTypes.TypeOf<OrderCreated>()),
        (Topics.PaymentsEvents, EventTypes.TypeOf<PaymentSucceeded>()),
        (Topics.InventoryEvents, EventTypes.TypeOf<InventoryReservationFailed>()),
    ];

    private readonly IProducer<string?, byte[]?> _producer = new ProducerBuilder<string?, byte[]?>(new ProducerConfig
    {
        BootstrapServers = bootstrapServers,
        EnableIdempotence = true,
        Acks = Acks.All,
    }).Build();

    private readonly HashSet<string> _deliveredAgain = [];

    /// <summary>
    /// Produces every event of these orders found on the event topics once more, unchanged (key, value, headers,
    /// partition): what consumers see after a producer retry, an outbox resend or a rebalance. An event already
    /// delivered again by an earlier call is not repeated, so each event reaches its consumers exactly twice.
    /// Returns how many copies were written.
    /// </summary>
    public async Task<int> DeliverAgainAsync(IReadOnlyCollection<Guid> orderIds)
    {
        var orders = orderIds.ToHashSet();
        var copies = new List<Task>();
        foreach (var (topic, _) in EventTopics)
        {
            // The whole topic, as long as every earlier test in the run made it: after the full matrix, over 100,000
            // records, which a slow machine reads in more than two minutes.
            var events = TopicReader.ReadUntil(bootstrapServers, topic, _ => true, TimeSpan.FromMinutes(10), atEnd: true)
                .Where(record => Guid.TryParse(record.Message.Key, out var orderId) && orders.Contains(orderId)
                                 && record.Header("ce_id") is { } eventId && _deliveredAgain.Add(eventId));
            foreach (var record in events)
            {
                var headers = new Headers();
                foreach (var header in record.Message.Headers)
                {
                    headers.Add(header.Key, header.GetValueBytes());
                }

                // Produced without waiting for each acknowledgement: the producer keeps them in order per partition.
                copies.Add(_producer.ProduceAsync(record.TopicPartition,
                    new Message<string?, byte[]?> { Key = record.Message.Key, Value = record.Message.Value, Headers = headers }));
            }
        }

        await Task.WhenAll(copies);
        return copies.Count;
    }

    /// <summary>
    /// Writes two poison records to every partition of every event topic: one that is not a CloudEvent at all, and a
    /// valid CloudEvent of a type the topic's consumers handle whose data is not JSON. Each consumer must dead-letter
    /// each of them once and move on.
    /// </summary>
    public async Task<IReadOnlyList<InjectedPoison>> InjectPoisonAsync(int partitions)
    {
        var poison = new List<InjectedPoison>();
        foreach (var (topic, handledType) in EventTopics)
        {
            for (var partition = 0; partition < partitions; partition++)
            {
                foreach (var kind in new[] { NotACloudEvent, UndecodableData })
                {
                    var id = $"poison-{Guid.NewGuid():N}";
                    var headers = new Headers { { PoisonHeader, Encoding.UTF8.GetBytes(id) } };
                    if (kind == UndecodableData)
                    {
                        headers.Add("ce_specversion", "1.0"u8.ToArray());
                        headers.Add("ce_id", Encoding.UTF8.GetBytes(id));
                        headers.Add("ce_source", "/fault-matrix"u8.ToArray());
                        headers.Add("ce_type", Encoding.UTF8.GetBytes(handledType));
                        headers.Add("content-type", "application/json"u8.ToArray());
                    }

                    var value = kind == UndecodableData ? """{"orderId": """u8.ToArray() : [0x00, 0xFF, 0x13, 0x37];
                    var delivered = await _producer.ProduceAsync(new TopicPartition(topic, partition),
                        new Message<string?, byte[]?> { Key = id, Value = value, Headers = headers });
                    poison.Add(new InjectedPoison(id, kind, topic, partition, delivered.Offset.Value, ConsumerGroups.ConsumersOf(topic)));
                }
            }
        }

        return poison;
    }

    /// <summary>
    /// The consumer groups that have not committed past a poison record they consume yet: each entry names the group,
    /// the partition, its committed offset and the poison's. Empty once every partition has moved on.
    /// </summary>
    public static async Task<string> ConsumersNotPastAsync(string bootstrapServers, IReadOnlyList<InjectedPoison> poison)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
        var notPast = new List<string>();
        var lastPoison = poison
            .SelectMany(p => p.Consumers.Select(group => (Group: group, Partition: new TopicPartition(p.Topic, p.Partition), p.Offset)))
            .GroupBy(p => p.Group);
        foreach (var group in lastPoison)
        {
            var offsets = group.GroupBy(p => p.Partition).ToDictionary(p => p.Key, p => p.Max(x => x.Offset));
            var committed = await ConsumerGroups.CommittedAsync(admin, group.Key, offsets.Keys);
            notPast.AddRange(offsets
                .Where(p => committed.GetValueOrDefault(p.Key) <= p.Value)
                .Select(p => $"{group.Key} committed {p.Key.Topic}[{p.Key.Partition.Value}] at {committed.GetValueOrDefault(p.Key)}, poison at {p.Value}"));
        }

        return string.Join("; ", notPast);
    }

    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(10));
        _producer.Dispose();
    }
}
