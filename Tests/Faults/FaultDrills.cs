using System.Globalization;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ShopChoreography.AppHost.Infrastructure.Kafka;
using ShopChoreography.AppHost.Infrastructure.Postgres;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Faults;

/// <summary>
/// Crashes and restarts parts of the running system the way they fail in production: a SIGKILL, then Aspire's own
/// <c>start</c> resource command (what the dashboard's start button sends), which runs the resource again with the
/// same port and, for PostgreSQL, the same data folder.
/// </summary>
public sealed class FaultDrills(DistributedAppFixture fixture)
{
    public const string Postgres = "postgres";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    private ResourceNotificationService Notifications => fixture.App.ResourceNotifications;

    public KafkaMockCluster Kafka => fixture.KafkaCluster;

    /// <summary>
    /// SIGKILLs the service's process and waits until Aspire sees it gone. DCP launches a project with
    /// <c>dotnet run</c>, whose child process runs the service: that child is the one killed, and <c>dotnet run</c>
    /// then exits with it.
    /// </summary>
    public async Task KillServiceAsync(string service)
    {
        LinuxProcess.Kill(ServiceProcessId(service));
        await WaitUntilStoppedAsync(service);
    }

    /// <summary>The process running the service's code: the child of the <c>dotnet run</c> that DCP launched.</summary>
    public int ServiceProcessId(string service)
    {
        var launcher = ProcessId(service);
        return LinuxProcess.Children(launcher) switch
        {
            [var child] => child,
            [] => launcher, // launched directly
            var children => throw new InvalidOperationException(
                $"'{service}' ({launcher}) has several child processes ({string.Join(", ", children)}); which one runs the service is unclear."),
        };
    }

    /// <summary>
    /// SIGKILLs the postmaster (its pid is the first line of postmaster.pid in the data folder) while its backends
    /// still hold connections and transactions, and waits until Aspire sees the server gone.
    /// </summary>
    public async Task KillPostgresAsync()
    {
        var server = fixture.App.Services.GetRequiredService<DistributedApplicationModel>().Resources.OfType<LocalPostgresResource>().Single();
        var postmaster = int.Parse(File.ReadLines(Path.Combine(server.DataDirectory, "postmaster.pid")).First(), CultureInfo.InvariantCulture);
        LinuxProcess.Kill(postmaster);
        await WaitUntilStoppedAsync(Postgres);
    }

    /// <summary>Aspire's <c>start</c> command for a stopped resource; returns once Aspire has launched it.</summary>
    public async Task StartAsync(string resource)
    {
        var result = await fixture.App.Services.GetRequiredService<ResourceCommandService>().ExecuteCommandAsync(resource, "start");
        Assert.True(result.Success, $"Aspire could not start '{resource}': {result.Message}");
    }

    public async Task WaitUntilHealthyAsync(params IEnumerable<string> resources)
    {
        foreach (var resource in resources)
        {
            using var timeout = new CancellationTokenSource(Deadline);
            try
            {
                await Notifications.WaitForResourceAsync(resource,
                    e => e.Snapshot.State?.Text == KnownResourceStates.Running && e.Snapshot.HealthStatus == HealthStatus.Healthy,
                    timeout.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                throw new TimeoutException($"'{resource}' was not running and healthy within {Deadline.TotalSeconds:0} s; it is {Describe(resource)}.");
            }
        }
    }

    /// <summary>
    /// Undoes whatever a fault left behind, even after a failed test: every broker up, no request errors waiting,
    /// every stopped resource started; then waits until PostgreSQL and the services are healthy.
    /// </summary>
    public async Task RestoreAsync()
    {
        Kafka.SetAllBrokersUp();
        Kafka.ClearRequestErrors(KafkaRequest.Produce);
        Kafka.ClearRequestErrors(KafkaRequest.Fetch);
        string[] resources = [Postgres, .. DistributedAppFixture.Services];
        foreach (var resource in resources.Where(IsStopped))
        {
            await StartAsync(resource);
        }

        await WaitUntilHealthyAsync(resources);
    }

    /// <summary>The last lines a resource logged (its console output, as the dashboard shows it), for failure messages.</summary>
    public async Task<string> RecentLogAsync(string resource, int lines = 40)
    {
        var model = fixture.App.Services.GetRequiredService<DistributedApplicationModel>();
        var logs = fixture.App.Services.GetRequiredService<ResourceLoggerService>();
        var recent = new Queue<string>();
        using var backlogOnly = new CancellationTokenSource(TimeSpan.FromSeconds(2)); // the stream stays open for new lines
        try
        {
            await foreach (var batch in logs.GetAllAsync(model.Resources.Single(r => r.Name == resource)).WithCancellation(backlogOnly.Token))
            {
                foreach (var line in batch)
                {
                    recent.Enqueue(line.Content);
                    if (recent.Count > lines)
                    {
                        recent.Dequeue();
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        return string.Join(Environment.NewLine, recent);
    }

    /// <summary>
    /// Waits until every consumer group has committed up to the end of its topics: whatever an earlier test left
    /// in flight has drained, so it neither slows this test down nor is counted in its settle time.
    /// </summary>
    public Task WaitUntilCaughtUpAsync(TimeSpan timeout) =>
        Poller.UntilAsync(() => ConsumerGroups.BacklogAsync(Kafka.BootstrapServers), backlog => backlog.Length == 0,
            "every consumer group to catch up with its topics (the backlog an earlier test left)", timeout);

    private int ProcessId(string resource)
    {
        var pid = Notifications.TryGetCurrentState(resource, out var state)
            ? state.Snapshot.Properties.SingleOrDefault(p => p.Name == "executable.pid")?.Value
            : null;
        return pid is not null
            ? Convert.ToInt32(pid, CultureInfo.InvariantCulture)
            : throw new InvalidOperationException($"Aspire shows no process id for '{resource}'; it is {Describe(resource)}.");
    }

    private async Task WaitUntilStoppedAsync(string resource)
    {
        using var timeout = new CancellationTokenSource(Deadline);
        await Notifications.WaitForResourceAsync(resource, KnownResourceStates.TerminalStates, timeout.Token);
    }

    private bool IsStopped(string resource) =>
        Notifications.TryGetCurrentState(resource, out var state)
        && state.Snapshot.State?.Text is { } text
        && KnownResourceStates.TerminalStates.Contains(text);

    private string Describe(string resource) =>
        Notifications.TryGetCurrentState(resource, out var state)
            ? $"{state.Snapshot.State?.Text ?? "without state"}, health {state.Snapshot.HealthStatus?.ToString() ?? "unknown"}"
            : "unknown to Aspire";
}
