using Confluent.Kafka;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ShopChoreography.Messaging.Kafka;

/// <summary>
/// Ready when the cluster answers a metadata request in time. It has no side effects: unlike a check that
/// produces a message, it writes nothing to any topic. The health check service creates a check per run, so the
/// admin client it asks is a singleton of the connection (see <see cref="CreateAdminClient"/>).
/// </summary>
public sealed class KafkaHealthCheck(IAdminClient admin) : IHealthCheck
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>Only the properties that say how to reach the cluster; the rest belongs to producers and consumers.</summary>
    private static readonly string[] ConnectionProperties = ["bootstrap.servers", "client.", "security.", "sasl.", "ssl.", "socket.", "broker."];

    public static IAdminClient CreateAdminClient(ClientConfig clientConfig) => new AdminClientBuilder(ConnectionConfig(clientConfig)).Build();

    /// <summary>
    /// The client's settings that say how to reach the cluster, security included (TLS, SASL), so the check connects
    /// the way the producer and consumer do.
    /// </summary>
    public static AdminClientConfig ConnectionConfig(ClientConfig clientConfig) =>
        new(clientConfig.Where(property => ConnectionProperties.Any(property.Key.StartsWith))
            .ToDictionary(property => property.Key, property => property.Value));

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            // GetMetadata blocks for up to the timeout; keep it off the caller's thread.
            var metadata = await Task.Run(() => admin.GetMetadata(Timeout), cancellationToken);
            return metadata.Brokers.Count > 0
                ? HealthCheckResult.Healthy($"{metadata.Brokers.Count} broker(s) answer.")
                : HealthCheckResult.Unhealthy("The cluster reports no brokers.");
        }
        catch (KafkaException ex)
        {
            return HealthCheckResult.Unhealthy("The Kafka cluster does not answer metadata requests.", ex);
        }
    }
}
