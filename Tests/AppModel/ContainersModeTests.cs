using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace ShopChoreography.Tests.AppModel;

/// <summary>
/// Containers mode cannot run without a container runtime, so its app model is checked instead:
/// images, endpoints, environment and references, as the orchestrator would receive them.
/// </summary>
public sealed class ContainersModeTests : IAsyncLifetime
{
    private IDistributedApplicationTestingBuilder _appHost = null!;

    public async Task InitializeAsync() =>
        _appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(["Infrastructure:Mode=containers"]);

    public async Task DisposeAsync() => await _appHost.DisposeAsync();

    private IResource Resource(string name) => Assert.Single(_appHost.Resources, r => r.Name == name);

    [Fact]
    public void Kafka_is_the_official_apache_kafka_image()
    {
        var kafka = Assert.IsAssignableFrom<ContainerResource>(Resource("kafka"));

        var image = Assert.Single(kafka.Annotations.OfType<ContainerImageAnnotation>());
        Assert.Equal("apache/kafka", image.Image);
        Assert.Equal("4.1.0", image.Tag);
        Assert.Equal("docker.io", image.Registry);
    }

    [Fact]
    public void Kafka_exposes_a_host_listener_and_a_container_network_listener()
    {
        var endpoints = Resource("kafka").Annotations.OfType<EndpointAnnotation>().ToDictionary(e => e.Name);

        Assert.Equal(9092, endpoints["tcp"].TargetPort);
        Assert.Equal(9093, endpoints["internal"].TargetPort);
        Assert.Equal(2, endpoints.Count);
    }

    [Fact]
    public async Task Kafka_runs_a_single_KRaft_node_advertising_both_listeners()
    {
        var environment = await Resource("kafka").RunEnvironmentAsync();

        Assert.Equal("broker,controller", environment["KAFKA_PROCESS_ROLES"]);
        Assert.Equal("1", environment["KAFKA_NODE_ID"]);
        Assert.Equal("1@localhost:9094", environment["KAFKA_CONTROLLER_QUORUM_VOTERS"]);
        Assert.Equal("CONTROLLER", environment["KAFKA_CONTROLLER_LISTENER_NAMES"]);
        Assert.Equal("PLAINTEXT_HOST://0.0.0.0:9092,PLAINTEXT_INTERNAL://0.0.0.0:9093,CONTROLLER://0.0.0.0:9094", environment["KAFKA_LISTENERS"]);
        Assert.Equal("PLAINTEXT_HOST://localhost:{kafka.bindings.tcp.port},PLAINTEXT_INTERNAL://kafka:{kafka.bindings.internal.targetPort}",
            environment["KAFKA_ADVERTISED_LISTENERS"]);
        Assert.Equal("PLAINTEXT_INTERNAL", environment["KAFKA_INTER_BROKER_LISTENER_NAME"]);
        Assert.Equal("1", environment["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"]);
        Assert.Equal("12", environment["KAFKA_NUM_PARTITIONS"]);
    }

    [Fact]
    public async Task Kafka_starts_the_broker_and_creates_the_contract_topics()
    {
        var kafka = Assert.IsAssignableFrom<ContainerResource>(Resource("kafka"));

#pragma warning disable CS0618 // the same inspection helper as the environment's
        var arguments = await kafka.GetArgumentValuesAsync(DistributedApplicationOperation.Run);
#pragma warning restore CS0618

        Assert.Equal(["/bin/sh", "-c"], arguments.Take(2));
        Assert.Contains("for topic in orders.events payments.events inventory.events orders.dlq payments.dlq inventory.dlq; do", arguments[2]);
        Assert.Contains("--partitions 12 --replication-factor 1", arguments[2]);
    }

    [Fact]
    public void Postgres_keeps_its_data_in_a_volume_when_run_by_a_container_runtime()
    {
        var volume = Assert.Single(Resource("postgres").Annotations.OfType<ContainerMountAnnotation>());

        Assert.Equal(ContainerMountType.Volume, volume.Type);
        Assert.Equal("/var/lib/postgresql", volume.Target);
    }

    [Fact]
    public void Postgres_is_the_Aspire_PostgreSQL_container_with_the_three_databases()
    {
        var postgres = Assert.IsType<PostgresServerResource>(Resource("postgres"));

        Assert.Contains("postgres", Assert.Single(postgres.Annotations.OfType<ContainerImageAnnotation>()).Image);
        Assert.Equal(["inventorydb", "ordersdb", "paymentsdb"], postgres.Databases.Keys.Order());
        foreach (var database in new[] { "ordersdb", "paymentsdb", "inventorydb" })
        {
            Assert.Same(postgres, Assert.IsType<PostgresDatabaseResource>(Resource(database)).Parent);
        }
    }

    [Theory]
    [InlineData("orders", "ordersdb")]
    [InlineData("payments", "paymentsdb")]
    [InlineData("inventory", "inventorydb")]
    public async Task Each_service_references_its_database_and_kafka_and_waits_for_them(string service, string database)
    {
        var project = Assert.IsType<ProjectResource>(Resource(service));

        var environment = await project.PublishedEnvironmentAsync();
        Assert.Equal("{kafka.connectionString}", environment["ConnectionStrings__kafka"]);
        Assert.Equal($"{{{database}.connectionString}}", environment[$"ConnectionStrings__{database}"]);
        Assert.DoesNotContain(environment.Keys, key => key.StartsWith("ConnectionStrings__", StringComparison.Ordinal) &&
            key != "ConnectionStrings__kafka" && key != $"ConnectionStrings__{database}");

        // Waiting for a database also waits for its server.
        var waitsFor = project.Annotations.OfType<WaitAnnotation>().Select(wait => wait.Resource.Name).ToHashSet();
        Assert.Equal(new[] { "kafka", "postgres", database }.Order(), waitsFor.Order());
    }

    [Fact]
    public async Task Containers_mode_keeps_the_mock_broker_consumer_tuning_out_of_the_services()
    {
        var environment = await Resource("orders").PublishedEnvironmentAsync();

        Assert.DoesNotContain(environment.Keys, key => key.StartsWith("Aspire__Confluent__Kafka__Consumer__Config__", StringComparison.Ordinal));
    }
}
