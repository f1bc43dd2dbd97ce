// Measures ShopChoreography on this machine, against the local infrastructure the tests use (machine PostgreSQL,
// in-process Kafka mock cluster), started through the AppHost:
//   dotnet run -c Release --project Benchmarks -- messaging [--events 20000]   the messaging core's throughput
//   dotnet run -c Release --project Benchmarks -- saga [--orders 1000] [--skus 100]   orders placed at once, end to end
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using ShopChoreography.Benchmarks;

var mode = args.FirstOrDefault() ?? "messaging";
int Option(string name, int fallback) => args.SkipWhile(a => a != name).Skip(1).Select(int.Parse).FirstOrDefault(fallback);
if (mode is not ("messaging" or "saga"))
{
    Console.Error.WriteLine("Usage: Benchmarks messaging [--events N] | saga [--orders N] [--skus N]");
    return 2;
}

var postgresData = Path.Combine(Path.GetTempPath(), $"shopchoreography-bench-{Guid.NewGuid():N}");
Console.WriteLine($"Starting the system in local mode ({Environment.ProcessorCount} cores)...");
var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
    ["Infrastructure:Mode=local", $"Infrastructure:Postgres:DataDirectory={postgresData}"]);
appHost.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning)
    .AddFilter("AppHost.Resources", LogLevel.None).AddFilter("System.Net.Http", LogLevel.Warning));
await using var app = await appHost.BuildAsync();
await app.StartAsync();
foreach (var resource in new[] { "kafka", "postgres", "orders", "payments", "inventory" })
{
    await app.ResourceNotifications.WaitForResourceHealthyAsync(resource);
}

try
{
    if (mode == "saga")
    {
        await SagaLoad.RunAsync(app, Option("--orders", 1_000), Option("--skus", 100));
    }
    else
    {
        await MessagingThroughput.RunAsync(app, Option("--events", 20_000));
    }

    return 0;
}
finally
{
    await app.StopAsync();
    NpgsqlConnection.ClearAllPools();
    Directory.Delete(postgresData, recursive: true);
}
