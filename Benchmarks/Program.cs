// Measures ShopChoreography on this machine, started through the AppHost in local mode (machine PostgreSQL,
// in-process Kafka mock cluster), with the services logging warnings only. Run in Release:
//   dotnet run -c Release --project Benchmarks -- closed [--concurrency 64] [--orders 20000]   orders in flight held constant
//   dotnet run -c Release --project Benchmarks -- open [--rate 200] [--seconds 30]             orders arriving at a fixed rate
//   dotnet run -c Release --project Benchmarks -- latency [--orders 200]                       one order at a time
//   dotnet run -c Release --project Benchmarks -- idle [--seconds 30]                          the system at rest
//   dotnet run -c Release --project Benchmarks -- messaging [--events 20000]                   the messaging core alone
//   dotnet run -c Release --project Benchmarks -- roundtrips [--calls 5000]                    what a database round trip costs
// Options for every scenario: --telemetry off (no dashboard, and the services' OpenTelemetry SDK disabled),
// --set NAME=VALUE (an environment variable for every service, e.g.
// --set Aspire__Confluent__Kafka__Consumer__Config__fetch.wait.max.ms=25), --perf-map.
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using ShopChoreography.Benchmarks;
using ShopChoreography.Benchmarks.Saga;

var mode = args.FirstOrDefault();
var telemetry = args.SkipWhile(a => a != "--telemetry").Skip(1).FirstOrDefault() ?? "on";
int Option(string name, int fallback) => args.SkipWhile(a => a != name).Skip(1).Select(int.Parse).FirstOrDefault(fallback);
if (mode is not ("closed" or "open" or "latency" or "idle" or "messaging" or "roundtrips"))
{
    Console.Error.WriteLine("Usage: Benchmarks closed [--concurrency N] [--orders N] | open [--rate N] [--seconds N] | latency [--orders N] | idle [--seconds N] | messaging [--events N] | roundtrips [--calls N]");
    return 2;
}

var postgresData = Path.Combine(Path.GetTempPath(), $"shopchoreography-bench-{Guid.NewGuid():N}");
Console.WriteLine($"Starting the system in local mode ({Environment.ProcessorCount} cores)...");
var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
    ["Infrastructure:Mode=local", $"Infrastructure:Postgres:DataDirectory={postgresData}", "ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS=true"],
    (options, _) => options.DisableDashboard = telemetry == "off");
appHost.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning)
    .AddFilter("AppHost.Resources", LogLevel.None).AddFilter("System.Net.Http", LogLevel.Warning));
foreach (var service in appHost.Resources.OfType<ProjectResource>().Select(appHost.CreateResourceBuilder))
{
    service.WithEnvironment("Logging__LogLevel__Default", "Warning");
    // --set NAME=VALUE, repeatable: a setting for every service, as an environment variable, to measure its effect.
    foreach (var setting in args.Zip(args.Skip(1)).Where(pair => pair.First == "--set").Select(pair => pair.Second.Split('=', 2)))
    {
        service.WithEnvironment(setting[0], setting[1]);
    }

    if (telemetry == "off")
    {
        service.WithEnvironment("OTEL_SDK_DISABLED", "true").WithEnvironment("OTEL_EXPORTER_OTLP_ENDPOINT", "");
    }

    if (args.Contains("--perf-map"))
    {
        // For `perf record -g -p <pid>`: the services write /tmp/perf-<pid>.map, naming their JIT-compiled frames.
        service.WithEnvironment("DOTNET_PerfMapEnabled", "1").WithEnvironment("DOTNET_EnableWriteXorExecute", "0");
    }
}

await using var app = await appHost.BuildAsync();
await app.StartAsync();
foreach (var resource in new[] { "kafka", "postgres", "orders", "payments", "inventory" })
{
    await app.ResourceNotifications.WaitForResourceHealthyAsync(resource);
}

try
{
    var saga = new SagaScenarios(app);
    switch (mode)
    {
        case "closed": return await saga.ClosedLoopAsync(Option("--concurrency", 64), Option("--orders", 20_000));
        case "open": return await saga.OpenLoopAsync(Option("--rate", 200), Option("--seconds", 30));
        case "latency": return await saga.OneAtATimeAsync(Option("--orders", 200));
        case "idle": return await saga.IdleAsync(Option("--seconds", 30));
        case "roundtrips":
            await RoundTrips.RunAsync(app, Option("--calls", 5_000));
            return 0;
        default:
            await MessagingThroughput.RunAsync(app, Option("--events", 20_000));
            return 0;
    }
}
finally
{
    await app.StopAsync();
    NpgsqlConnection.ClearAllPools();
    Directory.Delete(postgresData, recursive: true);
}
