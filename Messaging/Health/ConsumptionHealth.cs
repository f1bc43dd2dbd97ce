using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ShopChoreography.Messaging.Health;

/// <summary>Degraded while an operator has paused consumption: the service answers, but its saga steps wait.</summary>
internal sealed class ConsumptionHealth(IConsumerControl consumer) : IHealthCheck
{
    public const string Name = "kafka-consumption";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(consumer.State.PausedByOperator
            ? HealthCheckResult.Degraded($"An operator paused consumption: {consumer.State.PausedPartitions} of {consumer.State.AssignedPartitions} partitions paused.")
            : HealthCheckResult.Healthy());
}
