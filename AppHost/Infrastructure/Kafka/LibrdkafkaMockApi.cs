using System.Reflection;
using System.Runtime.InteropServices;

namespace ShopChoreography.AppHost.Infrastructure.Kafka;

/// <summary>
/// The part of librdkafka's C API that runs its mock cluster (src/rdkafka_mock.h). The native library is the one
/// shipped in librdkafka.redist, which Confluent.Kafka also uses; both must load the very same file.
/// </summary>
internal static class LibrdkafkaMockApi
{
    private const string Library = "librdkafka";
    private const int ProducerClientType = 0;

    static LibrdkafkaMockApi() => NativeLibrary.SetDllImportResolver(typeof(LibrdkafkaMockApi).Assembly, Resolve);

    public static IntPtr CreateClient(IReadOnlyDictionary<string, string> config)
    {
        var conf = rd_kafka_conf_new();
        var error = new byte[512];
        foreach (var (key, value) in config)
        {
            if (rd_kafka_conf_set(conf, key, value, error, error.Length) != 0)
            {
                rd_kafka_conf_destroy(conf);
                throw new InvalidOperationException($"librdkafka rejected '{key}': {ErrorText(error)}");
            }
        }

        // On success rd_kafka_new takes ownership of conf.
        var client = rd_kafka_new(ProducerClientType, conf, error, error.Length);
        if (client == IntPtr.Zero)
        {
            rd_kafka_conf_destroy(conf);
            throw new InvalidOperationException($"librdkafka could not create a client: {ErrorText(error)}");
        }

        return client;
    }

    public static void DestroyClient(IntPtr client) => rd_kafka_destroy(client);

    public static IntPtr CreateCluster(IntPtr client, int brokerCount) => rd_kafka_mock_cluster_new(client, brokerCount);

    public static void DestroyCluster(IntPtr cluster) => rd_kafka_mock_cluster_destroy(cluster);

    public static string Bootstraps(IntPtr cluster) =>
        Marshal.PtrToStringUTF8(rd_kafka_mock_cluster_bootstraps(cluster)) ?? "";

    public static void CreateTopic(IntPtr cluster, string topic, int partitions, int replicationFactor) =>
        ThrowOnError(rd_kafka_mock_topic_create(cluster, topic, partitions, replicationFactor), $"create topic '{topic}'");

    public static void SetPartitionLeader(IntPtr cluster, string topic, int partition, int brokerId) =>
        ThrowOnError(rd_kafka_mock_partition_set_leader(cluster, topic, partition, brokerId), $"move the leader of {topic}[{partition}]");

    public static void SetBrokerDown(IntPtr cluster, int brokerId) =>
        ThrowOnError(rd_kafka_mock_broker_set_down(cluster, brokerId), $"take broker {brokerId} down");

    public static void SetBrokerUp(IntPtr cluster, int brokerId) =>
        ThrowOnError(rd_kafka_mock_broker_set_up(cluster, brokerId), $"bring broker {brokerId} up");

    /// <summary>The next <c>errors.Length</c> requests of the API key, to any broker, fail with these errors, in order.</summary>
    public static void PushRequestErrors(IntPtr cluster, short apiKey, int[] errors) =>
        rd_kafka_mock_push_request_errors_array(cluster, apiKey, (nuint)errors.Length, errors);

    public static void ClearRequestErrors(IntPtr cluster, short apiKey) => rd_kafka_mock_clear_request_errors(cluster, apiKey);

    private static void ThrowOnError(int errorCode, string what)
    {
        if (errorCode != 0)
        {
            var message = Marshal.PtrToStringUTF8(rd_kafka_err2str(errorCode));
            throw new InvalidOperationException($"The mock cluster could not {what}: {message} ({errorCode}).");
        }
    }

    private static string ErrorText(byte[] buffer) =>
        System.Text.Encoding.UTF8.GetString(buffer, 0, Math.Max(0, Array.IndexOf(buffer, (byte)0)));

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath) =>
        name == Library ? LoadedLibrary.Value : IntPtr.Zero;

    /// <summary>
    /// Binds to the librdkafka that Confluent.Kafka loaded, so a single copy lives in the process. Which file that
    /// is depends on the machine: on Debian 12 the generic build needs libsasl2.so.3 and fails, and Confluent.Kafka
    /// falls back to the centos8 build from the same folder. On Linux the loaded file is read from /proc/self/maps.
    /// </summary>
    private static readonly Lazy<IntPtr> LoadedLibrary = new(() =>
    {
        _ = Confluent.Kafka.Library.Version; // makes Confluent.Kafka load its native library now
        var loadedPath = OperatingSystem.IsLinux()
            ? File.ReadLines("/proc/self/maps")
                .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault())
                .FirstOrDefault(path => path is not null && Path.GetFileName(path).EndsWith("librdkafka.so", StringComparison.Ordinal))
            : null;

        return loadedPath is not null
            ? NativeLibrary.Load(loadedPath)
            : NativeLibrary.Load(Library, typeof(Confluent.Kafka.Library).Assembly, DllImportSearchPath.AssemblyDirectory);
    });

    [DllImport(Library)] private static extern IntPtr rd_kafka_conf_new();
    [DllImport(Library)] private static extern void rd_kafka_conf_destroy(IntPtr conf);
    [DllImport(Library)]
    private static extern int rd_kafka_conf_set(IntPtr conf, [MarshalAs(UnmanagedType.LPUTF8Str)] string name,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string value, byte[] errstr, nint errstrSize);
    [DllImport(Library)] private static extern IntPtr rd_kafka_new(int type, IntPtr conf, byte[] errstr, nint errstrSize);
    [DllImport(Library)] private static extern void rd_kafka_destroy(IntPtr rk);
    [DllImport(Library)] private static extern IntPtr rd_kafka_err2str(int err);
    [DllImport(Library)] private static extern IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);
    [DllImport(Library)] private static extern void rd_kafka_mock_cluster_destroy(IntPtr mcluster);
    [DllImport(Library)] private static extern IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr mcluster);
    [DllImport(Library)]
    private static extern int rd_kafka_mock_topic_create(IntPtr mcluster, [MarshalAs(UnmanagedType.LPUTF8Str)] string topic,
        int partitionCount, int replicationFactor);
    [DllImport(Library)]
    private static extern int rd_kafka_mock_partition_set_leader(IntPtr mcluster, [MarshalAs(UnmanagedType.LPUTF8Str)] string topic,
        int partition, int brokerId);
    [DllImport(Library)] private static extern int rd_kafka_mock_broker_set_down(IntPtr mcluster, int brokerId);
    [DllImport(Library)] private static extern int rd_kafka_mock_broker_set_up(IntPtr mcluster, int brokerId);
    [DllImport(Library)]
    private static extern void rd_kafka_mock_push_request_errors_array(IntPtr mcluster, short apiKey, nuint count, int[] errors);
    [DllImport(Library)] private static extern void rd_kafka_mock_clear_request_errors(IntPtr mcluster, short apiKey);
}
