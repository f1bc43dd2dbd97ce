using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using ShopChoreography.Contracts;
using ShopChoreography.Messaging;

namespace ShopChoreography.Benchmarks.Saga;

/// <summary>
/// Watches <c>orders.events</c> from its current end, as any other consumer of the contract would, and tells when
/// each order reached its terminal event. The stopwatch timestamp is taken as the record arrives.
/// </summary>
internal sealed class OrderOutcomes : IDisposable
{
    private const string Topic = Topics.OrdersEvents;
    private static readonly string Completed = EventTypes.TypeOf<OrderCompleted>();
    private static readonly string Cancelled = EventTypes.TypeOf<OrderCancelled>();

    private readonly ConcurrentDictionary<Guid, TaskCompletionSource<(string Status, long At)>> _orders = new();
    private readonly IConsumer<string, byte[]> _consumer;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _loop;

    public OrderOutcomes(string bootstrapServers)
    {
        _consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = $"bench-outcomes-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
            FetchWaitMaxMs = 5,
        }).Build();
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
        var partitions = admin.GetMetadata(Topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions
            .Select(p => new TopicPartition(Topic, p.PartitionId));
        _consumer.Assign(partitions.Select(p => new TopicPartitionOffset(p, _consumer.QueryWatermarkOffsets(p, TimeSpan.FromSeconds(10)).High)));
        _loop = new Thread(Consume) { IsBackground = true, Name = "bench-outcomes" };
        _loop.Start();
    }

    /// <summary>The status an order ended in (<see cref="OrderStatuses"/>) and the stopwatch timestamp at which it was seen.</summary>
    public Task<(string Status, long At)> OfAsync(Guid orderId) => Slot(orderId).Task;

    public int Seen => _orders.Count(o => o.Value.Task.IsCompleted);

    private TaskCompletionSource<(string, long)> Slot(Guid orderId) =>
        _orders.GetOrAdd(orderId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));

    private void Consume()
    {
        while (!_stop.IsCancellationRequested)
        {
            ConsumeResult<string, byte[]>? record;
            try
            {
                record = _consumer.Consume(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var type = record.Message.Headers.TryGetLastBytes("ce_type", out var bytes) ? Encoding.UTF8.GetString(bytes) : null;
            if ((type == Completed || type == Cancelled) && Guid.TryParse(record.Message.Key, out var orderId))
            {
                Slot(orderId).TrySetResult((type == Completed ? OrderStatuses.Completed : OrderStatuses.Cancelled, Stopwatch.GetTimestamp()));
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _loop.Join();
        _consumer.Close();
        _consumer.Dispose();
        _stop.Dispose();
    }
}
