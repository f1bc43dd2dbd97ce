using System.Text;
using CloudNative.CloudEvents;
using CloudNative.CloudEvents.Extensions;
using Confluent.Kafka;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using ShopChoreography.Messaging;
using ShopChoreography.Messaging.CloudEvents;
using ShopChoreography.Messaging.Consumers;
using ShopChoreography.Messaging.DeadLetters;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Delivery;

/// <summary>
/// Rejects a probe until an operator accepts its key in the database: a cause that can be fixed, after which the
/// dead letter's replay succeeds.
/// </summary>
public sealed class RecordProbeOnceAccepted(ProbeDbContext db) : IEventHandler<ProbeEvent>
{
    public const string CreateTable = "CREATE TABLE accepted_keys (key text PRIMARY KEY)";

    public async Task HandleAsync(ProbeEvent probe, EventContext context, CancellationToken cancellationToken)
    {
        var accepted = await db.Database
            .SqlQuery<bool>($"""SELECT EXISTS (SELECT 1 FROM accepted_keys WHERE key = {probe.Key}) AS "Value" """)
            .SingleAsync(cancellationToken);
        if (!accepted)
        {
            throw new EventRejectedException($"key {probe.Key} is not accepted yet");
        }

        db.Applied.Add(new AppliedEvent { EventId = context.Id, Key = probe.Key, Sequence = probe.Sequence });
    }
}

[Trait("Category", "Distributed")]
[Collection(DistributedAppCollection.Name)]
public sealed class DeadLetterReplayTests(DistributedAppFixture fixture)
{
    private const string RejectedType = "test.rejected.v1";
    private const string MalformedType = "test.malformed.v1";

    [Fact]
    public async Task A_rejected_event_replayed_by_id_once_its_cause_is_fixed_is_applied_exactly_once_however_often_it_is_replayed()
    {
        var topic = fixture.CreateTopic("replay", partitions: 4);
        var service = $"probe-replay-{Guid.NewGuid():N}";
        fixture.KafkaCluster.CreateTopic($"{service}.dlq", partitions: 3, replicationFactor: 3);
        var database = await ProbeService.CreateDatabaseAsync(fixture);
        await ExecuteAsync(database, RecordProbeOnceAccepted.CreateTable);
        await using var consumer = await ProbeService.CreateAsync<RecordProbeOnceAccepted>(fixture, database, service, topic);
        await consumer.StartAsync();
        var deadLetters = consumer.Services.GetRequiredService<DeadLetterReplay>();
        var key = Guid.NewGuid().ToString();
        var rejected = KafkaCloudEventBinding.ToKafkaMessage(ProbeEvent.CloudEvent(key, 1));
        var eventId = Id(rejected);
        var byId = new DeadLetterFilter(EventId: eventId);

        var original = await ProduceAsync(new TopicPartition(topic, Partition.Any), rejected);

        var listing = await Poller.UntilAsync(() => deadLetters.ListAsync(byId, CancellationToken.None), found => found.Matched == 1,
            "the rejected event to be dead-lettered");
        var deadLetter = Assert.Single(listing.DeadLetters);
        Assert.Equal((topic, original.Partition.Value, original.Offset.Value), (deadLetter.OriginalTopic, deadLetter.OriginalPartition, deadLetter.OriginalOffset));
        Assert.Equal((key, eventId, ProbeEvent.Type), (deadLetter.Key, deadLetter.EventId, deadLetter.Type));
        Assert.Contains($"key {key} is not accepted yet", deadLetter.Reason);
        Assert.InRange(deadLetter.DeadLetteredAt!.Value, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow);
        Assert.Empty(await consumer.AppliedAsync());

        await ExecuteAsync(database, $"INSERT INTO accepted_keys VALUES ('{key}')");
        var firstReplay = await deadLetters.ReplayAsync(byId, CancellationToken.None);

        Assert.Equal((1, 1), (firstReplay.Matched, firstReplay.Replayed));
        var replayedTo = Assert.Single(firstReplay.DeadLetters).ReplayedTo!;
        Assert.Equal((topic, original.Partition.Value), (replayedTo.Topic, replayedTo.Partition));
        await Poller.UntilAsync(consumer.AppliedAsync, rows => rows.Any(row => row.EventId == eventId), "the replayed event to be applied");

        var secondReplay = await deadLetters.ReplayAsync(byId, CancellationToken.None);
        Assert.Equal((1, 1), (secondReplay.Matched, secondReplay.Replayed)); // replaying never removes the dead letter
        // Applied in partition order: once the next event of the key is applied, the second copy has been consumed.
        var next = KafkaCloudEventBinding.ToKafkaMessage(ProbeEvent.CloudEvent(key, 2));
        await ProduceAsync(new TopicPartition(topic, replayedTo.Partition), next);
        var applied = await Poller.UntilAsync(consumer.AppliedAsync, rows => rows.Any(row => row.EventId == Id(next)), "the next event of the key to be applied");

        Assert.Equal([(eventId, 1), (Id(next), 2)], applied.Select(row => (row.EventId, row.Sequence)));
        Assert.Equal(1, (await deadLetters.ListAsync(DeadLetterFilter.All, CancellationToken.None)).Matched);
        var copies = TopicReader.ReadUntil(await fixture.ConnectionStringAsync("kafka"), topic, _ => false, atEnd: true)
            .Where(record => record.Header("ce_id") == eventId).ToList();
        Assert.Equal(3, copies.Count); // the original and two replays, each the original record without dlq-* headers
        Assert.All(copies, copy =>
        {
            Assert.Equal(original.Partition, copy.Partition);
            Assert.Equal(rejected.Key, copy.Message.Key);
            Assert.Equal(rejected.Value, copy.Message.Value);
            Assert.Equal(HeaderList(rejected), HeaderList(copy.Message));
        });
    }

    [Fact]
    public async Task Filters_select_exactly_the_dead_letters_they_name_and_a_replay_puts_back_only_those()
    {
        var (first, second) = (fixture.CreateTopic("replay-first", partitions: 2), fixture.CreateTopic("replay-second", partitions: 2));
        var service = $"probe-filters-{Guid.NewGuid():N}";
        fixture.KafkaCluster.CreateTopic($"{service}.dlq", partitions: 2, replicationFactor: 3);
        var structured = ProbeEvent.CloudEvent("d", 4);
        structured.Type = MalformedType;
        var notACloudEvent = new Message<string?, byte[]?> { Key = "e", Value = "hello"u8.ToArray(), Headers = [] };
        var letters = new (string Name, int Partition, Message<string?, byte[]?> Original, string? OriginalTopic, string? Category)[]
        {
            ("a", 0, Binary("a", RejectedType), first, "rejected"),
            ("b", 0, Binary("b", MalformedType), first, "invalid-data"),
            ("c", 1, Binary("c", RejectedType), second, "handler-failed"),
            ("d", 1, StructuredMode(structured), second, "rejected"),
            ("e", 1, notACloudEvent, first, "invalid-cloudevent"),
            ("f", 0, Binary("f", RejectedType), second, null), // written before dead letters had a category
            ("g", 1, Binary("g", RejectedType), null, "rejected"), // its original topic is unknown
        };
        foreach (var letter in letters)
        {
            await ProduceAsync(new TopicPartition($"{service}.dlq", letter.Partition),
                DeadLetterOf(letter.Original, letter.OriginalTopic, letter.Category, $"reason {letter.Name}"));
        }

        await using var consumer = await ProbeService.CreateAsync(fixture, await ProbeService.CreateDatabaseAsync(fixture), service, first, consumes: false);
        await consumer.StartAsync();
        var deadLetters = consumer.Services.GetRequiredService<DeadLetterReplay>();
        async Task<string[]> KeysOf(DeadLetterFilter filter) =>
            [.. (await deadLetters.ListAsync(filter, CancellationToken.None)).DeadLetters.Select(deadLetter => deadLetter.Key!)];

        Assert.Equal(["a", "b", "f", "c", "d", "e", "g"], await KeysOf(DeadLetterFilter.All)); // dead-letter partition and offset order
        Assert.Equal(["d"], await KeysOf(new(Partition: 1, Offset: 1)));
        Assert.Equal(["c", "d", "e", "g"], await KeysOf(new(Partition: 1)));
        Assert.Equal(["a"], await KeysOf(new(EventId: Id(letters[0].Original))));
        Assert.Equal(["d"], await KeysOf(new(EventId: structured.Id))); // structured mode: the id is in the value
        Assert.Equal(["a", "f", "c", "g"], await KeysOf(new(Type: RejectedType)));
        Assert.Equal(["a", "d", "g"], await KeysOf(new(Category: "rejected")));
        Assert.Equal(["f", "c", "d"], await KeysOf(new(OriginalTopic: second)));
        Assert.Equal(["d"], await KeysOf(new(Type: MalformedType, Category: "rejected")));
        Assert.Empty(await KeysOf(new(EventId: Guid.NewGuid().ToString())));

        var all = await deadLetters.ListAsync(DeadLetterFilter.All, CancellationToken.None);
        var a = all.DeadLetters[0];
        Assert.Equal(new DeadLetter(0, 0, first, 0, 41, "a", Id(letters[0].Original), RejectedType, "reason a", "rejected", a.DeadLetteredAt), a);
        Assert.NotNull(a.DeadLetteredAt);
        var e = all.DeadLetters.Single(deadLetter => deadLetter.Key == "e");
        Assert.Equal((null, null, "invalid-cloudevent", first), (e.EventId, e.Type, e.Category, e.OriginalTopic));

        var replay = await deadLetters.ReplayAsync(new(Type: RejectedType), CancellationToken.None);

        Assert.Equal((4, 3), (replay.Matched, replay.Replayed));
        Assert.Equal(["a", "f", "c", "g"], replay.DeadLetters.Select(deadLetter => deadLetter.Key));
        Assert.Contains("dlq-original-topic", Assert.Single(replay.DeadLetters, deadLetter => deadLetter.ReplayedTo is null).ReplayFailure);
        var bootstrapServers = await fixture.ConnectionStringAsync("kafka");
        var onFirst = TopicReader.ReadUntil(bootstrapServers, first, _ => false, atEnd: true);
        var onSecond = TopicReader.ReadUntil(bootstrapServers, second, _ => false, atEnd: true);
        Assert.Equal(["a"], onFirst.Select(record => record.Message.Key));
        Assert.Equal(["f", "c"], onSecond.Select(record => record.Message.Key)); // replayed in dead-letter order
        foreach (var record in onFirst.Concat(onSecond))
        {
            var original = letters.Single(letter => letter.Name == record.Message.Key).Original;
            Assert.Equal(0, record.Partition.Value); // the partition it was consumed from
            Assert.Equal(original.Value, record.Message.Value);
            Assert.Equal(HeaderList(original), HeaderList(record.Message));
        }
    }

    [Fact]
    public async Task A_service_that_never_dead_lettered_anything_lists_no_dead_letters()
    {
        var topic = fixture.CreateTopic("replay-none");
        await using var consumer = await ProbeService.CreateAsync(fixture, await ProbeService.CreateDatabaseAsync(fixture),
            $"probe-none-{Guid.NewGuid():N}", topic, consumes: false);
        await consumer.StartAsync();
        var deadLetters = consumer.Services.GetRequiredService<DeadLetterReplay>();

        var listing = await deadLetters.ListAsync(DeadLetterFilter.All, CancellationToken.None);
        var replay = await deadLetters.ReplayAsync(DeadLetterFilter.All, CancellationToken.None);

        Assert.Equal(0, listing.Matched);
        Assert.Empty(listing.DeadLetters);
        Assert.Equal((0, 0), (replay.Matched, replay.Replayed));
        Assert.Empty(replay.DeadLetters);
    }

    /// <summary>What <see cref="DeadLetterPublisher"/> writes for a record consumed at offset 41 of partition 0.</summary>
    private static Message<string?, byte[]?> DeadLetterOf(Message<string?, byte[]?> original, string? originalTopic, string? category, string reason)
    {
        var headers = new Headers();
        foreach (var header in original.Headers)
        {
            headers.Add(header.Key, header.GetValueBytes());
        }

        void Add(string name, string value) => headers.Add(name, Encoding.UTF8.GetBytes(value));
        Add(DeadLetterHeaders.Reason, reason);
        Add(DeadLetterHeaders.ExceptionType, typeof(EventRejectedException).FullName!);
        if (originalTopic is not null)
        {
            Add(DeadLetterHeaders.OriginalTopic, originalTopic);
        }

        Add(DeadLetterHeaders.OriginalPartition, "0");
        Add(DeadLetterHeaders.OriginalOffset, "41");
        Add(DeadLetterHeaders.Consumer, "probe");
        Add(DeadLetterHeaders.Attempts, "1");
        if (category is not null)
        {
            Add("dlq-category", category);
        }

        Add(DeadLetterHeaders.Time, DateTimeOffset.UtcNow.ToString("O"));
        return new Message<string?, byte[]?> { Key = original.Key, Value = original.Value, Headers = headers };
    }

    private static Message<string?, byte[]?> Binary(string key, string type)
    {
        var cloudEvent = ProbeEvent.CloudEvent(key, 1);
        cloudEvent.Type = type;
        return KafkaCloudEventBinding.ToKafkaMessage(cloudEvent);
    }

    private static Message<string?, byte[]?> StructuredMode(CloudEvent cloudEvent) => new()
    {
        Key = cloudEvent.GetPartitionKey(),
        Value = new CloudNative.CloudEvents.SystemTextJson.JsonEventFormatter().EncodeStructuredModeMessage(cloudEvent, out _).ToArray(),
        Headers = new() { { "content-type", "application/cloudevents+json"u8.ToArray() } },
    };

    private static string Id(Message<string?, byte[]?> message) => Encoding.UTF8.GetString(message.Headers.GetLastBytes("ce_id"));

    private static List<(string, string)> HeaderList(Message<string?, byte[]?> message) =>
        [.. message.Headers.Select(header => (header.Key, Encoding.UTF8.GetString(header.GetValueBytes())))];

    private async Task<DeliveryResult<string?, byte[]?>> ProduceAsync(TopicPartition destination, Message<string?, byte[]?> message)
    {
        using var producer = new ProducerBuilder<string?, byte[]?>(new ProducerConfig
        {
            BootstrapServers = await fixture.ConnectionStringAsync("kafka"),
            EnableIdempotence = true,
        }).Build();
        return await producer.ProduceAsync(destination, message);
    }

    private static async Task ExecuteAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
