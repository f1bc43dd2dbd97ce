using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace ShopChoreography.Messaging.Kafka;

internal static class KafkaRetry
{
    /// <summary>
    /// Retries while Kafka does not acknowledge, with exponential backoff and jitter capped at 10 s, until it does or
    /// the service stops: what must reach Kafka (outbox events, dead letters) is never given up on.
    /// </summary>
    public static ResiliencePipeline UntilAcknowledged(ILogger logger, string what) => new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<KafkaException>(),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(200),
            MaxDelay = TimeSpan.FromSeconds(10),
            OnRetry = retry =>
            {
                logger.LogWarning(retry.Outcome.Exception, "{What} failed; retry {Attempt} in {Delay}", what, retry.AttemptNumber + 1, retry.RetryDelay);
                return ValueTask.CompletedTask;
            },
        })
        .Build();
}
