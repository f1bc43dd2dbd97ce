using System.Diagnostics;
using System.Text.Json;
using CloudNative.CloudEvents;
using Confluent.Kafka;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using ShopChoreography.Messaging.CloudEvents;
using ShopChoreography.Messaging.Inbox;
using ShopChoreography.Messaging.Outbox;
using ShopChoreography.Messaging.Telemetry;

namespace ShopChoreography.Messaging.Consumers;

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
/// event in the inbox and run the handler. An outage (the database or Kafka unavailable) is waited out with capped
/// exponential backoff for as long as it lasts, keeping the partition's position; only what can never succeed goes to
/// the dead-letter topic (see <see cref="DeadLetterCategory"/>), so one poison record never stalls its partition.
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
    private static readonly ResiliencePropertyKey<RetryBudget> Budget = new("shop.retry-budget");

    private readonly ConsumerOptions _options = options.Value.Consumer;
    private readonly ResiliencePipeline<ConsumeOutcome> _retry = BuildRetry(options.Value.Consumer, telemetry, logger);

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
            return await DeadLetterAsync(record, DeadLetterCategory.InvalidCloudEvent, ex.Reason, ex, attempts: 1, span: null, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Whatever a record holds, it must never stop its partition.
            return await DeadLetterAsync(record, DeadLetterCategory.InvalidCloudEvent, $"the record cannot be read: {ex.Message}", ex,
                attempts: 1, span: null, cancellationToken);
        }

        using var span = StartProcessSpan(record, cloudEvent);
        using var logScope = logger.BeginScope(new EventLogScope(cloudEvent, span));
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
            EventValidation.RejectIfBroken((IIntegrationEvent)data);
        }
        catch (EventRejectedException ex)
        {
            return await DeadLetterAsync(record, DeadLetterCategory.Rejected, $"rejected by the rules of '{cloudEvent.Type}': {ex.Message}",
                ex, attempts: 1, span, cancellationToken);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            // InvalidOperationException: System.Text.Json refuses invalid UTF-16 (a lone surrogate) in a string.
            return await DeadLetterAsync(record, DeadLetterCategory.InvalidData,
                $"data of '{cloudEvent.Type}' is not a valid {handler.DataType.Name}: {ex.Message}", ex, attempts: 1, span, cancellationToken);
        }

        var healing = KafkaCloudEventBinding.IsHealing(cloudEvent);
        var started = Stopwatch.GetTimestamp();
        var resilience = ResilienceContextPool.Shared.Get(cancellationToken);
        var budget = new RetryBudget(this);
        resilience.Properties.Set(Budget, budget);
        try
        {
            var outcome = await _retry.ExecuteAsync(async (ctx, _) =>
            {
                budget.Attempts++;
                return await ApplyOnceAsync(handler, data, context, healing, ctx.CancellationToken);
            }, resilience, 0);
            telemetry.HandlerDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds,
                new KeyValuePair<string, object?>("cloudevents.event_type", context.Type));
            return Count(outcome, cloudEvent);
        }
        catch (EventRejectedException ex)
        {
            return await DeadLetterAsync(record, DeadLetterCategory.Rejected, $"rejected by the handler of '{context.Type}': {ex.Message}",
                ex, budget.Attempts, span, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            return Failures.Classify(ex) == FailureKind.InvalidData
                ? await DeadLetterAsync(record, DeadLetterCategory.InvalidData,
                    $"the database refused the data of '{context.Type}': {ex.Message}", ex, budget.Attempts, span, cancellationToken)
                : await DeadLetterAsync(record, DeadLetterCategory.HandlerFailed,
                    $"the handler of '{context.Type}' still failed after {budget.Attempts} attempts while the database answered: {ex.Message}",
                    ex, budget.Attempts, span, cancellationToken);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(resilience);
        }
    }

    /// <summary>
    /// Applies the event optimistically: redeliveries are rare, so the inbox record is written with the handler's
    /// changes rather than checked first, which saves a round trip per event. A redelivery fails on the inbox's primary
    /// key, or earlier on rules its first delivery changed; only then is the inbox asked whether it was a duplicate.
    /// </summary>
    private async Task<ConsumeOutcome> ApplyOnceAsync(HandlerRegistration handler, object data, EventContext context, bool healing,
        CancellationToken cancellationToken)
    {
        try
        {
            await ApplyAsync(handler, data, context, cancellationToken);
            return ConsumeOutcome.Applied;
        }
        catch (Exception ex) when (!Failures.IsTransient(ex) && !cancellationToken.IsCancellationRequested)
        {
            if (await AppliedBeforeAsync(context, healing, cancellationToken))
            {
                return ConsumeOutcome.Duplicate;
            }

            throw;
        }
    }

    private async Task ApplyAsync(HandlerRegistration handler, object data, EventContext context, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var consumed = scope.ServiceProvider.GetRequiredService<ConsumedEvent>();
        consumed.Context = context;
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        await using var transaction = await db.Database.BeginUnitOfWorkAsync(cancellationToken);
        InboxStore.Record(db, Consumer, context);
        await handler.Invoke(scope.ServiceProvider, data, context, cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        consumed.Committed();
    }

    /// <summary>
    /// Whether this consumer applied the event before. A healing copy of such an event asks every service on the saga's
    /// path to answer again with what it published then.
    /// </summary>
    private async Task<bool> AppliedBeforeAsync(EventContext context, bool healing, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        await using var transaction = await db.Database.BeginUnitOfWorkAsync(cancellationToken);
        if (!await InboxStore.ContainsAsync(db, Consumer, context, cancellationToken))
        {
            return false;
        }

        if (healing)
        {
            await OutboxRedelivery.RepublishCausedByAsync(db, context.Id, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        return true;
    }

    /// <summary>
    /// Retries for as long as the infrastructure is unavailable, with capped exponential backoff. Only an unexpected
    /// failure seen while the database answers uses up the budget (<see cref="ConsumerOptions.MaxRetryAttempts"/>).
    /// </summary>
    private static ResiliencePipeline<ConsumeOutcome> BuildRetry(ConsumerOptions options, MessagingTelemetry telemetry, ILogger logger) =>
        new ResiliencePipelineBuilder<ConsumeOutcome>()
            .AddRetry(new RetryStrategyOptions<ConsumeOutcome>
            {
                ShouldHandle = args => args.Outcome.Exception is { } exception and not (EventRejectedException or OperationCanceledException)
                    ? args.Context.Properties.GetValue(Budget, null!).ShouldRetryAsync(exception, args.Context.CancellationToken)
                    : ValueTask.FromResult(false),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.MaxRetryDelay,
                OnRetry = retry =>
                {
                    var outage = retry.Context.Properties.GetValue(Budget, null!).WaitingForInfrastructure;
                    telemetry.Retried.Add(1, new KeyValuePair<string, object?>("reason", outage ? "outage" : "unexpected"));
                    // An outage can last minutes: say so once, then every tenth retry.
                    var level = retry.AttemptNumber % 10 == 0 ? LogLevel.Warning : LogLevel.Debug;
                    logger.Log(level, retry.Outcome.Exception, "{Kind} applying an event; retry {Attempt} in {Delay}",
                        outage ? "Waiting for the infrastructure" : "Unexpected failure", retry.AttemptNumber + 1, retry.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();

    /// <summary>Cheap and bounded: a failure we cannot classify counts against the budget only if the database answers.</summary>
    private async Task<bool> DatabaseAnswersAsync(CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<TContext>().Database.CanConnectAsync(cancellationToken);
    }

    /// <summary>The retry state of one event.</summary>
    private sealed class RetryBudget(EventProcessor<TContext> processor)
    {
        private int _unexpectedFailures;

        public int Attempts { get; set; }

        public bool WaitingForInfrastructure { get; private set; }

        public async ValueTask<bool> ShouldRetryAsync(Exception exception, CancellationToken cancellationToken)
        {
            switch (Failures.Classify(exception))
            {
                case FailureKind.InvalidData:
                    return false;
                case FailureKind.Transient:
                    WaitingForInfrastructure = true;
                    return true;
                default:
                    WaitingForInfrastructure = !await processor.DatabaseAnswersAsync(cancellationToken);
                    return WaitingForInfrastructure || ++_unexpectedFailures <= processor._options.MaxRetryAttempts;
            }
        }
    }

    private async Task<ConsumeOutcome> DeadLetterAsync(ConsumeResult<string?, byte[]?> record, DeadLetterCategory category, string reason,
        Exception exception, int attempts, Activity? span, CancellationToken cancellationToken)
    {
        span?.SetStatus(ActivityStatusCode.Error, reason);
        await deadLetters.PublishAsync(record, category, reason, exception, attempts, cancellationToken);
        telemetry.Consumed.Add(1,
            new KeyValuePair<string, object?>("outcome", "dead_lettered"),
            new KeyValuePair<string, object?>("dlq.category", DeadLetterHeaders.CategoryValue(category)));
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
}
