using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using ShopChoreography.Messaging.Kafka;

namespace ShopChoreography.Tests.Operations;

public sealed class KafkaClientMetricsTests
{
    private const string Statistics = """
        {
          "name": "rdkafka#consumer-1", "msg_cnt": 3, "msg_size": 300, "tx": 10, "tx_bytes": 1000, "rx_bytes": 2000,
          "topics": { "orders.events": { "partitions": {
            "0": { "consumer_lag": 5 }, "1": { "consumer_lag": -1 }, "-1": { "consumer_lag": 7 } } } }
        }
        """;

    [Fact]
    public void Statistics_become_queue_traffic_and_known_consumer_lag_per_partition()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new KafkaClientMetrics(services.GetRequiredService<IMeterFactory>());
        var measured = new List<(string Instrument, long Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == KafkaClientMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            measured.Add((instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value))));
        listener.Start();

        metrics.Record(Statistics);
        listener.RecordObservableInstruments();

        Assert.Equal(3, Single(measured, "messaging.kafka.client.queue.messages").Value);
        Assert.Equal(300, Single(measured, "messaging.kafka.client.queue.size").Value);
        Assert.Equal(10, Single(measured, "messaging.kafka.client.requests.sent").Value);
        Assert.Equal(1000, Single(measured, "messaging.kafka.client.bytes.sent").Value);
        Assert.Equal(2000, Single(measured, "messaging.kafka.client.bytes.received").Value);
        var lag = Single(measured, "messaging.kafka.consumer.lag");
        Assert.Equal(5, lag.Value);
        Assert.Equal("orders.events", lag.Tags["messaging.destination.name"]);
        Assert.Equal("0", lag.Tags["messaging.destination.partition.id"]);
        Assert.Equal("rdkafka#consumer-1", lag.Tags["messaging.client.id"]);
    }

    private static (string Instrument, long Value, Dictionary<string, object?> Tags) Single(
        List<(string Instrument, long Value, Dictionary<string, object?> Tags)> measured, string instrument) =>
        Assert.Single(measured, m => m.Instrument == instrument);
}
