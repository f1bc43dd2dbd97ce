namespace ShopChoreography.AppHost.Infrastructure.Kafka;

/// <summary>
/// The <c>kafka</c> resource in local mode: librdkafka's mock cluster, hosted inside the AppHost process.
/// Its connection string is the bootstrap servers list, known once the cluster has started.
/// </summary>
public sealed class KafkaMockResource(string name, int brokerCount) : Resource(name), IResourceWithConnectionString
{
    private readonly TaskCompletionSource<KafkaMockCluster> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int BrokerCount { get; } = brokerCount;

    /// <summary>The running cluster, or null before the app starts.</summary>
    public KafkaMockCluster? Cluster => _started.Task.IsCompletedSuccessfully ? _started.Task.Result : null;

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create($"{new BootstrapServers(this)}");

    internal void Started(KafkaMockCluster cluster) => _started.TrySetResult(cluster);

    private sealed class BootstrapServers(KafkaMockResource resource) : IValueProvider, IManifestExpressionProvider
    {
        public string ValueExpression => $"{{{resource.Name}.bootstrapServers}}";

        public async ValueTask<string?> GetValueAsync(CancellationToken cancellationToken = default) =>
            (await resource._started.Task.WaitAsync(cancellationToken)).BootstrapServers;
    }
}
