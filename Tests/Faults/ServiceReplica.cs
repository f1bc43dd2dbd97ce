using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Faults;

/// <summary>
/// Another replica of a service, as a scaled-out deployment runs it: a second process of the very program Aspire
/// runs for the resource, with its working folder and environment (connection strings, Kafka client settings), on
/// another port. It shares the service's database and joins the service's consumer group, so its arrival and
/// departure move partitions between the replicas.
/// </summary>
public sealed partial class ServiceReplica : IAsyncDisposable
{
    private const int OutputLinesKept = 400;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private int _assignments;

    private ServiceReplica(string service, Process process, int port)
    {
        Service = service;
        _process = process;
        Port = port;
    }

    public string Service { get; }

    public int Port { get; }

    /// <summary>How many times the group has given this replica partitions (its consumer logs each assignment).</summary>
    public int Assignments => Volatile.Read(ref _assignments);

    public string RecentOutput => string.Join(Environment.NewLine, _output);

    /// <summary>Starts a clone of the service's running process with these settings changed, and waits until it is healthy.</summary>
    public static async Task<ServiceReplica> StartAsync(FaultDrills drills, string service, IReadOnlyDictionary<string, string> settings)
    {
        var port = FreePort();
        var startInfo = LinuxProcess.StartInfoOf(drills.ServiceProcessId(service));
        startInfo.RedirectStandardOutput = true;
        startInfo.RedirectStandardError = true;
        startInfo.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        startInfo.Environment["OTEL_RESOURCE_ATTRIBUTES"] = $"service.instance.id={service}-replica-{port}";
        // One timestamped line per entry, without colours: readable in a failure message.
        startInfo.Environment["Logging__Console__FormatterName"] = "simple";
        startInfo.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        startInfo.Environment["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ";
        startInfo.Environment["Logging__Console__FormatterOptions__ColorBehavior"] = "Disabled";
        foreach (var (key, value) in settings)
        {
            startInfo.Environment[key] = value;
        }

        var process = new Process { StartInfo = startInfo };
        var replica = new ServiceReplica(service, process, port);
        process.OutputDataReceived += (_, line) => replica.Record(line.Data);
        process.ErrorDataReceived += (_, line) => replica.Record(line.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            await Poller.UntilAsync(async () => (await http.GetAsync("/health")).StatusCode, status => status == HttpStatusCode.OK,
                $"the {service} replica on port {port} to be healthy", Deadline);
        }
        catch (TimeoutException ex)
        {
            await replica.DisposeAsync();
            throw new TimeoutException($"{ex.Message}{Environment.NewLine}Its output:{Environment.NewLine}{replica.RecentOutput}", ex);
        }
        catch
        {
            // Never leave a replica behind in the consumer group: it would hold partitions through the next tests.
            await replica.DisposeAsync();
            throw;
        }

        return replica;
    }

    /// <summary>Waits until the consumer group has given this replica partitions <paramref name="count"/> times in all.</summary>
    public async Task WaitUntilAssignedAsync(int count = 1)
    {
        try
        {
            await Poller.UntilAsync(() => Task.FromResult(Assignments), assignments => assignments >= count,
                $"the {Service} replica on port {Port} to be assigned partitions for the {count}. time", Deadline);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}{Environment.NewLine}Its output:{Environment.NewLine}{RecentOutput}", ex);
        }
    }

    /// <summary>Leaves gracefully: SIGTERM, so the host stops, finishes its records, commits and leaves the group.</summary>
    public async Task LeaveAsync()
    {
        LinuxProcess.Terminate(_process.Id);
        using var timeout = new CancellationTokenSource(Deadline);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException(
                $"The second {Service} replica did not stop within {Deadline.TotalSeconds:0} s of SIGTERM. Its output:{Environment.NewLine}{RecentOutput}");
        }
    }

    /// <summary>Crashes: SIGKILL, so the group notices only when the replica's session times out.</summary>
    public async Task CrashAsync()
    {
        LinuxProcess.Kill(_process.Id);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await CrashAsync();
        }

        _process.Dispose();
    }

    private void Record(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (AssignmentLogged().IsMatch(line))
        {
            Interlocked.Increment(ref _assignments);
        }

        _output.Enqueue(line);
        while (_output.Count > OutputLinesKept && _output.TryDequeue(out _))
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The consumer host's log line for a partition assignment ("Assigned orders.events [[3]], ...").</summary>
    [GeneratedRegex(@"\bAssigned\s+\S+\s*\[\[\d+\]\]")]
    private static partial Regex AssignmentLogged();
}
