using Confluent.Kafka;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace ShopChoreography.Messaging.Health;

/// <summary>
/// A fatal producer error (a fenced or broken idempotent producer) makes the producer unusable for good: every later
/// publish would fail forever. The liveness check (<c>/alive</c>) then fails, so the orchestrator restarts the process
/// with a new producer; the outbox keeps what was not yet published, so nothing is lost.
/// </summary>
internal sealed class ProducerHealth(ILogger<ProducerHealth> logger) : IHealthCheck
{
    public const string Name = "kafka-producer";

    private volatile Error? _fatal;

    public void OnError(Error error)
    {
        if (error.IsFatal && _fatal is null)
        {
            _fatal = error;
            logger.LogCritical("The Kafka producer failed for good ({Code}: {Reason}); /alive now fails so the process is restarted",
                error.Code, error.Reason);
        }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_fatal is { } fatal
            ? HealthCheckResult.Unhealthy($"The Kafka producer failed for good: {fatal.Code}: {fatal.Reason}")
            : HealthCheckResult.Healthy());
}
