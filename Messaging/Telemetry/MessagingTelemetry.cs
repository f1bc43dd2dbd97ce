using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ShopChoreography.Messaging.Telemetry;

/// <summary>Spans follow the OpenTelemetry messaging conventions; metrics cover the outbox and the consumers.</summary>
public sealed class MessagingTelemetry
{
    public const string Name = "ShopChoreography.Messaging";

    public static readonly ActivitySource ActivitySource = new(Name);

    private long _outboxPending;
    private double _outboxOldestAgeSeconds;
    private ConsumptionState _consumption = new(false, 0, 0, 0);

    public MessagingTelemetry(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(Name);
        meter.CreateObservableGauge("messaging.outbox.pending", () => Volatile.Read(ref _outboxPending),
            "{event}", "Outbox rows not yet published.");
        meter.CreateObservableGauge("messaging.outbox.oldest_pending.age", () => Volatile.Read(ref _outboxOldestAgeSeconds),
            "s", "Age of the oldest outbox row not yet published.");
        PublishDuration = meter.CreateHistogram<double>("messaging.outbox.publish.duration", "s",
            "From the outbox row's commit-time timestamp to the broker's acknowledgement.", advice: DurationBuckets.Seconds);
        OutboxParked = meter.CreateCounter<long>("messaging.outbox.parked", "{event}",
            "Outbox rows the broker refused for good (for example too large), parked with their reason.");
        Consumed = meter.CreateCounter<long>("messaging.consumer.events", "{event}",
            "Events consumed, by outcome: applied, duplicate, skipped (no handler) or dead_lettered.");
        DeadLettered = meter.CreateCounter<long>("messaging.consumer.dead_letters", "{event}",
            "Records sent to the dead-letter topic, by the topic they came from and why (dlq.category).");
        Retried = meter.CreateCounter<long>("messaging.consumer.retries", "{retry}", "Retries of transient handler failures.");
        meter.CreateObservableGauge("messaging.consumer.paused", () => Volatile.Read(ref _consumption).PausedByOperator ? 1 : 0,
            "{pause}", "1 while an operator has paused this service's consumption, else 0.");
        meter.CreateObservableGauge("messaging.consumer.paused_partitions", () => Volatile.Read(ref _consumption).PausedPartitions,
            "{partition}", "Partitions this member owns that are paused now, by an operator or by back-pressure.");
        HandlerDuration = meter.CreateHistogram<double>("messaging.consumer.handler.duration", "s",
            "Time to apply one event: inbox record, handler and commit.", advice: DurationBuckets.Seconds);
    }

    public Histogram<double> PublishDuration { get; }

    public Counter<long> OutboxParked { get; }

    public Counter<long> Consumed { get; }

    public Counter<long> DeadLettered { get; }

    public Counter<long> Retried { get; }

    public Histogram<double> HandlerDuration { get; }

    internal void ConsumptionObserved(ConsumptionState state) => Volatile.Write(ref _consumption, state);

    internal void OutboxBacklog(long pending, TimeSpan oldestAge)
    {
        Volatile.Write(ref _outboxPending, pending);
        Volatile.Write(ref _outboxOldestAgeSeconds, oldestAge.TotalSeconds);
    }
}
