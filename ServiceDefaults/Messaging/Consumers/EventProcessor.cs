using System.Diagnostics;
using System.Text.Json;
using CloudNative.CloudEvents;
using Confluent.Kafka;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Polly;
using Polly.Retry;
using ShopChoreography.ServiceDefaults.Messaging.CloudEvents;
using ShopChoreography.ServiceDefaults.Messaging.Inbox;

namespace ShopChoreography.ServiceDefaults.Messaging.Consumers;

public enum ConsumeOutcome
{
    /// <summary>The handler ran and its changes committed with the inbox record.</summary>
    Applied,

    /// <summary>The inbox already had this event: nothing changed.</summary>
    Duplicate,

    /// <summary>A valid CloudEvent of a type this service has no handler for (forward compatibility).</summary>
    Skipped,

    /// <summary>The record went to the dead-letter topic.</summary>
    DeadLettered,
}

/// <summary>
/// Applies one record: read it as a CloudEvent, find its handler, then in one database transaction record the
/// event in the inbox and run the handler. Transient failures are retried with exponential backoff and jitter;
/// what cannot succeed goes to the dead-letter topic, so one poison record never stalls its partition.
/// </summary>
internal sealed class EventProcessor<TContext>(
    IServiceProvider services,
    EventHandlers handlers,
    DeadLetterPublisher deadLetters,
    IOptions<MessagingOptions> options,
    MessagingTelemetry telemetry,
    ILogger<EventProcessor<TContext>> logger)
    where TContext : DbContext
{
    private readonly ResiliencePipeline _retryTransient = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
            MaxRetryAttempts = options.Value.Consumer.MaxRetryAttempts,
            Delay = options.Value.Consumer.RetryBaseDelay,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            OnRetry = retry =>
            {
                telemetry.Retried.Add(1);
                logger.LogWarning(retry.Outcome.Exception, "Transient failure applying an event; retry {Attempt} in {Delay}",
                    retry.AttemptNumber + 1, retry.RetryDelay);
                return ValueTask.CompletedTask;
            },
        })
        .Build();

    private string Consumer => options.Value.ServiceName;

    public async Task<ConsumeOutcome> ProcessAsync(ConsumeResult<string?, byte[]?> record, CancellationToken cancellationToken)
    {
        CloudEvent cloudEvent;
        try
        {
            cloudEvent = KafkaCloudEventBinding.ToCloudEvent(record.Message);
        }
        catch (InvalidCloudEventException ex)
        {
            return await DeadLetterAsync(record, ex.Reason, ex, attempts: 1, span: null, cancellationToken);
        }

        using var span = StartProcessSpan(record, cloudEvent);
        if (!handlers.TryGet(cloudEvent.Type!, out var handler))
        {
            return Count(ConsumeOutcome.Skipped, cloudEvent);
        }

        var context = new EventContext(cloudEvent.Id!, cloudEvent.Source!.OriginalString, cloudEvent.Type!, cloudEvent.Time, cloudEvent.Subject);
        object data;
        try
        {
            data = JsonSerializer.Deserialize((byte[]?)cloudEvent.Data ?? [], handler.DataType, MessagingJson.Options)
                ?? throw new JsonException("the data is JSON null");
        }
        catch (JsonException ex)
        {
            return await DeadLetterAsync(record, $"data of '{cloudEvent.Type}' is not a valid {handler.DataType.Name}: {ex.Message}",
                ex, attempts: 1, span, cancellationToken);
        }

        var attempts = 0;
        var started = Stopwatch.GetTimestamp();
        try
        {
            var outcome = await _retryTransient.ExecuteAsync(async token =>
            {
                attempts++;
                return await ApplyOnceAsync(handler, data, context, token);
            }, cancellationToken);
            telemetry.HandlerDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds,
                new KeyValuePair<string, object?>("cloudevents.event_type", context.Type));
            return Count(outcome, cloudEvent);
        }
        catch (EventRejectedException ex)
        {
            return await DeadLetterAsync(record, $"rejected by the handler of '{context.Type}': {ex.Message}", ex, attempts, span, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            var reason = IsTransient(ex)
                ? $"still failing after {attempts} attempts: {ex.Message}"
                : $"the handler of '{context.Type}' failed: {ex.Message}";
            return await DeadLetterAsync(record, reason, ex, attempts, span, cancellationToken);
        }
    }

    private async Task<ConsumeOutcome> ApplyOnceAsync(HandlerRegistration handler, object data, EventContext context, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (!await InboxStore.TryRecordAsync(db, Consumer, context, cancellationToken))
        {
            return ConsumeOutcome.Duplicate; // disposing the transaction rolls it back
        }

        await handler.Invoke(scope.ServiceProvider, data, context, cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return ConsumeOutcome.Applied;
    }

    private async Task<ConsumeOutcome> DeadLetterAsync(ConsumeResult<string?, byte[]?> record, string reason, Exception exception,
        int attempts, Activity? span, CancellationToken cancellationToken)
    {
        span?.SetStatus(ActivityStatusCode.Error, reason);
        await deadLetters.PublishAsync(record, reason, exception, attempts, cancellationToken);
        telemetry.Consumed.Add(1, new KeyValuePair<string, object?>("outcome", "dead_lettered"));
        return ConsumeOutcome.DeadLettered;
    }

    private ConsumeOutcome Count(ConsumeOutcome outcome, CloudEvent cloudEvent)
    {
        telemetry.Consumed.Add(1,
            new KeyValuePair<string, object?>("outcome", outcome.ToString().ToLowerInvariant()),
            new KeyValuePair<string, object?>("cloudevents.event_type", cloudEvent.Type));
        return outcome;
    }

    private Activity? StartProcessSpan(ConsumeResult<string?, byte[]?> record, CloudEvent cloudEvent)
    {
        ActivityContext.TryParse((string?)cloudEvent[KafkaCloudEventBinding.TraceParentAttribute],
            (string?)cloudEvent[KafkaCloudEventBinding.TraceStateAttribute], out var parent);
        var span = MessagingTelemetry.ActivitySource.StartActivity($"process {record.Topic}", ActivityKind.Consumer, parent);
        span?.SetTag("messaging.system", "kafka");
        span?.SetTag("messaging.operation.type", "process");
        span?.SetTag("messaging.destination.name", record.Topic);
        span?.SetTag("messaging.destination.partition.id", record.Partition.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        span?.SetTag("messaging.kafka.offset", record.Offset.Value);
        span?.SetTag("messaging.consumer.group.name", Consumer);
        span?.SetTag("messaging.message.id", cloudEvent.Id);
        span?.SetTag("messaging.kafka.message.key", record.Message.Key);
        span?.SetTag("cloudevents.event_type", cloudEvent.Type);
        return span;
    }

    /// <summary>Failures worth another try: lost connections, serialization failures, deadlocks, timeouts, concurrency conflicts.</summary>
    internal static bool IsTransient(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected
                                      || postgres.IsTransient,
        NpgsqlException npgsql => npgsql.IsTransient,
        DbUpdateConcurrencyException => true,
        DbUpdateException { InnerException: { } inner } => IsTransient(inner),
        TimeoutException => true,
        _ => false,
    };
}
