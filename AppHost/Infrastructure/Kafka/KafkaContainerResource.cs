using Aspire.Hosting.ApplicationModel;

namespace ShopChoreography.AppHost.Infrastructure.Kafka;

/// <summary>
/// The <c>kafka</c> resource in containers mode: a single-node KRaft broker from the official apache/kafka image,
/// modelled like Aspire's own Kafka integration (connection string = host:port of the primary endpoint).
/// </summary>
public sealed class KafkaContainerResource(string name) : ContainerResource(name), IResourceWithConnectionString
{
    public const string Image = "apache/kafka";
    public const string Tag = "4.1.0";

    /// <summary>The listener for clients outside the container network (the services run as projects on the host).</summary>
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
}
