using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;

namespace ShopChoreography.ServiceDefaults.Messaging.Consumers;

/// <summary>The headers a dead letter carries besides the original record's headers, key and value.</summary>
public static class DeadLetterHeaders
{
    public const string Reason = "dlq-reason";
    public const string ExceptionType = "dlq-exception-type";
    public const string OriginalTopic = "dlq-original-topic";
    public const string OriginalPartition = "dlq-original-partition";
    public const string OriginalOffset = "dlq-original-offset";
    public const string Consumer = "dlq-consumer";
    public const string Attempts = "dlq-attempts";
    public const string Time = "dlq-time";
}

/// <summary>
/// Sends a record the service cannot use to <c>{service}.dlq</c>. It keeps trying while Kafka is unreachable:
/// the consumer moves past the record only once its dead letter is safely stored.
/// </summary>
internal sealed class DeadLetterPublisher(
    IProducer<string?, byte[]?> producer, IOptions<MessagingOptions> options, TimeProvider clock, ILogger<DeadLetterPublisher> logger)
{
    private readonly ResiliencePipeline _untilStored = KafkaRetry.UntilAcknowledged(logger, "Storing a dead letter");

    public async Task PublishAsync(ConsumeResult<string?, byte[]?> record, string reason, Exception? exception, int attempts,
        CancellationToken cancellationToken)
    {
        var headers = new Headers();
        foreach (var header in record.Message.Headers ?? [])
        {
            headers.Add(header.Key, header.GetValueBytes());
        }

        Add(headers, DeadLetterHeaders.Reason, reason);
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
        logger.LogWarning(exception, "Dead-lettered {Topic}[{Partition}]@{Offset} to {DeadLetterTopic}: {Reason}",
            record.Topic, record.Partition.Value, record.Offset.Value, options.Value.DeadLetterTopic, reason);
    }

    private static void Add(Headers headers, string name, string value) => headers.Add(name, Encoding.UTF8.GetBytes(value));
}
