using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using ShopChoreography.AppHost.Infrastructure.Kafka;
using ShopChoreography.AppHost.Infrastructure.Postgres;

namespace ShopChoreography.Tests.AppModel;

public sealed class InfrastructureModeTests
{
    [Fact]
    public async Task Local_mode_models_machine_postgres_and_the_in_process_mock_broker()
    {
        await using var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(["Infrastructure:Mode=local"]);

        Assert.IsType<KafkaMockResource>(Assert.Single(appHost.Resources, r => r.Name == "kafka"));
        var postgres = Assert.IsType<LocalPostgresResource>(Assert.Single(appHost.Resources, r => r.Name == "postgres"));
        Assert.Equal(["ordersdb", "paymentsdb", "inventorydb"], postgres.Databases.Select(d => d.DatabaseName));
        Assert.Equal(["broker-1-down", "broker-2-down", "broker-3-down", "brokers-up", "inject-produce-errors", "inject-fetch-errors"],
            appHost.Resources.Single(r => r.Name == "kafka").Annotations.OfType<ResourceCommandAnnotation>().Select(c => c.Name));
    }

    [Fact]
    public async Task Local_mode_tunes_consumers_for_the_mock_broker_fetch_and_group_coordinator()
    {
        await using var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(["Infrastructure:Mode=local"]);
        var orders = appHost.Resources.Single(r => r.Name == "orders");

        var environment = await orders.PublishedEnvironmentAsync();

        Assert.Equal("10", environment["Aspire__Confluent__Kafka__Consumer__Config__fetch.wait.max.ms"]);
        Assert.Equal("6000", environment["Aspire__Confluent__Kafka__Consumer__Config__session.timeout.ms"]);
        Assert.Equal("1000", environment["Aspire__Confluent__Kafka__Consumer__Config__heartbeat.interval.ms"]);
    }

    [Fact]
    public async Task An_unknown_mode_is_refused_with_the_accepted_values()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(["Infrastructure:Mode=kubernetes"]));

        Assert.Contains("'Infrastructure:Mode' is 'kubernetes'; expected 'auto', 'local' or 'containers'.", Flatten(error));
    }

    [Fact]
    public void Missing_postgres_binaries_name_the_Debian_package()
    {
        var error = Assert.Throws<Aspire.Hosting.DistributedApplicationException>(() =>
            PostgresServerBinaries.Locate(Path.Combine(Path.GetTempPath(), "no-postgres-here")));

        Assert.Contains("postgresql-15", error.Message);
        Assert.Contains("Infrastructure:Postgres:BinDirectory", error.Message);
    }

    private static string Flatten(Exception error) =>
        string.Join(" | ", Enumerate(error).Select(e => e.Message));

    private static IEnumerable<Exception> Enumerate(Exception error)
    {
        for (Exception? current = error; current is not null; current = current.InnerException)
        {
            yield return current;
        }
    }
}
