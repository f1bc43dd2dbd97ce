namespace ShopChoreography.Messaging;

public sealed class MessagingOptions
{
    /// <summary>The connection whose string is the Kafka cluster's bootstrap servers.</summary>
    public const string KafkaConnectionName = "kafka";

    /// <summary>Names the consumer group, the inbox's consumer and the dead-letter topic (<c>{service}.dlq</c>).</summary>
    public string ServiceName { get; set; } = "";

    /// <summary>The topic this service's events go to, and their CloudEvent <c>source</c>.</summary>
    public string? PublishTopic { get; set; }

    public string? Source { get; set; }

    public string DeadLetterTopic => DeadLetterTopicOf(ServiceName);

    /// <summary>The dead-letter topic of a service: <c>&lt;service&gt;.dlq</c>.</summary>
    public static string DeadLetterTopicOf(string serviceName) => $"{serviceName}.dlq";

    public OutboxOptions Outbox { get; } = new();

    public InboxOptions Inbox { get; } = new();

    public ConsumerOptions Consumer { get; } = new();

    public OperationsOptions Operations { get; } = new();

    public MessagingHealthOptions Health { get; } = new();
}

/// <summary>When <c>/health</c> turns Degraded: the service works, but it is falling behind.</summary>
public sealed class MessagingHealthOptions
{
    /// <summary>Outbox rows not yet published.</summary>
    public int MaxOutboxBacklog { get; set; } = 5000;

    /// <summary>Records between the consumer's position and the end of its partitions, all partitions together.</summary>
    public long MaxConsumerLag { get; set; } = 5000;
}

public sealed class OutboxOptions
{
    /// <summary>The dispatcher wakes as soon as outbox rows commit (see <c>OutboxSignal</c>); this is the fallback should a wake-up be lost.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    public int BatchSize { get; set; } = 500;

    /// <summary>How long sent rows are kept (for inspection) before they are deleted.</summary>
    public TimeSpan SentRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often a replica that is not the active dispatcher checks whether it can take over.</summary>
    public TimeSpan StandbyInterval { get; set; } = TimeSpan.FromSeconds(2);
}

public sealed class InboxOptions
{
    /// <summary>
    /// How long a consumed event id is remembered. Longer than the topics' retention (Kafka's default is 7 days),
    /// so a replay or a rebalance that redelivers old records still finds them.
    /// </summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(14);

    public TimeSpan CleanupInterval { get; set; } = TimeSpan.FromHours(1);
}

public sealed class ConsumerOptions
{
    /// <summary>Records fetched but not yet applied, per partition, before the partition is paused.</summary>
    public int MaxInFlightPerPartition { get; set; } = 200;

    /// <summary>
    /// Retries of an unexpected handler failure, counted only while the database answers, before the event is
    /// dead-lettered. An outage (the database or Kafka unavailable, a timeout, a deadlock) is never counted: it is waited out.
    /// </summary>
    public int MaxRetryAttempts { get; set; } = 8;

    /// <summary>The first retry's delay; each next one doubles (with jitter) up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest wait between two tries, so a partition resumes within this long after an outage ends.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(2);
}

public sealed class OperationsOptions
{
    /// <summary>
    /// Maps the operator endpoints (<c>/operations/...</c>: dead letters on every service, stuck orders on Orders).
    /// They change what the system does: keep them off public ingress, or turn them off here where operators have no
    /// private route.
    /// </summary>
    public bool MapEndpoints { get; set; } = true;

    /// <summary>How long listing or replaying may take to read the dead-letter topic before giving up.</summary>
    public TimeSpan DeadLetterReadTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
