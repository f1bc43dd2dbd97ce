using System.Globalization;
using Aspire.Hosting;

namespace ShopChoreography.Benchmarks.Saga;

/// <summary>CPU time per process of the running system, between two readings, and the services' memory.</summary>
internal sealed class Meters(DistributedApplication app)
{
    public static readonly string[] Services = ["orders", "payments", "inventory"];

    /// <summary>
    /// The dashboard the AppHost starts as a process of its own (unless <c>--telemetry off</c>): it receives every span,
    /// log and metric the services send, so its CPU is part of what an order costs on a developer's machine.
    /// </summary>
    private const string Dashboard = "aspire-dashboard";

    /// <summary>The mock cluster's threads (librdkafka names them rdk:mock...) run inside the AppHost, which here is this process.</summary>
    public const string BrokerThreads = "rdk:mock";

    public IReadOnlyDictionary<string, double> CpuSeconds()
    {
        var cpu = new Dictionary<string, double>();
        foreach (var resource in Services.Append("postgres"))
        {
            cpu[resource] = ProcessMeter.TreeCpuSeconds(ProcessIdOf(resource));
        }

        cpu["broker"] = ProcessMeter.ThreadCpuSeconds(BrokerThreads);
        if (TryProcessIdOf(Dashboard) is { } dashboard)
        {
            cpu["dashboard"] = ProcessMeter.TreeCpuSeconds(dashboard);
        }

        return cpu;
    }

    /// <summary>Counts PostgreSQL's waits from now on: about one per round trip (see <see cref="TreeWaitCounter"/>).</summary>
    public TreeWaitCounter CountPostgresWaits() => new(ProcessIdOf("postgres"));

    public IReadOnlyDictionary<string, (double Now, double Peak)> ServiceMemoryMiB() =>
        Services.ToDictionary(service => service, service => ProcessMeter.LargestResidentSetMiB(ProcessIdOf(service)));

    public static IReadOnlyDictionary<string, double> Used(IReadOnlyDictionary<string, double> before, IReadOnlyDictionary<string, double> after) =>
        after.ToDictionary(entry => entry.Key, entry => entry.Value - before[entry.Key]);

    private int ProcessIdOf(string resource) =>
        TryProcessIdOf(resource) ?? throw new InvalidOperationException($"Aspire shows no process id for '{resource}'.");

    private int? TryProcessIdOf(string resource) =>
        app.ResourceNotifications.TryGetCurrentState(resource, out var state)
        && state.Snapshot.Properties.SingleOrDefault(p => p.Name == "executable.pid")?.Value is { } pid
            ? Convert.ToInt32(pid, CultureInfo.InvariantCulture)
            : null;
}
