using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json;

namespace ShopChoreography.Messaging.Kafka;

/// <summary>
/// Metrics from librdkafka's periodic statistics (statistics.interval.ms): queue depth, traffic and consumer lag
/// per partition, tagged with the client's name.
/// </summary>
public sealed class KafkaClientMetrics
{
    public const string MeterName = "ShopChoreography.Kafka";

    private readonly ConcurrentDictionary<string, Snapshot> _latest = new();

    public KafkaClientMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableGauge("messaging.kafka.client.queue.messages", () => Measure(s => s.QueuedMessages),
            "{message}", "Messages waiting in the client's queues.");
        meter.CreateObservableGauge("messaging.kafka.client.queue.size", () => Measure(s => s.QueuedBytes),
            "By", "Bytes of the messages waiting in the client's queues.");
        meter.CreateObservableCounter("messaging.kafka.client.requests.sent", () => Measure(s => s.RequestsSent),
            "{request}", "Requests sent to brokers.");
        meter.CreateObservableCounter("messaging.kafka.client.bytes.sent", () => Measure(s => s.BytesSent),
            "By", "Bytes sent to brokers.");
        meter.CreateObservableCounter("messaging.kafka.client.bytes.received", () => Measure(s => s.BytesReceived),
            "By", "Bytes received from brokers.");
        meter.CreateObservableGauge("messaging.kafka.consumer.lag", MeasureLag,
            "{message}", "Messages between the consumer's position and the end of each assigned partition.");
    }

    /// <summary>The consumer lag of every assigned partition added up, as of the latest statistics reports.</summary>
    public long ConsumerLag => _latest.Values.Sum(client => client.Lag.Sum(partition => partition.Lag));

    /// <summary>Records one statistics report (librdkafka's JSON).</summary>
    public void Record(string statisticsJson)
    {
        using var document = JsonDocument.Parse(statisticsJson);
        var root = document.RootElement;
        var lag = new List<(string Topic, int Partition, long Lag)>();
        if (root.TryGetProperty("topics", out var topics))
        {
            foreach (var topic in topics.EnumerateObject())
            {
                foreach (var partition in topic.Value.GetProperty("partitions").EnumerateObject())
                {
                    // Partition -1 is librdkafka's internal unassigned queue; a lag of -1 means unknown.
                    if (int.TryParse(partition.Name, out var id) && id >= 0 &&
                        partition.Value.TryGetProperty("consumer_lag", out var consumerLag) && consumerLag.GetInt64() >= 0)
                    {
                        lag.Add((topic.Name, id, consumerLag.GetInt64()));
                    }
                }
            }
        }

        var client = root.GetProperty("name").GetString() ?? "unknown";
        _latest[client] = new Snapshot(
            root.GetProperty("msg_cnt").GetInt64(), root.GetProperty("msg_size").GetInt64(),
            root.GetProperty("tx").GetInt64(), root.GetProperty("tx_bytes").GetInt64(), root.GetProperty("rx_bytes").GetInt64(),
            lag);
    }

    private IEnumerable<Measurement<long>> Measure(Func<Snapshot, long> value) =>
        _latest.Select(client => new Measurement<long>(value(client.Value), new KeyValuePair<string, object?>("messaging.client.id", client.Key)));

    private IEnumerable<Measurement<long>> MeasureLag() =>
        _latest.SelectMany(client => client.Value.Lag.Select(partition => new Measurement<long>(partition.Lag,
            new("messaging.client.id", client.Key),
            new("messaging.destination.name", partition.Topic),
            new("messaging.destination.partition.id", partition.Partition.ToString(System.Globalization.CultureInfo.InvariantCulture)))));

    private sealed record Snapshot(
        long QueuedMessages, long QueuedBytes, long RequestsSent, long BytesSent, long BytesReceived,
        IReadOnlyList<(string Topic, int Partition, long Lag)> Lag);
}
