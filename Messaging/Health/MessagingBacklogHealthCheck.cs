using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using ShopChoreography.Messaging.Kafka;
using ShopChoreography.Messaging.Outbox;

namespace ShopChoreography.Messaging.Health;

/// <summary>
/// Degraded (never Unhealthy: the service still works, it is behind) while the outbox holds more unsent events than
/// <see cref="MessagingHealthOptions.MaxOutboxBacklog"/> or the consumer is further behind its partitions than
/// <see cref="MessagingHealthOptions.MaxConsumerLag"/>; the description says which, with the numbers.
/// </summary>
internal sealed class MessagingBacklogHealthCheck<TContext>(IServiceProvider services, IOptions<MessagingOptions> options)
    : IHealthCheck
    where TContext : DbContext
{
    public const string Name = "messaging-backlog";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var limits = options.Value.Health;
        var outboxBacklog = await OutboxBacklogAsync(limits.MaxOutboxBacklog, cancellationToken);
        var consumerLag = services.GetService<KafkaClientMetrics>()?.ConsumerLag ?? 0;

        List<string> over = [];
        if (outboxBacklog > limits.MaxOutboxBacklog)
        {
            over.Add($"outbox backlog {outboxBacklog} is over Messaging:Health:MaxOutboxBacklog ({limits.MaxOutboxBacklog})");
        }

        if (consumerLag > limits.MaxConsumerLag)
        {
            over.Add($"consumer lag {consumerLag} is over Messaging:Health:MaxConsumerLag ({limits.MaxConsumerLag})");
        }

        return over.Count == 0
            ? HealthCheckResult.Healthy($"outbox backlog {outboxBacklog}, consumer lag {consumerLag}")
            : HealthCheckResult.Degraded(string.Join("; ", over));
    }

    /// <summary>Counts at most one row past the limit, so a huge backlog costs no more to check than a small one.</summary>
    private async Task<int> OutboxBacklogAsync(int limit, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<TContext>().Set<OutboxMessage>()
            .Where(row => row.SentAt == null && row.ParkedAt == null)
            .OrderBy(row => row.Sequence) // the pending rows' index order; without it EF warns about Take
            .Take(limit + 1)
            .CountAsync(cancellationToken);
    }
}
