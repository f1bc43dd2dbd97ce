using System.Diagnostics;
using CloudNative.CloudEvents;
using CloudNative.CloudEvents.Extensions;
using Confluent.Kafka;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Polly;
using ShopChoreography.Messaging.CloudEvents;
using ShopChoreography.Messaging.Kafka;
using ShopChoreography.Messaging.Telemetry;

namespace ShopChoreography.Messaging.Outbox;

/// <summary>
/// Publishes committed outbox rows to Kafka in sequence order with an idempotent producer (acks=all), then marks
/// them sent. Guarantees:
/// <list type="bullet">
/// <item>Nothing is skipped: each cycle reads every unsent row, never "rows after the last one seen", so a
/// transaction that commits after a later-numbered one is still published.</item>
/// <item>Order per key across replicas: only one replica dispatches at a time (a PostgreSQL session advisory lock,
/// released by the server if that replica dies); the others stand by.</item>
/// <item>At least once: a crash between publish and mark-as-sent publishes the row again with the same CloudEvent
/// id, which the consumers' inbox turns into exactly-once effects.</item>
/// <item>A row the broker refuses for good (too large, corrupt) is parked with its reason and counted, so it never
/// blocks the rows behind it; everything else (the broker down, timeouts) is retried until Kafka answers.</item>
/// <item>A dead leader blocks the outbox for at most about <see cref="DeadLeaderBound"/>: the server probes the
/// leader's connection with TCP keepalives and ends its session, releasing the lock, when the leader stops answering.</item>
/// </list>
/// </summary>
internal sealed class OutboxDispatcher<TContext>(
    IServiceProvider services,
    IProducer<string?, byte[]?> producer,
    OutboxSignal committed,
    IOptions<MessagingOptions> options,
    MessagingTelemetry telemetry,
    TimeProvider clock,
    ILogger<OutboxDispatcher<TContext>> logger) : BackgroundService
    where TContext : DbContext
{
    private const string LeaderLock = "SELECT pg_try_advisory_lock(hashtext('shop_outbox_dispatcher'))";

    /// <summary>
    /// Without these the server keeps a dead client's session, and its lock, until the kernel's TCP keepalive gives
    /// up (about two hours by default). With them it gives up after idle + count * interval seconds.
    /// </summary>
    private const string LeaderSessionKeepalives = "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3";

    /// <summary>
    /// Plans the dispatcher's statements on every run, as the table is then. A prepared statement otherwise keeps the
    /// generic plan it settled on after five runs: on a new, nearly empty outbox that is a scan of the whole table, and
    /// it stays one as the table grows (sent rows are kept for days) until an ANALYZE replans it, so every cycle read
    /// every row. Planning costs a fraction of a millisecond per cycle.
    /// </summary>
    private const string LeaderSessionPlans = "-c plan_cache_mode=force_custom_plan";

    public static readonly TimeSpan DeadLeaderBound = TimeSpan.FromSeconds(5 + 3 * 2);

    private static readonly HashSet<ErrorCode> RefusedForGood =
    [
        ErrorCode.MsgSizeTooLarge, ErrorCode.InvalidMsg, ErrorCode.InvalidMsgSize,
        ErrorCode.RecordListTooLarge, ErrorCode.Local_BadMsg,
    ];
    private static readonly TimeSpan BacklogReportInterval = TimeSpan.FromSeconds(5);

    private readonly OutboxOptions _options = options.Value.Outbox;
    private readonly ResiliencePipeline _untilKafkaAnswers = KafkaRetry.UntilAcknowledged(logger, "Publishing outbox events");

    private NpgsqlDataSource? _dataSource;
    private DateTimeOffset _lastBacklogReport;

    /// <summary>True while this replica holds the dispatcher lock.</summary>
    public bool IsActive { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await OpenConnectionAsync(stoppingToken);
                await StandByAsync(connection, stoppingToken);
                IsActive = true;
                logger.LogInformation("This replica is now the outbox dispatcher");
                await LeadAsync(connection, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(ex, "The outbox dispatcher failed; reconnecting and resuming from the first unsent row");
                await Task.Delay(_options.StandbyInterval, clock, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            finally
            {
                IsActive = false;
            }
        }
    }

    /// <summary>
    /// Returns once this replica holds the dispatcher lock, trying every <see cref="OutboxOptions.StandbyInterval"/>.
    /// Meanwhile the rows this replica commits are the leader's to publish: each wake-up goes on to it as a NOTIFY on
    /// this session, after the commit, so that the writers' own transactions notify no one.
    /// </summary>
    private async Task StandByAsync(NpgsqlConnection connection, CancellationToken stoppingToken)
    {
        await using var tryLock = new NpgsqlCommand(LeaderLock, connection);
        await using var wakeLeader = new NpgsqlCommand($"NOTIFY {OutboxWakeUp.Channel}", connection);
        while (!(bool)(await tryLock.ExecuteScalarAsync(stoppingToken))!)
        {
            var nextTry = clock.GetUtcNow() + _options.StandbyInterval;
            while (await committed.WaitAsync(nextTry - clock.GetUtcNow(), stoppingToken))
            {
                committed.Reset();
                await wakeLeader.ExecuteNonQueryAsync(stoppingToken);
            }
        }
    }

    /// <summary>
    /// Dispatches while this replica leads. Rows committed here wake it in process (<see cref="OutboxSignal"/>); a
    /// second session listens for the others: rows committed on standby replicas, and rows marked to heal
    /// (<see cref="OutboxRedelivery"/>). The lead ends when either session fails, or when the service stops.
    /// </summary>
    private async Task LeadAsync(NpgsqlConnection connection, CancellationToken stoppingToken)
    {
        await using var listener = await OpenConnectionAsync(stoppingToken);
        listener.Notification += (_, _) => committed.Raise();
        await using (var listen = new NpgsqlCommand($"LISTEN {OutboxWakeUp.Channel}", listener))
        {
            await listen.ExecuteNonQueryAsync(stoppingToken);
        }

        using var leading = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var dispatching = DispatchWhileActiveAsync(connection, leading.Token);
        var listening = WaitForNotificationsAsync(listener, leading.Token);
        try
        {
            await await Task.WhenAny(dispatching, listening);
        }
        finally
        {
            await leading.CancelAsync();
            await Task.WhenAll(dispatching, listening).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private static async Task WaitForNotificationsAsync(NpgsqlConnection listener, CancellationToken leading)
    {
        while (true)
        {
            await listener.WaitAsync(leading);
        }
    }

    private async Task DispatchWhileActiveAsync(NpgsqlConnection connection, CancellationToken stoppingToken)
    {
        // A wake-up raised while a read runs may be for a row that read could not see: it is kept, and read for at once.
        async Task<List<OutboxMessage>> MarkSentAndReadAsync(IReadOnlyCollection<OutboxMessage> sent, CancellationToken token)
        {
            committed.Reset();
            return await MarkSentAndReadPendingAsync(connection, sent, token);
        }

        // Rows Kafka acknowledged wait here to be marked sent by the next read, which the next wake-up or the poll
        // interval brings: events arriving one at a time then cost one statement each instead of two.
        List<OutboxMessage> unmarked = [];
        try
        {
            var pending = await MarkSentAndReadAsync([], stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                await ReportBacklogAsync(connection, unmarked, stoppingToken);
                if (pending.Count == 0)
                {
                    // Wakes when rows commit, or after the poll interval should a wake-up be lost.
                    await committed.WaitAsync(_options.PollInterval, stoppingToken);

                    pending = await MarkSentAndReadAsync(unmarked, stoppingToken);
                    unmarked = [];
                    continue;
                }

                (pending, unmarked) = await _untilKafkaAnswers.ExecuteAsync<(List<OutboxMessage>, List<OutboxMessage>)>(async token =>
                {
                    var (delivered, refused) = await PublishAsync(pending, token);
                    await ParkAsync(connection, refused, token);
                    if (delivered.Count + refused.Count < pending.Count)
                    {
                        await MarkSentAndReadAsync(delivered, token);
                        pending = pending.Except(delivered).Except(refused.Select(r => r.Row)).ToList();
                        throw new KafkaException(ErrorCode.Local_MsgTimedOut);
                    }

                    // Read on at once when more rows committed meanwhile, or when a full batch suggests more are waiting.
                    return committed.IsRaised || pending.Count >= _options.BatchSize
                        ? (await MarkSentAndReadAsync(delivered, token), [])
                        : ([], delivered);
                }, stoppingToken);
            }
        }
        finally
        {
            if (unmarked.Count > 0 && stoppingToken.IsCancellationRequested)
            {
                // Stopping: mark what was delivered, so the next dispatcher does not publish it again.
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await ((Task)MarkSentAndReadPendingAsync(connection, unmarked, timeout.Token)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    internal async Task<NpgsqlConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        if (_dataSource is null)
        {
            await using var scope = services.CreateAsyncScope();
            var connectionString = scope.ServiceProvider.GetRequiredService<TContext>().Database.GetConnectionString();
            // Unpooled: closing the connection ends the session, which releases the dispatcher lock at once.
            var leaderConnection = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false };
            leaderConnection.Options = $"{leaderConnection.Options} {LeaderSessionKeepalives} {LeaderSessionPlans}".Trim();
            _dataSource = NpgsqlDataSource.Create(leaderConnection);
        }

        return await _dataSource.OpenConnectionAsync(cancellationToken);
    }

    /// <summary>
    /// Marks the rows just delivered as sent and reads the next unsent ones, in one statement: one round trip and one
    /// transaction per dispatch cycle. The read sees the table as it was before the update, hence the exclusion of the
    /// rows it marks. A row asked to heal after it was read (<see cref="OutboxRedelivery"/>) is not marked: it is read
    /// and sent again.
    /// </summary>
    internal async Task<List<OutboxMessage>> MarkSentAndReadPendingAsync(NpgsqlConnection connection, IReadOnlyCollection<OutboxMessage> sent,
        CancellationToken cancellationToken)
    {
        await using var query = new NpgsqlCommand("""
            WITH sent AS (UPDATE outbox_messages SET sent_at = now(), healing = false
                          WHERE sequence = ANY($1) AND (NOT healing OR sequence = ANY($3)) RETURNING sequence)
            SELECT sequence, id, topic, key, type, source, subject, time, data, traceparent, tracestate, healing
            FROM outbox_messages WHERE sent_at IS NULL AND parked_at IS NULL AND sequence NOT IN (SELECT sequence FROM sent)
            ORDER BY sequence LIMIT $2
            """, connection)
        {
            Parameters =
            {
                new() { Value = sent.Select(row => row.Sequence).ToArray() },
                new() { Value = _options.BatchSize },
                new() { Value = sent.Where(row => row.Healing).Select(row => row.Sequence).ToArray() },
            },
        };
        await using var reader = await query.ExecuteReaderAsync(cancellationToken);
        var rows = new List<OutboxMessage>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new OutboxMessage
            {
                Sequence = reader.GetInt64(0),
                Id = reader.GetGuid(1),
                Topic = reader.GetString(2),
                Key = reader.GetString(3),
                Type = reader.GetString(4),
                Source = reader.GetString(5),
                Subject = reader.GetString(6),
                Time = reader.GetFieldValue<DateTimeOffset>(7),
                Data = reader.GetFieldValue<byte[]>(8),
                TraceParent = reader.IsDBNull(9) ? null : reader.GetString(9),
                TraceState = reader.IsDBNull(10) ? null : reader.GetString(10),
                Healing = reader.GetBoolean(11),
            });
        }

        return rows;
    }

    /// <summary>
    /// Hands every row to the producer in sequence order, then waits for the acknowledgements. The idempotent
    /// producer keeps that order within each partition, retries included. Returns the rows the broker acknowledged
    /// and those it refused for good.
    /// </summary>
    internal async Task<(List<OutboxMessage> Delivered, List<(OutboxMessage Row, string Reason)> Refused)> PublishAsync(IReadOnlyList<OutboxMessage> rows, CancellationToken cancellationToken)
    {
        var deliveries = new List<(OutboxMessage Row, Task<DeliveryResult<string?, byte[]?>> Delivery, Activity? Span)>(rows.Count);
        foreach (var row in rows)
        {
            var span = StartPublishSpan(row);
            var message = KafkaCloudEventBinding.ToKafkaMessage(ToCloudEvent(row, span));
            deliveries.Add((row, producer.ProduceAsync(row.Topic, message, cancellationToken), span));
        }

        var delivered = new List<OutboxMessage>(rows.Count);
        var refused = new List<(OutboxMessage Row, string Reason)>();
        foreach (var (row, delivery, span) in deliveries)
        {
            try
            {
                var result = await delivery;
                span?.SetTag("messaging.destination.partition.id", result.Partition.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
                span?.SetTag("messaging.kafka.offset", result.Offset.Value);
                telemetry.PublishDuration.Record((clock.GetUtcNow() - row.Time).TotalSeconds,
                    new KeyValuePair<string, object?>("messaging.destination.name", row.Topic));
                delivered.Add(row);
            }
            catch (ProduceException<string?, byte[]?> ex) when (RefusedForGood.Contains(ex.Error.Code))
            {
                span?.SetStatus(ActivityStatusCode.Error, ex.Error.Reason);
                refused.Add((row, $"{ex.Error.Code}: {ex.Error.Reason}"));
            }
            catch (ProduceException<string?, byte[]?> ex)
            {
                span?.SetStatus(ActivityStatusCode.Error, ex.Error.Reason);
                logger.LogWarning("Outbox event {EventId} ({Type}) was not acknowledged: {Reason}", row.Id, row.Type, ex.Error.Reason);
            }
            finally
            {
                span?.Dispose();
            }
        }

        return (delivered, refused);
    }

    private async Task ParkAsync(NpgsqlConnection connection, List<(OutboxMessage Row, string Reason)> refused, CancellationToken cancellationToken)
    {
        foreach (var (row, reason) in refused)
        {
            await using var park = new NpgsqlCommand("UPDATE outbox_messages SET parked_at = now(), park_reason = $2 WHERE sequence = $1", connection)
            {
                Parameters = { new() { Value = row.Sequence }, new() { Value = reason } },
            };
            await park.ExecuteNonQueryAsync(cancellationToken);
            telemetry.OutboxParked.Add(1, new KeyValuePair<string, object?>("messaging.destination.name", row.Topic));
            logger.LogError("Outbox event {EventId} ({Type}) was refused by the broker for good and is parked: {Reason}", row.Id, row.Type, reason);
        }
    }

    /// <summary>The backlog: rows not yet acknowledged by Kafka (those acknowledged but not yet marked sent excluded).</summary>
    private async Task ReportBacklogAsync(NpgsqlConnection connection, List<OutboxMessage> acknowledged, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (now - _lastBacklogReport < BacklogReportInterval)
        {
            return;
        }

        _lastBacklogReport = now;
        await using var query = new NpgsqlCommand(
            "SELECT count(*), min(time) FROM outbox_messages WHERE sent_at IS NULL AND parked_at IS NULL AND sequence <> ALL($1)", connection)
        {
            Parameters = { new() { Value = acknowledged.Select(row => row.Sequence).ToArray() } },
        };
        await using var reader = await query.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var oldest = reader.IsDBNull(1) ? now : reader.GetFieldValue<DateTimeOffset>(1);
        telemetry.OutboxBacklog(reader.GetInt64(0), now - oldest);
    }

    private static Activity? StartPublishSpan(OutboxMessage row)
    {
        ActivityContext.TryParse(row.TraceParent, row.TraceState, out var parent);
        var span = MessagingTelemetry.ActivitySource.StartActivity($"publish {row.Topic}", ActivityKind.Producer, parent);
        span?.SetTag("messaging.system", "kafka");
        span?.SetTag("messaging.operation.type", "publish");
        span?.SetTag("messaging.destination.name", row.Topic);
        span?.SetTag("messaging.message.id", row.Id.ToString());
        span?.SetTag("messaging.kafka.message.key", row.Key);
        span?.SetTag("cloudevents.event_type", row.Type);
        return span;
    }

    private static CloudEvent ToCloudEvent(OutboxMessage row, Activity? span)
    {
        var cloudEvent = new CloudEvent(CloudEventsSpecVersion.V1_0, KafkaCloudEventBinding.ExtensionAttributes)
        {
            Id = row.Id.ToString(),
            Source = new Uri(row.Source, UriKind.RelativeOrAbsolute),
            Type = row.Type,
            Time = row.Time,
            Subject = row.Subject,
            DataContentType = "application/json",
            Data = row.Data,
        };
        cloudEvent.SetPartitionKey(row.Key);
        if (row.Healing)
        {
            cloudEvent[KafkaCloudEventBinding.HealingAttribute] = true;
        }
        // Consumers continue from the publish span when there is one, else from the context the row was written in.
        var traceParent = span?.Id ?? row.TraceParent;
        if (traceParent is not null)
        {
            cloudEvent[KafkaCloudEventBinding.TraceParentAttribute] = traceParent;
            var traceState = span?.TraceStateString ?? row.TraceState;
            if (!string.IsNullOrEmpty(traceState))
            {
                cloudEvent[KafkaCloudEventBinding.TraceStateAttribute] = traceState;
            }
        }

        return cloudEvent;
    }

    public override void Dispose()
    {
        _dataSource?.Dispose();
        base.Dispose();
    }
}
