using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ShopChoreography.Messaging.CloudEvents;
using ShopChoreography.Messaging.Consumers;
using ShopChoreography.Messaging.Kafka;

namespace ShopChoreography.Messaging.DeadLetters;

/// <summary>
/// Lists the service's dead letters and puts chosen ones back on their original topic once the cause is fixed.
/// The dead-letter topic is read from its beginning up to its end as it was when the call started, with its
/// partitions assigned directly: no consumer group joins and nothing is committed, so reading never moves anyone's
/// offsets. A replay produces the original record (key, value, headers without the <c>dlq-*</c> ones), so its
/// CloudEvent id is unchanged and every consumer's inbox applies it at most once, however often it is replayed.
/// </summary>
public sealed class DeadLetterReplay
{
    private const string DeadLetterHeaderPrefix = "dlq-";

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    private readonly IProducer<string?, byte[]?> _producer;
    private readonly ConsumerConfig _readerConfig;
    private readonly string _topic;
    private readonly TimeSpan _readTimeout;
    private readonly ILogger<DeadLetterReplay> _logger;

    public DeadLetterReplay(IProducer<string?, byte[]?> producer, IConfiguration configuration, IOptions<MessagingOptions> options,
        ILogger<DeadLetterReplay> logger)
    {
        var consumerSettings = new KafkaConsumerSettings();
        consumerSettings.Bind(configuration, KafkaConsumerSettings.SectionName, MessagingOptions.KafkaConnectionName);
        _readerConfig = new ConsumerConfig(consumerSettings.Config.ToDictionary(setting => setting.Key, setting => setting.Value))
        {
            // librdkafka wants a group id to consume at all; with assigned partitions and no commits the broker never
            // hears of it.
            GroupId = $"{options.Value.ServiceName}.dlq-reader",
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            EnablePartitionEof = true,
            StatisticsIntervalMs = 0,
        };
        _producer = producer;
        _topic = options.Value.DeadLetterTopic;
        _readTimeout = options.Value.Operations.DeadLetterReadTimeout;
        _logger = logger;
    }

    /// <summary>The dead letters that match <paramref name="filter"/>, in dead-letter partition and offset order.</summary>
    /// <exception cref="TimeoutException">The dead-letter topic could not be read to its end in time.</exception>
    /// <exception cref="KafkaException">Kafka refused the read.</exception>
    public async Task<DeadLetterListing> ListAsync(DeadLetterFilter filter, CancellationToken cancellationToken)
    {
        var matched = await ReadAsync(filter, cancellationToken);
        return new DeadLetterListing(matched.Count, [.. matched.Select(record => record.DeadLetter)]);
    }

    /// <summary>
    /// Produces every dead letter matching <paramref name="filter"/> back to the partition of its original topic it was
    /// consumed from, with the service's idempotent producer, and waits for Kafka's acknowledgements.
    /// </summary>
    /// <exception cref="TimeoutException">The dead-letter topic could not be read to its end in time.</exception>
    /// <exception cref="KafkaException">Kafka refused the read.</exception>
    public async Task<DeadLetterReplayResult> ReplayAsync(DeadLetterFilter filter, CancellationToken cancellationToken)
    {
        var matched = await ReadAsync(filter, cancellationToken);

        // Every record is handed to the producer before any acknowledgement is awaited, in dead-letter order: the
        // idempotent producer keeps that order per partition, so the dead letters of one key (which share a
        // dead-letter partition) go back in the order they failed.
        var replays = matched.Select(record => PutBackAsync(record, cancellationToken)).ToList();
        var outcomes = await Task.WhenAll(replays);

        var replayed = outcomes.Count(outcome => outcome.ReplayedTo is not null);
        _logger.LogInformation("Replayed {Replayed} of {Matched} dead letter(s) of {DeadLetterTopic} matching {Filter}",
            replayed, matched.Count, _topic, filter);
        return new DeadLetterReplayResult(matched.Count, replayed, outcomes);
    }

    private async Task<DeadLetter> PutBackAsync(DeadLetterRecord record, CancellationToken cancellationToken)
    {
        var deadLetter = record.DeadLetter;
        if (string.IsNullOrEmpty(deadLetter.OriginalTopic))
        {
            return deadLetter with { ReplayFailure = $"no {DeadLetterHeaders.OriginalTopic} header: the original topic is unknown" };
        }

        var original = new Message<string?, byte[]?>
        {
            Key = record.Message.Key,
            Value = record.Message.Value,
            Headers = WithoutDeadLetterHeaders(record.Message.Headers),
        };
        // The partition it was consumed from, rather than the one our partitioner picks for the key: the original
        // producer may partition differently, and the key's other events are on that partition.
        var destination = new TopicPartition(deadLetter.OriginalTopic,
            deadLetter.OriginalPartition is { } partition ? new Partition(partition) : Partition.Any);
        try
        {
            var delivery = await _producer.ProduceAsync(destination, original, cancellationToken);
            _logger.LogInformation("Replayed dead letter {DeadLetterTopic}[{Partition}]@{Offset} (event {EventId}) to {Topic}[{ReplayedPartition}]@{ReplayedOffset}",
                _topic, deadLetter.Partition, deadLetter.Offset, deadLetter.EventId, delivery.Topic, delivery.Partition.Value, delivery.Offset.Value);
            return deadLetter with { ReplayedTo = new KafkaPosition(delivery.Topic, delivery.Partition.Value, delivery.Offset.Value) };
        }
        catch (KafkaException ex)
        {
            _logger.LogWarning(ex, "Replaying dead letter {DeadLetterTopic}[{Partition}]@{Offset} to {Destination} failed",
                _topic, deadLetter.Partition, deadLetter.Offset, destination);
            return deadLetter with { ReplayFailure = ex.Error.Reason };
        }
    }

    private Task<List<DeadLetterRecord>> ReadAsync(DeadLetterFilter filter, CancellationToken cancellationToken) =>
        // librdkafka's calls block: keep them off the request's thread.
        Task.Run(() => Read(filter, cancellationToken), cancellationToken);

    private List<DeadLetterRecord> Read(DeadLetterFilter filter, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        TimeSpan Remaining()
        {
            var left = _readTimeout - Stopwatch.GetElapsedTime(started);
            // Never handed over as zero or less: librdkafka reads a negative timeout as "wait forever".
            return left > TimeSpan.Zero
                ? left
                : throw new TimeoutException($"'{_topic}' could not be read to its end within {_readTimeout.TotalSeconds:0.#} s.");
        }

        using var consumer = new ConsumerBuilder<string?, byte[]?>(_readerConfig)
            .SetLogHandler((_, message) => _logger.Log((LogLevel)message.LevelAs(LogLevelType.MicrosoftExtensionsLogging),
                "{Facility} {Client}: {Message}", message.Facility, message.Name, message.Message))
            .Build();
        var matched = new List<DeadLetterRecord>();
        try
        {
            var ends = EndsOfPartitions(consumer, Remaining);
            consumer.Assign(ends.Keys.Select(partition => new TopicPartitionOffset(_topic, partition, Offset.Beginning)));
            while (ends.Count > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var wait = Remaining();
                if (consumer.Consume(wait < PollInterval ? wait : PollInterval) is not { } record || !ends.TryGetValue(record.Partition.Value, out var end))
                {
                    continue;
                }

                if (!record.IsPartitionEOF && record.Offset.Value < end)
                {
                    var deadLetter = Describe(record);
                    if (filter.Matches(deadLetter))
                    {
                        matched.Add(new DeadLetterRecord(deadLetter, record.Message));
                    }
                }

                var next = record.IsPartitionEOF ? record.Offset.Value : record.Offset.Value + 1;
                if (next >= end)
                {
                    ends.Remove(record.Partition.Value);
                }
            }
        }
        finally
        {
            consumer.Close();
        }

        matched.Sort((a, b) => (a.DeadLetter.Partition, a.DeadLetter.Offset).CompareTo((b.DeadLetter.Partition, b.DeadLetter.Offset)));
        return matched;
    }

    /// <summary>The end offset (high watermark) of each partition that holds records now; later dead letters are not read.</summary>
    private Dictionary<int, long> EndsOfPartitions(IConsumer<string?, byte[]?> consumer, Func<TimeSpan> remaining)
    {
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        var topic = admin.GetMetadata(_topic, remaining()).Topics.Single();
        if (topic.Error.Code == ErrorCode.UnknownTopicOrPart)
        {
            return []; // no dead letter was ever written
        }

        if (topic.Error.IsError)
        {
            throw new KafkaException(topic.Error);
        }

        var ends = new Dictionary<int, long>();
        foreach (var partition in topic.Partitions)
        {
            var watermarks = consumer.QueryWatermarkOffsets(new TopicPartition(_topic, partition.PartitionId), remaining());
            if (watermarks.High.Value > watermarks.Low.Value)
            {
                ends[partition.PartitionId] = watermarks.High.Value;
            }
        }

        return ends;
    }

    private static DeadLetter Describe(ConsumeResult<string?, byte[]?> record)
    {
        var headers = record.Message.Headers ?? [];
        var (eventId, type) = EventIdentity(record.Message, headers);
        return new DeadLetter(
            record.Partition.Value,
            record.Offset.Value,
            HeaderText(headers, DeadLetterHeaders.OriginalTopic),
            int.TryParse(HeaderText(headers, DeadLetterHeaders.OriginalPartition), NumberStyles.None, CultureInfo.InvariantCulture, out var partition)
                ? partition : null,
            long.TryParse(HeaderText(headers, DeadLetterHeaders.OriginalOffset), NumberStyles.None, CultureInfo.InvariantCulture, out var offset)
                ? offset : null,
            record.Message.Key,
            eventId,
            type,
            HeaderText(headers, DeadLetterHeaders.Reason),
            HeaderText(headers, DeadLetterHeaders.Category),
            DateTimeOffset.TryParse(HeaderText(headers, DeadLetterHeaders.Time), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var time)
                ? time : null);
    }

    /// <summary>The CloudEvent's id and type in either content mode; from the raw headers when it is not a valid CloudEvent.</summary>
    private static (string? Id, string? Type) EventIdentity(Message<string?, byte[]?> message, Headers headers)
    {
        try
        {
            var cloudEvent = KafkaCloudEventBinding.ToCloudEvent(message);
            return (cloudEvent.Id, cloudEvent.Type);
        }
        catch (InvalidCloudEventException)
        {
            return (HeaderText(headers, KafkaCloudEventBinding.HeaderPrefix + "id"), HeaderText(headers, KafkaCloudEventBinding.HeaderPrefix + "type"));
        }
    }

    private static string? HeaderText(Headers headers, string name)
    {
        var value = headers.LastOrDefault(header => string.Equals(header.Key, name, StringComparison.OrdinalIgnoreCase))?.GetValueBytes();
        return value is null ? null : Encoding.UTF8.GetString(value);
    }

    private static Headers WithoutDeadLetterHeaders(Headers? headers)
    {
        var original = new Headers();
        foreach (var header in headers ?? [])
        {
            if (!header.Key.StartsWith(DeadLetterHeaderPrefix, StringComparison.OrdinalIgnoreCase))
            {
                original.Add(header.Key, header.GetValueBytes());
            }
        }

        return original;
    }

    private sealed record DeadLetterRecord(DeadLetter DeadLetter, Message<string?, byte[]?> Message);
}
