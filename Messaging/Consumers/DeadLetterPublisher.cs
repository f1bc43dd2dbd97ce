using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using ShopChoreography.Messaging.Kafka;
using ShopChoreography.Messaging.Telemetry;

namespace ShopChoreography.Messaging.Consumers;

/// <summary>The headers a dead letter carries besides the original record's headers, key and value.</summary>
public static class DeadLetterHeaders
{
    public const string Reason = "dlq-reason";

    /// <summary>Why the record can never succeed: one of the <see cref="DeadLetterCategory"/> values, in kebab case.</summary>
    public const string Category = "dlq-category";

    public const string ExceptionType = "dlq-exception-type";
    public const string OriginalTopic = "dlq-original-topic";
    public const string OriginalPartition = "dlq-original-partition";
    public const string OriginalOffset = "dlq-original-offset";
    public const string Consumer = "dlq-consumer";
    public const string Attempts = "dlq-attempts";
    public const string Time = "dlq-time";

    /// <summary>The <c>dlq-category</c> header value: <c>invalid-cloudevent</c>, <c>invalid-data</c>, <c>rejected</c>, <c>handler-failed</c>.</summary>
    public static string CategoryValue(DeadLetterCategory category) => category switch
    {
        DeadLetterCategory.InvalidCloudEvent => "invalid-cloudevent",
        DeadLetterCategory.InvalidData => "invalid-data",
        DeadLetterCategory.Rejected => "rejected",
        _ => "handler-failed",
    };
}

/// <summary>What a dead letter is: only records that can never succeed go to the dead-letter topic, never an outage.</summary>
public enum DeadLetterCategory
{
    /// <summary>The record is not a valid CloudEvent.</summary>
    InvalidCloudEvent,

    /// <summary>A CloudEvent of a handled type whose data does not parse, or that the database refuses as data.</summary>
    InvalidData,

    /// <summary>The handler rejected the event by its rules.</summary>
    Rejected,

    /// <summary>An unexpected error that persisted through the retry budget while the database answered.</summary>
    HandlerFailed,
}

/// <summary>
/// Sends a record the service cannot use to <c>{service}.dlq</c>. It keeps trying while Kafka is unreachable:
/// the consumer moves past the record only once its dead letter is safely stored.
/// </summary>
internal sealed class DeadLetterPublisher(
    IProducer<string?, byte[]?> producer, IOptions<MessagingOptions> options, MessagingTelemetry telemetry, TimeProvider clock,
    ILogger<DeadLetterPublisher> logger)
{
    private readonly ResiliencePipeline _untilStored = KafkaRetry.UntilAcknowledged(logger, "Storing a dead letter");

    public async Task PublishAsync(ConsumeResult<string?, byte[]?> record, DeadLetterCategory category, string reason,
        Exception? exception, int attempts, CancellationToken cancellationToken)
    {
        var headers = new Headers();
        foreach (var header in record.Message.Headers ?? [])
        {
            headers.Add(header.Key, header.GetValueBytes());
        }

        Add(headers, DeadLetterHeaders.Reason, reason);
        Add(headers, DeadLetterHeaders.Category, DeadLetterHeaders.CategoryValue(category));
        Add(headers, DeadLetterHeaders.ExceptionType, exception?.GetType().FullName ?? "");
        Add(headers, DeadLetterHeaders.OriginalTopic, record.Topic);
        Add(headers, DeadLetterHeaders.OriginalPartition, record.Partition.Value.ToString(CultureInfo.InvariantCulture));
        Add(headers, DeadLetterHeaders.OriginalOffset, record.Offset.Value.ToString(CultureInfo.InvariantCulture));
        Add(headers, DeadLetterHeaders.Consumer, options.Value.ServiceName);
        Add(headers, DeadLetterHeaders.Attempts, attempts.ToString(CultureInfo.InvariantCulture));
        Add(headers, DeadLetterHeaders.Time, clock.GetUtcNow().ToString("O", CultureInfo.InvariantCulture));

        var deadLetter = new Message<string?, byte[]?> { Key = record.Message.Key, Value = record.Message.Value, Headers = headers };
        await _untilStored.ExecuteAsync(async token =>
            await producer.ProduceAsync(options.Value.DeadLetterTopic, deadLetter, token), cancellationToken);
        telemetry.DeadLettered.Add(1,
            new KeyValuePair<string, object?>("messaging.destination.name", record.Topic),
            new KeyValuePair<string, object?>("dlq.category", DeadLetterHeaders.CategoryValue(category)));
        logger.LogWarning(exception, "Dead-lettered {Topic}[{Partition}]@{Offset} to {DeadLetterTopic} ({Category}): {Reason}",
            record.Topic, record.Partition.Value, record.Offset.Value, options.Value.DeadLetterTopic, DeadLetterHeaders.CategoryValue(category), reason);
    }

    private static void Add(Headers headers, string name, string value) => headers.Add(name, Encoding.UTF8.GetBytes(value));
}
