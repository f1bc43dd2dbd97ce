using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ShopChoreography.AppHost.Infrastructure.Kafka;

namespace ShopChoreography.Tests.Support;

/// <summary>
/// Starts the whole system once per test collection, in local infrastructure mode (machine PostgreSQL with a
/// fresh data folder, in-process Kafka mock cluster), and waits until every service is healthy.
/// </summary>
public class DistributedAppFixture : IAsyncLifetime
{
    public static readonly string[] Services = ["orders", "payments", "inventory"];
    public static readonly string[] Databases = ["ordersdb", "paymentsdb", "inventorydb"];
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);

    private readonly string _postgresData = Path.Combine(Path.GetTempPath(), $"shopchoreography-tests-{Guid.NewGuid():N}");
    private DistributedApplication? _app;

    public DistributedApplication App => _app ?? throw new InvalidOperationException("The app has not started.");

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(StartTimeout);
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["Infrastructure:Mode=local", $"Infrastructure:Postgres:DataDirectory={_postgresData}"], cts.Token);
        appHost.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        await ConfigureAsync(appHost);

        _app = await appHost.BuildAsync(cts.Token);
        try
        {
            await _app.StartAsync(cts.Token);
            foreach (var service in Services)
            {
                await _app.ResourceNotifications.WaitForResourceHealthyAsync(service, cts.Token);
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"The system did not become healthy within {StartTimeout}. Resources:{Environment.NewLine}{await DescribeResourcesAsync()}");
        }
    }

    /// <summary>A fixture's own settings for the app it starts, applied before it is built.</summary>
    protected virtual Task ConfigureAsync(IDistributedApplicationTestingBuilder appHost) => Task.CompletedTask;

    /// <summary>Each resource's state, health and last log lines: what a failed start needs to be diagnosed.</summary>
    private async Task<string> DescribeResourcesAsync()
    {
        var model = App.Services.GetRequiredService<DistributedApplicationModel>();
        var logs = App.Services.GetRequiredService<ResourceLoggerService>();
        var description = new System.Text.StringBuilder();
        foreach (var resource in model.Resources)
        {
            App.ResourceNotifications.TryGetCurrentState(resource.Name, out var state);
            description.AppendLine($"- {resource.Name}: {state?.Snapshot.State?.Text ?? "(no state)"}, health {state?.Snapshot.HealthStatus?.ToString() ?? "(none)"}");
            using var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await foreach (var batch in logs.GetAllAsync(resource).WithCancellation(quiet.Token))
                {
                    foreach (var line in batch.TakeLast(15))
                    {
                        description.AppendLine($"    {line.Content}");
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        return description.ToString();
    }

    public async Task<string> ConnectionStringAsync(string resourceName) =>
        await App.GetConnectionStringAsync(resourceName)
        ?? throw new InvalidOperationException($"'{resourceName}' has no connection string.");

    public HttpClient CreateHttpClient(string service) => App.CreateHttpClient(service, "http");

    /// <summary>The in-process mock cluster behind the <c>kafka</c> resource, for topics and fault drills.</summary>
    public KafkaMockCluster KafkaCluster =>
        App.Services.GetRequiredService<DistributedApplicationModel>().Resources.OfType<KafkaMockResource>().Single().Cluster
        ?? throw new InvalidOperationException("The Kafka mock cluster has not started.");

    /// <summary>A fresh topic on the mock cluster (which has no CreateTopics admin request).</summary>
    public string CreateTopic(string prefix, int partitions = 4)
    {
        var topic = $"{prefix}-{Guid.NewGuid():N}";
        KafkaCluster.CreateTopic(topic, partitions, replicationFactor: 3);
        return topic;
    }

    /// <summary>Produces one record, as any client of the cluster would, and returns where it was written.</summary>
    public async Task<Confluent.Kafka.DeliveryResult<string?, byte[]?>> ProduceAsync(string topic, Confluent.Kafka.Message<string?, byte[]?> message)
    {
        using var producer = new Confluent.Kafka.ProducerBuilder<string?, byte[]?>(new Confluent.Kafka.ProducerConfig
        {
            BootstrapServers = await ConnectionStringAsync("kafka"),
            EnableIdempotence = true,
        }).Build();
        return await producer.ProduceAsync(topic, message);
    }

    /// <summary>A fresh database on the <c>postgres</c> resource; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        var server = await ConnectionStringAsync("postgres");
        var database = $"{prefix}_{Guid.NewGuid():N}";
        await using var connection = new Npgsql.NpgsqlConnection(server);
        await connection.OpenAsync();
        await using var create = new Npgsql.NpgsqlCommand($"CREATE DATABASE \"{database}\"", connection);
        await create.ExecuteNonQueryAsync();
        return $"{server};Database={database}";
    }

    public virtual async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        if (Directory.Exists(_postgresData))
        {
            Directory.Delete(_postgresData, recursive: true);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class DistributedAppCollection : ICollectionFixture<DistributedAppFixture>
{
    public const string Name = "Distributed app";
}
