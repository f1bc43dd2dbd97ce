using System.Globalization;

namespace ShopChoreography.AppHost.Infrastructure.Kafka;

/// <summary>
/// The <c>kafka</c> resource in containers mode: a single-node KRaft broker from the official apache/kafka image,
/// modelled like Aspire's own Kafka integration (connection string = host:port of the primary endpoint).
/// </summary>
public sealed class KafkaContainerResource(string name) : ContainerResource(name), IResourceWithConnectionString
{
    public const string Image = "apache/kafka";
    public const string Tag = "4.1.0";

    /// <summary>The listener the connection string points at: the services bootstrap from it.</summary>
    public const string PrimaryEndpointName = "tcp";

    /// <summary>The listener for clients on the container network; also the broker's inter-broker listener.</summary>
    public const string InternalEndpointName = "internal";

    public const int PrimaryTargetPort = 9092;
    public const int InternalTargetPort = 9093;
    public const int ControllerPort = 9094;

    public EndpointReference PrimaryEndpoint => new(this, PrimaryEndpointName);

    public EndpointReference InternalEndpoint => new(this, InternalEndpointName);

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"{PrimaryEndpoint.Property(EndpointProperty.HostAndPort)}");

    /// <summary>
    /// What the broker tells clients to use after bootstrap, per listener. A client that bootstrapped from a listener is
    /// sent to that listener's advertised address, so it must be one the client can reach. Running, the services are
    /// processes on the host and reach the primary listener through its published port on localhost. Published, every
    /// client is another container app that reaches the broker at <c>&lt;resource name&gt;:&lt;port&gt;</c> (azd resolves a
    /// tcp binding's host to the app's name), as Aspire's own Kafka integration advertises in publish mode.
    /// </summary>
    internal static ReferenceExpression AdvertisedListeners(KafkaContainerResource resource, DistributedApplicationExecutionContext context) =>
        context.IsPublishMode
            ? ReferenceExpression.Create(
                $"PLAINTEXT_HOST://{resource.PrimaryEndpoint.Property(EndpointProperty.HostAndPort)}," +
                $"PLAINTEXT_INTERNAL://{resource.InternalEndpoint.Property(EndpointProperty.HostAndPort)}")
            : ReferenceExpression.Create(
                $"PLAINTEXT_HOST://localhost:{resource.PrimaryEndpoint.Property(EndpointProperty.Port)}," +
                $"PLAINTEXT_INTERNAL://{resource.Name}:{resource.InternalEndpoint.Property(EndpointProperty.TargetPort)}");

    /// <summary>
    /// The container's command: the image's own start script, then, once the broker answers, the contract's topics with
    /// their partitions (replication factor 1: one broker), so consumers find them before the first event is published.
    /// It keeps no data across restarts, so it creates them on every start (<c>--if-not-exists</c>). Written without
    /// braces: azd reads <c>{…}</c> in a manifest argument as an expression.
    /// </summary>
    internal static string[] StartCreatingTopics(IEnumerable<string> topics, int partitions)
    {
        var internalListener = $"localhost:{InternalTargetPort}";
        var script = string.Join("\n",
            "/etc/kafka/docker/run &",
            "broker=$!",
            "trap 'kill -TERM $broker; wait $broker' TERM INT",
            $"until /opt/kafka/bin/kafka-topics.sh --bootstrap-server {internalListener} --list > /dev/null 2>&1; do",
            "  kill -0 $broker || exit 1",
            "  sleep 2",
            "done",
            $"for topic in {string.Join(' ', topics)}; do",
            $"  /opt/kafka/bin/kafka-topics.sh --bootstrap-server {internalListener} --create --if-not-exists --topic $topic" +
            $" --partitions {partitions.ToString(CultureInfo.InvariantCulture)} --replication-factor 1",
            "done",
            "wait $broker");
        return ["/bin/sh", "-c", script];
    }
}
