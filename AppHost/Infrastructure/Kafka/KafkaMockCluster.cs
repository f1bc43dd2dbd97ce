using Confluent.Kafka;

namespace ShopChoreography.AppHost.Infrastructure.Kafka;

/// <summary>Kafka protocol request types (API keys) the mock cluster can be told to fail.</summary>
public enum KafkaRequest : short
{
    Produce = 0,
    Fetch = 1,
}

/// <summary>
/// librdkafka's in-memory mock cluster: a real Kafka-protocol listener per broker on loopback, for development
/// and tests only. It keeps data in memory (newest ~5 MiB or 100,000 batches per partition), has no CreateTopics
/// admin request, no SASL/TLS, and picks random ports.
/// </summary>
public sealed class KafkaMockCluster : IDisposable
{
    /// <summary>The broker that leads every partition.</summary>
    public const int LeaderBrokerId = 1;

    private readonly Lock _gate = new();
    private readonly bool[] _brokerUp;
    private IntPtr _client;
    private IntPtr _cluster;

    public KafkaMockCluster(int brokerCount)
    {
        _client = LibrdkafkaMockApi.CreateClient(new Dictionary<string, string>
        {
            ["client.id"] = "kafka-mock-cluster",
            ["log_level"] = "3", // errors only: the mock logs every connection at the default level
        });
        _cluster = LibrdkafkaMockApi.CreateCluster(_client, brokerCount);
        if (_cluster == IntPtr.Zero)
        {
            LibrdkafkaMockApi.DestroyClient(_client);
            throw new InvalidOperationException("librdkafka could not create its mock cluster.");
        }

        _brokerUp = Enumerable.Repeat(true, brokerCount).ToArray();
        BootstrapServers = LibrdkafkaMockApi.Bootstraps(_cluster);
    }

    public string BootstrapServers { get; }

    /// <summary>Broker ids are 1..BrokerCount, as the mock numbers them.</summary>
    public int BrokerCount => _brokerUp.Length;

    public int BrokersUp
    {
        get { lock (_gate) { return _brokerUp.Count(up => up); } }
    }

    public bool IsBrokerUp(int brokerId)
    {
        lock (_gate) { return _brokerUp[ValidBrokerId(brokerId) - 1]; }
    }

    /// <summary>
    /// Creates a topic whose partitions are all led by <see cref="LeaderBrokerId"/>. The mock answers a fetch that finds
    /// no records only when <c>fetch.wait.max.ms</c> expires, so a consumer polls every broker that leads one of its
    /// partitions that often, at rest too; with one leader it polls one broker instead of all of them. The mock moves no
    /// leader when a broker goes down: taking the leader down is an outage of every topic, any other broker none.
    /// </summary>
    public void CreateTopic(string topic, int partitions, int replicationFactor)
    {
        lock (_gate)
        {
            var cluster = LiveCluster();
            LibrdkafkaMockApi.CreateTopic(cluster, topic, partitions, replicationFactor);
            for (var partition = 0; partition < partitions; partition++)
            {
                LibrdkafkaMockApi.SetPartitionLeader(cluster, topic, partition, LeaderBrokerId);
            }
        }
    }

    public void SetBrokerDown(int brokerId)
    {
        lock (_gate)
        {
            LibrdkafkaMockApi.SetBrokerDown(LiveCluster(), ValidBrokerId(brokerId));
            _brokerUp[brokerId - 1] = false;
        }
    }

    public void SetBrokerUp(int brokerId)
    {
        lock (_gate)
        {
            LibrdkafkaMockApi.SetBrokerUp(LiveCluster(), ValidBrokerId(brokerId));
            _brokerUp[brokerId - 1] = true;
        }
    }

    public void SetAllBrokersUp()
    {
        for (var brokerId = 1; brokerId <= BrokerCount; brokerId++)
        {
            SetBrokerUp(brokerId);
        }
    }

    /// <summary>
    /// Fault injection: the cluster answers the next requests of this type, whichever broker and client sends them,
    /// with these errors, one request per error, in order; a request that fails is not applied (a failed produce
    /// appends nothing). <see cref="ErrorCode.Local_Transport"/> makes the broker drop the connection instead.
    /// </summary>
    public void FailNextRequests(KafkaRequest request, IReadOnlyList<ErrorCode> errors)
    {
        lock (_gate) { LibrdkafkaMockApi.PushRequestErrors(LiveCluster(), (short)request, [.. errors.Select(error => (int)error)]); }
    }

    /// <summary>Forgets the errors still waiting to fail requests of this type.</summary>
    public void ClearRequestErrors(KafkaRequest request)
    {
        lock (_gate) { LibrdkafkaMockApi.ClearRequestErrors(LiveCluster(), (short)request); }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_cluster == IntPtr.Zero)
            {
                return;
            }

            LibrdkafkaMockApi.DestroyCluster(_cluster);
            LibrdkafkaMockApi.DestroyClient(_client);
            _cluster = _client = IntPtr.Zero;
        }
    }

    private IntPtr LiveCluster() =>
        _cluster != IntPtr.Zero ? _cluster : throw new ObjectDisposedException(nameof(KafkaMockCluster));

    private int ValidBrokerId(int brokerId) =>
        brokerId >= 1 && brokerId <= BrokerCount
            ? brokerId
            : throw new ArgumentOutOfRangeException(nameof(brokerId), brokerId, $"Broker ids are 1..{BrokerCount}.");
}
