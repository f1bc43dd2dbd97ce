using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using ShopChoreography.Messaging;
using ShopChoreography.Messaging.Database;
using ShopChoreography.Messaging.Outbox;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Delivery;

[Trait("Category", "Distributed")]
[Collection(DistributedAppCollection.Name)]
public sealed class OutboxTests(DistributedAppFixture fixture) : IDisposable
{
    private static readonly ActivitySource Requests = new("ShopChoreography.Tests");
    private readonly ActivityListener _tracing = Tracing.ListenToAll();

    public void Dispose() => _tracing.Dispose();

    [Fact]
    public async Task A_rolled_back_transaction_publishes_nothing_and_a_committed_one_publishes_exactly_its_events_with_the_contract_headers()
    {
        var topic = fixture.CreateTopic("outbox");
        await using var service = await ProbeService.CreateAsync(fixture, await ProbeService.CreateDatabaseAsync(fixture), "probe-outbox", topic, consumes: false);
        await service.StartAsync();
        var key = Guid.NewGuid().ToString();

        Activity? request;
        List<PublishedEvent> committed;
        using (request = Requests.StartActivity("POST /probes"))
        {
            await service.PublishAsync(commit: false, new ProbeEvent(key, 0));
            committed = await service.PublishAsync(commit: true, new ProbeEvent(key, 1), new ProbeEvent(key, 2));
        }

        // One key, one partition: a published rolled-back event would come first.
        var records = TopicReader.ReadUntil(await fixture.ConnectionStringAsync("kafka"), topic, read => read.Count >= 2);
        Assert.Equal(committed.Select(e => e.Id), records.Select(r => r.Header("ce_id")));
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            Assert.Equal(key, record.Message.Key);
            Assert.Equal("1.0", record.Header("ce_specversion"));
            Assert.Equal("/probe", record.Header("ce_source"));
            Assert.Equal(ProbeEvent.Type, record.Header("ce_type"));
            Assert.Equal(committed[i].Time, DateTimeOffset.Parse(record.Header("ce_time")!, System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(key, record.Header("ce_subject"));
            Assert.Equal(key, record.Header("ce_partitionkey"));
            Assert.Equal("application/json", record.Header("content-type"));
            Assert.StartsWith($"00-{request!.TraceId}-", record.Header("ce_traceparent"));
            var data = JsonNode.Parse(record.Message.Value)!;
            Assert.Equal(key, data["key"]!.GetValue<string>());
            Assert.Equal(i + 1, data["sequence"]!.GetValue<int>());
        }
    }

    [Fact]
    public async Task An_event_the_broker_refuses_for_good_is_parked_with_its_reason_and_the_events_behind_it_are_published()
    {
        var topic = fixture.CreateTopic("outbox-parked", partitions: 1);
        var database = await ProbeService.CreateDatabaseAsync(fixture);
        await using var service = await ProbeService.CreateAsync(fixture, database, "probe-parked", topic, consumes: false);
        await service.StartAsync();
        var key = Guid.NewGuid().ToString();

        var tooLarge = Assert.Single(await service.PublishAsync(commit: true, new ProbeEvent(key, 1, new string('x', 2_000_000))));
        var next = Assert.Single(await service.PublishAsync(commit: true, new ProbeEvent(key, 2)));

        var records = TopicReader.ReadUntil(await fixture.ConnectionStringAsync("kafka"), topic, read => read.Count >= 1);
        Assert.Equal([next.Id], records.Select(r => r.Header("ce_id")));
        await using var connection = new Npgsql.NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var parked = new Npgsql.NpgsqlCommand("SELECT id::text, park_reason FROM outbox_messages WHERE parked_at IS NOT NULL", connection);
        await using var reader = await parked.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal((tooLarge.Id, true), (reader.GetString(0), reader.GetString(1).StartsWith("MsgSizeTooLarge", StringComparison.Ordinal)));
        Assert.False(await reader.ReadAsync());
    }

    [Fact]
    public async Task The_dispatcher_leader_session_asks_the_server_to_drop_it_within_seconds_when_the_leader_stops_answering()
    {
        var topic = fixture.CreateTopic("outbox-leader");
        await using var service = await ProbeService.CreateAsync(fixture, await ProbeService.CreateDatabaseAsync(fixture), "probe-leader", topic, consumes: false);
        var dispatcher = service.Services.GetRequiredService<OutboxDispatcher<ProbeDbContext>>();

        await using var connection = await dispatcher.OpenConnectionAsync(CancellationToken.None);
        await using var settings = new Npgsql.NpgsqlCommand(
            "SELECT current_setting('tcp_keepalives_idle'), current_setting('tcp_keepalives_interval'), current_setting('tcp_keepalives_count')",
            connection);
        await using var reader = await settings.ExecuteReaderAsync();
        await reader.ReadAsync();

        var (idle, interval, count) = (int.Parse(reader.GetString(0)), int.Parse(reader.GetString(1)), int.Parse(reader.GetString(2)));
        Assert.Equal(OutboxDispatcher<ProbeDbContext>.DeadLeaderBound, TimeSpan.FromSeconds(idle + interval * count));
        Assert.True(OutboxDispatcher<ProbeDbContext>.DeadLeaderBound <= TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task A_handler_continues_the_trace_of_the_request_that_wrote_the_outbox_row()
    {
        var topic = fixture.CreateTopic("trace");
        await using var service = await ProbeService.CreateAsync(fixture, await ProbeService.CreateDatabaseAsync(fixture),
            $"probe-trace-{Guid.NewGuid():N}", topic, consumes: true);
        await service.StartAsync();

        ActivityTraceId requestTrace;
        using (var request = Requests.StartActivity("POST /probes"))
        {
            requestTrace = request!.TraceId;
            await service.PublishAsync(commit: true, new ProbeEvent("traced", 1));
        }

        var applied = await Poller.UntilAsync(service.AppliedAsync, rows => rows.Count == 1, "the event to be applied");
        Assert.Equal(requestTrace.ToString(), applied[0].TraceId);
    }

    [Fact]
    public async Task A_transaction_that_commits_after_a_later_numbered_one_is_still_published()
    {
        var topic = fixture.CreateTopic("outbox-late-commit");
        var bootstrapServers = await fixture.ConnectionStringAsync("kafka");
        await using var service = await ProbeService.CreateAsync(fixture, await ProbeService.CreateDatabaseAsync(fixture), "probe-late", topic, consumes: false);
        await service.StartAsync();

        await using var slowScope = service.Services.CreateAsyncScope();
        var slowDb = slowScope.ServiceProvider.GetRequiredService<ProbeDbContext>();
        await using var slow = await slowDb.Database.BeginTransactionAsync();
        var early = slowScope.ServiceProvider.GetRequiredService<IEventPublisher>().Publish(new ProbeEvent("early-sequence", 1));
        await slowDb.SaveChangesAsync(); // takes the lower sequence number, not committed yet
        var late = Assert.Single(await service.PublishAsync(commit: true, new ProbeEvent("later-sequence", 2)));
        TopicReader.ReadUntil(bootstrapServers, topic, read => read.Any(r => r.Header("ce_id") == late.Id));

        await slow.CommitAsync();

        var records = TopicReader.ReadUntil(bootstrapServers, topic, read => read.Count == 2);
        Assert.Equal(new[] { early.Id, late.Id }.Order(), records.Select(r => r.Header("ce_id")).Order());
    }

    [Fact]
    public async Task Sent_outbox_rows_and_inbox_records_past_their_retention_are_deleted()
    {
        var topic = fixture.CreateTopic("retention");
        var database = await ProbeService.CreateDatabaseAsync(fixture);
        await using var service = await ProbeService.CreateAsync(fixture, database, $"probe-retention-{Guid.NewGuid():N}", topic, consumes: true,
            options =>
            {
                options.Outbox.SentRetention = TimeSpan.Zero;
                options.Inbox.Retention = TimeSpan.Zero;
                options.Inbox.CleanupInterval = TimeSpan.FromDays(1); // only the explicit run below
            });
        await service.StartAsync();
        await service.PublishAsync(commit: true, new ProbeEvent("kept-state", 1));
        await Poller.UntilAsync(service.AppliedAsync, rows => rows.Count == 1, "the event to be applied");
        Assert.Equal((1, 1), await CountAsync(database));

        await service.Services.GetRequiredService<MessagingRetention<ProbeDbContext>>()
            .DeleteExpiredAsync(CancellationToken.None);

        Assert.Equal((0, 0), await CountAsync(database));
        Assert.Single(await service.AppliedAsync());
    }

    private static async Task<(long Outbox, long Inbox)> CountAsync(string database)
    {
        await using var connection = new Npgsql.NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var query = new Npgsql.NpgsqlCommand(
            "SELECT (SELECT count(*) FROM outbox_messages), (SELECT count(*) FROM inbox_messages)", connection);
        await using var reader = await query.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    [Fact]
    public async Task The_dispatcher_publishes_right_after_a_commit_without_waiting_for_its_poll_interval()
    {
        var topic = fixture.CreateTopic("outbox-notify");
        var bootstrapServers = await fixture.ConnectionStringAsync("kafka");
        await using var service = await ProbeService.CreateAsync(fixture, await ProbeService.CreateDatabaseAsync(fixture),
            "probe-notify", topic, consumes: false, options => options.Outbox.PollInterval = TimeSpan.FromMinutes(10));
        await service.StartAsync();
        await service.PublishAsync(commit: true, new ProbeEvent("first", 1));
        TopicReader.ReadUntil(bootstrapServers, topic, read => read.Count == 1); // the dispatcher is now idle, waiting

        await service.PublishAsync(commit: true, new ProbeEvent("second", 2));

        var records = TopicReader.ReadUntil(bootstrapServers, topic, read => read.Count == 2, timeout: TimeSpan.FromSeconds(10));
        Assert.Equal(["first", "second"], records.Select(r => r.Message.Key).Order());
    }

    [Fact]
    public async Task A_commit_on_a_replica_that_is_not_the_dispatcher_is_published_by_the_dispatcher_without_waiting_for_its_poll_interval()
    {
        var database = await ProbeService.CreateDatabaseAsync(fixture);
        var topic = fixture.CreateTopic("outbox-standby");
        var bootstrapServers = await fixture.ConnectionStringAsync("kafka");
        await using var leader = await ProbeService.CreateAsync(fixture, database, "probe-standby", topic,
            consumes: false, options => options.Outbox.PollInterval = TimeSpan.FromMinutes(10));
        await leader.StartAsync();
        await Poller.UntilAsync(() => Task.FromResult(Dispatches(leader)), dispatches => dispatches, "the first replica to dispatch");
        await using var standby = await ProbeService.CreateAsync(fixture, database, "probe-standby", topic,
            consumes: false, options => options.Outbox.PollInterval = TimeSpan.FromMinutes(10));
        await standby.StartAsync();

        await standby.PublishAsync(commit: true, new ProbeEvent("from-the-standby", 1));

        var records = TopicReader.ReadUntil(bootstrapServers, topic, read => read.Count == 1, timeout: TimeSpan.FromSeconds(10));
        Assert.Equal("from-the-standby", Assert.Single(records).Message.Key);
        Assert.True(Dispatches(leader));
        Assert.False(Dispatches(standby));
    }

    [Fact]
    public async Task A_commit_signalled_while_the_dispatcher_reads_is_published_without_waiting_for_its_poll_interval()
    {
        var database = await ProbeService.CreateDatabaseAsync(fixture);
        var topic = fixture.CreateTopic("outbox-notify-race");
        var bootstrapServers = await fixture.ConnectionStringAsync("kafka");
        await using var service = await ProbeService.CreateAsync(fixture, database, "probe-notify-race", topic,
            consumes: false, options => options.Outbox.PollInterval = TimeSpan.FromMinutes(10));
        await service.StartAsync();
        await Poller.UntilAsync(() => DispatcherStatementsAsync(database), calls => calls == 1, "the dispatcher's first read");
        var first = Assert.Single(await service.PublishAsync(commit: true, new ProbeEvent("first", 1)));
        TopicReader.ReadUntil(bootstrapServers, topic, read => read.Count == 1); // delivered, to be marked sent by the next read

        // Hold the first row, so that next read (it marks the row sent) waits mid-way.
        await using var holder = new Npgsql.NpgsqlConnection(database);
        await holder.OpenAsync();
        await using var hold = await holder.BeginTransactionAsync();
        await using (var lockRow = new Npgsql.NpgsqlCommand("SELECT 1 FROM outbox_messages WHERE id = $1 FOR UPDATE", holder, hold)
        {
            Parameters = { new() { Value = Guid.Parse(first.Id) } },
        })
        {
            await lockRow.ExecuteNonQueryAsync();
        }

        await service.PublishAsync(commit: true, new ProbeEvent("second", 2));
        await Poller.UntilAsync(() => DispatcherWaitsForALockAsync(database), waits => waits, "the dispatcher to wait for the held row");

        // Committed after that statement began: it cannot see this row, and its wake-up reaches the dispatcher meanwhile.
        await service.PublishAsync(commit: true, new ProbeEvent("third", 3));
        await hold.RollbackAsync();

        var records = TopicReader.ReadUntil(bootstrapServers, topic, read => read.Count == 3, timeout: TimeSpan.FromSeconds(10));
        Assert.Equal(["first", "second", "third"], records.Select(r => r.Message.Key).Order());
    }

    [Fact]
    public async Task Events_committed_one_at_a_time_cost_one_dispatcher_statement_each_and_a_stopping_dispatcher_marks_what_it_delivered()
    {
        const int events = 8;
        var database = await ProbeService.CreateDatabaseAsync(fixture);
        var topic = fixture.CreateTopic("outbox-steady");
        var bootstrapServers = await fixture.ConnectionStringAsync("kafka");
        await using var service = await ProbeService.CreateAsync(fixture, database, "probe-steady", topic,
            consumes: false, options => options.Outbox.PollInterval = TimeSpan.FromMinutes(10));
        await service.StartAsync();
        await Poller.UntilAsync(() => DispatcherStatementsAsync(database), calls => calls == 1, "the dispatcher's first read");
        for (var n = 1; n <= events; n++)
        {
            await service.PublishAsync(commit: true, new ProbeEvent($"steady-{n}", n));
            TopicReader.ReadUntil(bootstrapServers, topic, read => read.Count == n);
        }

        // One read when the dispatcher started, then one per event: each marks the previous event sent and reads the next.
        Assert.Equal(events + 1, await DispatcherStatementsAsync(database));
        Assert.Equal(1, await UnsentRowsAsync(database)); // delivered, to be marked by the next read
        await service.Host.StopAsync();
        Assert.Equal(0, await UnsentRowsAsync(database));
    }

    [Fact]
    public async Task An_event_asked_to_heal_right_after_its_delivery_is_sent_again_as_a_healing_copy()
    {
        var database = await ProbeService.CreateDatabaseAsync(fixture);
        var topic = fixture.CreateTopic("outbox-heal");
        var bootstrapServers = await fixture.ConnectionStringAsync("kafka");
        await using var service = await ProbeService.CreateAsync(fixture, database, "probe-heal", topic,
            consumes: false, options => options.Outbox.PollInterval = TimeSpan.FromMinutes(10));
        await service.StartAsync();
        await Poller.UntilAsync(() => DispatcherStatementsAsync(database), calls => calls == 1, "the dispatcher's first read");
        var published = Assert.Single(await service.PublishAsync(commit: true, new ProbeEvent("heal", 1)));
        TopicReader.ReadUntil(bootstrapServers, topic, read => read.Count == 1); // delivered, to be marked sent by the next read

        await using (var scope = service.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ProbeDbContext>();
            await using var transaction = await db.Database.BeginTransactionAsync();
            Assert.True(await scope.ServiceProvider.GetRequiredService<IEventPublisher>().RepublishAsync(published.Id, CancellationToken.None));
            await transaction.CommitAsync();
        }

        var records = TopicReader.ReadUntil(bootstrapServers, topic, read => read.Count == 2, timeout: TimeSpan.FromSeconds(10));
        Assert.Equal([published.Id, published.Id], records.Select(r => r.Header("ce_id")));
        Assert.Equal([null, "true"], records.Select(r => r.Header("ce_healing")));
    }

    private const string DispatcherStatement = "WITH sent AS%";

    /// <summary>How often the dispatcher ran its statement in this database.</summary>
    private static async Task<long> DispatcherStatementsAsync(string database) =>
        (await StatementStatistics.ReadAsync(database, DispatcherStatement)).Calls;

    private static async Task<bool> DispatcherWaitsForALockAsync(string database)
    {
        await using var connection = new Npgsql.NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var waiting = new Npgsql.NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'WITH sent AS%'", connection);
        return (long)(await waiting.ExecuteScalarAsync())! == 1;
    }

    private static async Task<long> UnsentRowsAsync(string database)
    {
        await using var connection = new Npgsql.NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var count = new Npgsql.NpgsqlCommand("SELECT count(*) FROM outbox_messages WHERE sent_at IS NULL", connection);
        return (long)(await count.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task One_dispatch_cycle_marks_the_delivered_rows_sent_and_reads_the_rest_in_sequence_order()
    {
        var database = await ProbeService.CreateDatabaseAsync(fixture);
        await using var service = await ProbeService.CreateAsync(fixture, database, "probe-cycle", fixture.CreateTopic("outbox-cycle"), consumes: false);
        var key = Guid.NewGuid().ToString();
        var published = await service.PublishAsync(commit: true, new ProbeEvent(key, 1), new ProbeEvent(key, 2), new ProbeEvent(key, 3));
        var dispatcher = service.Services.GetRequiredService<OutboxDispatcher<ProbeDbContext>>();
        await using var connection = await dispatcher.OpenConnectionAsync(CancellationToken.None);

        var all = await dispatcher.MarkSentAndReadPendingAsync(connection, sent: [], CancellationToken.None);
        var rest = await dispatcher.MarkSentAndReadPendingAsync(connection, sent: all[..2], CancellationToken.None);
        var restAgain = await dispatcher.MarkSentAndReadPendingAsync(connection, sent: [], CancellationToken.None);

        Assert.Equal(published.Select(e => e.Id), all.Select(row => row.Id.ToString()));
        Assert.Equal([published[2].Id], rest.Select(row => row.Id.ToString()));
        Assert.Equal([published[2].Id], restAgain.Select(row => row.Id.ToString()));
        await using var sent = new Npgsql.NpgsqlCommand("SELECT id::text FROM outbox_messages WHERE sent_at IS NOT NULL ORDER BY sequence", connection);
        await using var reader = await sent.ExecuteReaderAsync();
        var sentIds = new List<string>();
        while (await reader.ReadAsync())
        {
            sentIds.Add(reader.GetString(0));
        }

        Assert.Equal(published.Take(2).Select(e => e.Id), sentIds);
    }

    [Fact]
    public async Task A_dispatch_cycle_reads_through_the_indexes_however_much_the_table_grew_since_the_dispatcher_started()
    {
        // Prepared as the services' connections are (AddServiceDatabase), and with no ANALYZE to replan behind the test's
        // back: as on a fresh database under load, before autovacuum first visits the table.
        var database = new Npgsql.NpgsqlConnectionStringBuilder(await ProbeService.CreateDatabaseAsync(fixture))
            { MaxAutoPrepare = 64, AutoPrepareMinUsages = 2 }.ConnectionString;
        await Sql.ExecuteAsync(database, "ALTER TABLE outbox_messages SET (autovacuum_enabled = false)");
        await using var service = await ProbeService.CreateAsync(fixture, database, "probe-grown", fixture.CreateTopic("outbox-grown"), consumes: false);
        var dispatcher = service.Services.GetRequiredService<OutboxDispatcher<ProbeDbContext>>();
        await using var connection = await dispatcher.OpenConnectionAsync(CancellationToken.None);
        for (var cycle = 0; cycle < 10; cycle++)
        {
            await dispatcher.MarkSentAndReadPendingAsync(connection, sent: [], CancellationToken.None);
        }

        // A day of sent events, then one to send.
        await Sql.ExecuteAsync(database, """
            INSERT INTO outbox_messages (id, topic, key, type, source, subject, time, data, healing, sent_at)
            SELECT gen_random_uuid(), 'sent', 'key', 'test.probe.v1', '/probe', 'key', now(), convert_to(repeat('x', 200), 'UTF8'), false, now()
            FROM generate_series(1, 20000)
            """);
        var pending = await service.PublishAsync(commit: true, new ProbeEvent("grown", 1));
        await StatementStatistics.ResetAsync(database);
        var read = await dispatcher.MarkSentAndReadPendingAsync(connection, sent: [], CancellationToken.None);
        var readAfterMarking = await dispatcher.MarkSentAndReadPendingAsync(connection, sent: read, CancellationToken.None);

        Assert.Equal(pending.Select(e => e.Id), read.Select(row => row.Id.ToString()));
        Assert.Empty(readAfterMarking);
        // Scanning the table reads its 20,000 rows' 800 pages; through the indexes, a cycle touches a few dozen at most.
        var (calls, pages) = await StatementStatistics.ReadAsync(database, DispatcherStatement);
        Assert.Equal(2, calls);
        Assert.InRange(pages / calls, 0, 50);
    }

    [Fact]
    public async Task An_event_published_again_after_a_crash_before_mark_as_sent_keeps_its_id_and_is_applied_once()
    {
        var topic = fixture.CreateTopic("outbox-crash");
        var key = Guid.NewGuid().ToString();
        await using var publisher = await ProbeService.CreateAsync(fixture, await ProbeService.CreateDatabaseAsync(fixture), "probe-crash", topic, consumes: false);
        await using var consumer = await ProbeService.CreateAsync(fixture, await ProbeService.CreateDatabaseAsync(fixture), $"probe-crash-consumer-{key}", topic, consumes: true);
        var original = Assert.Single(await publisher.PublishAsync(commit: true, new ProbeEvent(key, 1)));

        // A dispatcher publishes the row, then "crashes" before marking it sent.
        var dispatcher = publisher.Services.GetRequiredService<OutboxDispatcher<ProbeDbContext>>();
        await using (var connection = await dispatcher.OpenConnectionAsync(CancellationToken.None))
        {
            var pending = await dispatcher.MarkSentAndReadPendingAsync(connection, sent: [], CancellationToken.None);
            Assert.Single((await dispatcher.PublishAsync(pending, CancellationToken.None)).Delivered);
        }

        await publisher.StartAsync(); // the restarted dispatcher finds the row unsent
        var marker = Assert.Single(await publisher.PublishAsync(commit: true, new ProbeEvent(key, 2)));
        await consumer.StartAsync();

        var records = TopicReader.ReadUntil(await fixture.ConnectionStringAsync("kafka"), topic, read => read.Count == 3);
        Assert.Equal([original.Id, original.Id, marker.Id], records.Select(r => r.Header("ce_id")));
        var applied = await Poller.UntilAsync(consumer.AppliedAsync, rows => rows.Any(r => r.EventId == marker.Id), "the marker to be applied");
        Assert.Equal([(original.Id, 1), (marker.Id, 2)], applied.Select(a => (a.EventId, a.Sequence)));
    }

    private static bool Dispatches(ProbeService replica) =>
        replica.Services.GetRequiredService<OutboxDispatcher<ProbeDbContext>>().IsActive;
}

internal static class Tracing
{
    /// <summary>Samples every span of this process, as an exporter would, so trace context is created and carried.</summary>
    public static ActivityListener ListenToAll()
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }
}
