using System.Text;
using CloudNative.CloudEvents;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using ShopChoreography.Messaging;
using ShopChoreography.Messaging.CloudEvents;
using ShopChoreography.Messaging.Consumers;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Delivery;

[Trait("Category", "Distributed")]
[Collection(DistributedAppCollection.Name)]
public sealed class ConsumerTests(DistributedAppFixture fixture)
{
    [Fact]
    public async Task The_same_event_delivered_many_times_at_once_changes_state_once_and_logs_no_error()
    {
        var topic = fixture.CreateTopic("inbox-concurrent");
        await using var consumer = await ProbeService.CreateAsync(fixture, await ProbeService.CreateDatabaseAsync(fixture), "probe-concurrent", topic, consumes: true);
        var processor = consumer.Services.GetRequiredService<EventProcessor<ProbeDbContext>>();
        var record = Record(topic, offset: 0, ProbeEvent.CloudEvent("key-1", 1));

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => processor.ProcessAsync(record, CancellationToken.None))));
        var later = await processor.ProcessAsync(record, CancellationToken.None);

        Assert.Equal(1, outcomes.Count(outcome => outcome == ConsumeOutcome.Applied));
        Assert.Equal(7, outcomes.Count(outcome => outcome == ConsumeOutcome.Duplicate));
        Assert.Equal(ConsumeOutcome.Duplicate, later);
        Assert.Equal([("key-1", 1)], (await consumer.AppliedAsync()).Select(a => (a.Key, a.Sequence)));
        Assert.Empty(consumer.Services.ErrorsLogged()); // redeliveries are normal with Kafka: an operator must not be alarmed by them
    }

    [Fact]
    public async Task An_applied_event_costs_one_database_command_for_its_inbox_record_and_its_handlers_changes()
    {
        var topic = fixture.CreateTopic("inbox-one-command");
        var database = await ProbeService.CreateDatabaseAsync(fixture);
        await using var consumer = await ProbeService.CreateAsync(fixture, database, "probe-one-command", topic, consumes: true);
        var processor = consumer.Services.GetRequiredService<EventProcessor<ProbeDbContext>>();
        Assert.Equal(ConsumeOutcome.Applied, await processor.ProcessAsync(Record(topic, offset: 0, ProbeEvent.CloudEvent("key-1", 1)), CancellationToken.None));
        using var commands = new DatabaseCommands(new NpgsqlConnectionStringBuilder(database).Database!);

        var outcome = await processor.ProcessAsync(Record(topic, offset: 1, ProbeEvent.CloudEvent("key-1", 2)), CancellationToken.None);

        Assert.Equal(ConsumeOutcome.Applied, outcome);
        var command = Assert.Single(commands.Executed); // the commit is not a command
        Assert.Contains("inbox_messages", command);
        Assert.Contains("applied_events", command);
        Assert.Equal([("key-1", 1), ("key-1", 2)], (await consumer.AppliedAsync()).Select(a => (a.Key, a.Sequence)));
    }

    [Fact]
    public async Task A_redelivered_event_its_handler_would_now_refuse_is_a_duplicate_not_a_dead_letter()
    {
        var topic = fixture.CreateTopic("inbox-refused-repeat");
        var service = $"probe-refused-repeat-{Guid.NewGuid():N}";
        fixture.KafkaCluster.CreateTopic($"{service}.dlq", partitions: 1, replicationFactor: 3);
        await using var consumer = await ProbeService.CreateAsync(fixture, await ProbeService.CreateDatabaseAsync(fixture), service, topic, consumes: true);
        var processor = consumer.Services.GetRequiredService<EventProcessor<ProbeDbContext>>();
        var record = Record(topic, offset: 0, ProbeEvent.CloudEvent("key-1", 1, ProbeEvent.RejectRepeats));

        var first = await processor.ProcessAsync(record, CancellationToken.None);
        var again = await processor.ProcessAsync(record, CancellationToken.None);

        Assert.Equal(ConsumeOutcome.Applied, first);
        Assert.Equal(ConsumeOutcome.Duplicate, again);
        Assert.Equal([("key-1", 1)], (await consumer.AppliedAsync()).Select(a => (a.Key, a.Sequence)));
        Assert.Equal(0, TopicReader.HighWatermark(await fixture.ConnectionStringAsync("kafka"), $"{service}.dlq", 0));
    }

    [Fact]
    public async Task A_redelivered_copy_on_the_topic_is_skipped_by_the_inbox()
    {
        var topic = fixture.CreateTopic("inbox-redelivery", partitions: 1);
        var key = Guid.NewGuid().ToString();
        var original = ProbeEvent.CloudEvent(key, 1);
        var marker = ProbeEvent.CloudEvent(key, 2);
        await ProduceAsync(topic, KafkaCloudEventBinding.ToKafkaMessage(original), KafkaCloudEventBinding.ToKafkaMessage(original),
            KafkaCloudEventBinding.ToKafkaMessage(marker));
        await using var consumer = await ProbeService.CreateAsync(fixture, await ProbeService.CreateDatabaseAsync(fixture), $"probe-redelivery-{key}", topic, consumes: true);

        await consumer.StartAsync();

        var applied = await Poller.UntilAsync(consumer.AppliedAsync, rows => rows.Any(r => r.EventId == marker.Id), "the marker to be applied");
        Assert.Equal([(original.Id!, 1), (marker.Id!, 2)], applied.Select(a => (a.EventId, a.Sequence)));
    }

    [Fact]
    public async Task Poison_records_of_every_kind_go_to_the_dead_letter_topic_and_the_partition_moves_on()
    {
        var topic = fixture.CreateTopic("poison", partitions: 1);
        var service = $"probe-poison-{Guid.NewGuid():N}";
        fixture.KafkaCluster.CreateTopic($"{service}.dlq", partitions: 1, replicationFactor: 3);
        var valid = KafkaCloudEventBinding.ToKafkaMessage(ProbeEvent.CloudEvent("k", 1));
        (Message<string?, byte[]?> Record, string Reason, string Category)[] poison =
        [
            (new() { Key = "k", Value = "hello"u8.ToArray(), Headers = [] }, "no ce_specversion header", "invalid-cloudevent"),
            (WithHeader(valid, "ce_specversion", "0.9"), "unsupported specversion '0.9'", "invalid-cloudevent"),
            (WithHeader(valid, "ce_time", "yesterday"), "header 'ce_time' has an invalid value 'yesterday'", "invalid-cloudevent"),
            (Without(valid, "ce_id"), "missing required attribute(s): id", "invalid-cloudevent"),
            (WithValue(valid, "not json"), "is not a valid ProbeEvent", "invalid-data"),
            (WithValue(valid, """{"sequence": 1}"""), "is not a valid ProbeEvent", "invalid-data"),
            (WithValue(valid, """{"key": "\ud800", "sequence": 1}"""), "is not a valid ProbeEvent", "invalid-data"),
            (WithValue(valid, """{"key": "k\u0000", "sequence": 1}"""), "the database refused the data", "invalid-data"),
            (KafkaCloudEventBinding.ToKafkaMessage(ProbeEvent.CloudEvent("k", 1, ProbeEvent.Reject)), "the probe asked to be rejected", "rejected"),
            (KafkaCloudEventBinding.ToKafkaMessage(ProbeEvent.CloudEvent("k", 1, ProbeEvent.KeepFailing)),
                "still failed after 3 attempts while the database answered: the probe keeps failing", "handler-failed"),
            (new() { Key = "k", Value = "{ not json"u8.ToArray(), Headers = new() { { "content-type", "application/cloudevents+json"u8.ToArray() } } },
                "structured mode value cannot be decoded", "invalid-cloudevent"),
        ];
        var unhandledType = ProbeEvent.CloudEvent("k", 1);
        unhandledType.Type = "test.not-handled-here.v1";
        var marker = ProbeEvent.CloudEvent("k", 2);
        await ProduceAsync(topic, [.. poison.Select(p => p.Record), KafkaCloudEventBinding.ToKafkaMessage(unhandledType), KafkaCloudEventBinding.ToKafkaMessage(marker)]);
        await using var consumer = await ProbeService.CreateAsync(fixture, await ProbeService.CreateDatabaseAsync(fixture), service, topic, consumes: true);

        await consumer.StartAsync();

        var applied = await Poller.UntilAsync(consumer.AppliedAsync, rows => rows.Any(r => r.EventId == marker.Id), "the record after the poison to be applied");
        Assert.Equal([marker.Id], applied.Select(a => a.EventId));
        var bootstrapServers = await fixture.ConnectionStringAsync("kafka");
        var deadLetters = TopicReader.ReadUntil(bootstrapServers, $"{service}.dlq", read => read.Count == poison.Length);
        Assert.Equal(poison.Length, TopicReader.HighWatermark(bootstrapServers, $"{service}.dlq", 0)); // the unhandled type is skipped, not dead-lettered
        for (var offset = 0; offset < poison.Length; offset++)
        {
            var deadLetter = deadLetters[offset];
            Assert.Contains(poison[offset].Reason, deadLetter.Header(DeadLetterHeaders.Reason));
            Assert.Equal(poison[offset].Category, deadLetter.Header(DeadLetterHeaders.Category));
            Assert.Equal(topic, deadLetter.Header(DeadLetterHeaders.OriginalTopic));
            Assert.Equal("0", deadLetter.Header(DeadLetterHeaders.OriginalPartition));
            Assert.Equal($"{offset}", deadLetter.Header(DeadLetterHeaders.OriginalOffset));
            Assert.Equal(service, deadLetter.Header(DeadLetterHeaders.Consumer));
            Assert.False(string.IsNullOrEmpty(deadLetter.Header(DeadLetterHeaders.ExceptionType)));
            Assert.Equal(poison[offset].Record.Key, deadLetter.Message.Key);
            Assert.Equal(poison[offset].Record.Value, deadLetter.Message.Value);
            foreach (var header in poison[offset].Record.Headers)
            {
                Assert.Equal(Encoding.UTF8.GetString(header.GetValueBytes()), deadLetter.Header(header.Key));
            }
        }
    }

    [Fact]
    public async Task A_rejected_event_among_many_is_dead_lettered_alone_and_the_others_are_applied_once_in_order()
    {
        var topic = fixture.CreateTopic("rejected-among-many", partitions: 1);
        var service = $"probe-among-{Guid.NewGuid():N}";
        fixture.KafkaCluster.CreateTopic($"{service}.dlq", partitions: 1, replicationFactor: 3);
        var events = Enumerable.Range(1, 20).Select(i => ProbeEvent.CloudEvent("k", i, i == 10 ? ProbeEvent.Reject : null)).ToList();
        await ProduceAsync(topic, [.. events.Select(KafkaCloudEventBinding.ToKafkaMessage)]);
        await using var consumer = await ProbeService.CreateAsync(fixture, await ProbeService.CreateDatabaseAsync(fixture), service, topic, consumes: true);

        await consumer.StartAsync();

        var applied = await Poller.UntilAsync(consumer.AppliedAsync, rows => rows.Any(r => r.Sequence == 20), "the last event to be applied");
        Assert.Equal(Enumerable.Range(1, 20).Where(i => i != 10), applied.Select(a => a.Sequence));
        var bootstrapServers = await fixture.ConnectionStringAsync("kafka");
        var deadLetter = Assert.Single(TopicReader.ReadUntil(bootstrapServers, $"{service}.dlq", read => read.Count == 1));
        Assert.Equal(events[9].Id, deadLetter.Header("ce_id"));
        Assert.Equal(1, TopicReader.HighWatermark(bootstrapServers, $"{service}.dlq", 0));
    }

    [Fact]
    public async Task Events_whose_database_is_unreachable_wait_for_it_and_are_applied_once_it_is_back_never_dead_lettered()
    {
        var topic = fixture.CreateTopic("database-outage", partitions: 1);
        var service = $"probe-outage-{Guid.NewGuid():N}";
        fixture.KafkaCluster.CreateTopic($"{service}.dlq", partitions: 1, replicationFactor: 3);
        var database = new NpgsqlConnectionStringBuilder(await ProbeService.CreateDatabaseAsync(fixture));
        await using var proxy = new TcpProxy(database.Host!, database.Port);
        database.Host = "127.0.0.1";
        database.Port = proxy.Port;
        await using var consumer = await ProbeService.CreateAsync(fixture, database.ConnectionString, service, topic, consumes: true);
        await consumer.StartAsync();
        var before = ProbeEvent.CloudEvent("k", 1);
        await ProduceAsync(topic, KafkaCloudEventBinding.ToKafkaMessage(before));
        await Poller.UntilAsync(consumer.AppliedAsync, rows => rows.Count == 1, "the first event to be applied");

        proxy.Down();
        var during = Enumerable.Range(2, 5).Select(sequence => ProbeEvent.CloudEvent("k", sequence)).ToList();
        await ProduceAsync(topic, [.. during.Select(KafkaCloudEventBinding.ToKafkaMessage)]);
        // Far past the probe's retry budget (2 retries, 10 ms apart): the consumer must keep waiting, not give up.
        await Poller.UntilAsync(() => Task.FromResult(proxy.Refused), refused => refused >= 10, "the consumer to keep retrying the database");
        proxy.Up();

        var applied = await Poller.UntilAsync(consumer.AppliedAsync, rows => rows.Count >= 6, "every event to be applied after the outage");
        Assert.Equal([before.Id, .. during.Select(e => e.Id)], applied.Select(a => a.EventId));
        Assert.Equal(0, TopicReader.HighWatermark(await fixture.ConnectionStringAsync("kafka"), $"{service}.dlq", 0));
    }

    [Fact]
    public async Task Partitions_paused_by_back_pressure_resume_after_a_rebalance_takes_them_away_and_gives_them_back()
    {
        var topic = fixture.CreateTopic("paused-rebalance", partitions: 2);
        var service = $"probe-paused-{Guid.NewGuid():N}";
        var database = await ProbeService.CreateDatabaseAsync(fixture);
        var events = Enumerable.Range(1, 200).Select(i => ProbeEvent.CloudEvent($"key-{i % 10}", i, ProbeEvent.Slow)).ToList();
        await ProduceAsync(topic, [.. events.Select(KafkaCloudEventBinding.ToKafkaMessage)]);
        void FewInFlight(MessagingOptions options) => options.Consumer.MaxInFlightPerPartition = 4;
        await using var first = await ProbeService.CreateAsync(fixture, database, service, topic, consumes: true, FewInFlight);
        await first.StartAsync();
        var firstHost = first.Services.GetRequiredService<ConsumerHost<ProbeDbContext>>();
        await Poller.UntilAsync(() => Task.FromResult(firstHost.PausedPartitions), paused => paused == 2,
            "back-pressure to pause both partitions of the first member");

        // A second member joins (each gets one partition) and leaves again (the first gets both back), while the
        // first member's partitions are paused by back-pressure.
        await using (var second = await ProbeService.CreateAsync(fixture, database, service, topic, consumes: true, FewInFlight))
        {
            await second.StartAsync();
            await Poller.UntilAsync(() => Task.FromResult(second.Services.GetRequiredService<ConsumerHost<ProbeDbContext>>().Assignment.Count),
                count => count == 1, "the second member to own one partition", TimeSpan.FromSeconds(60));
        }

        var applied = await Poller.UntilAsync(first.AppliedAsync, rows => rows.Count >= events.Count,
            "every event to be applied once the first member owns both partitions again", TimeSpan.FromSeconds(150));
        Assert.Equal(events.Select(e => e.Id).Order(), applied.Select(a => a.EventId).Order());
    }

    private static ConsumeResult<string?, byte[]?> Record(string topic, long offset, CloudEvent cloudEvent) => new()
    {
        Topic = topic,
        Partition = 0,
        Offset = offset,
        Message = KafkaCloudEventBinding.ToKafkaMessage(cloudEvent),
    };

    private static Message<string?, byte[]?> WithHeader(Message<string?, byte[]?> message, string name, string value)
    {
        var copy = Without(message, name);
        copy.Headers.Add(name, Encoding.UTF8.GetBytes(value));
        return copy;
    }

    private static Message<string?, byte[]?> Without(Message<string?, byte[]?> message, string name)
    {
        var headers = new Headers();
        foreach (var header in message.Headers.Where(h => h.Key != name))
        {
            headers.Add(header.Key, header.GetValueBytes());
        }

        return new() { Key = message.Key, Value = message.Value, Headers = headers };
    }

    private static Message<string?, byte[]?> WithValue(Message<string?, byte[]?> message, string value) =>
        new() { Key = message.Key, Value = Encoding.UTF8.GetBytes(value), Headers = Without(message, "none").Headers };

    private async Task ProduceAsync(string topic, params Message<string?, byte[]?>[] messages)
    {
        using var producer = new ProducerBuilder<string?, byte[]?>(new ProducerConfig
        {
            BootstrapServers = await fixture.ConnectionStringAsync("kafka"),
            EnableIdempotence = true,
        }).Build();
        foreach (var message in messages)
        {
            await producer.ProduceAsync(topic, message);
        }
    }
}
