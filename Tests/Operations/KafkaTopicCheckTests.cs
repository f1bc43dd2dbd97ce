using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using ShopChoreography.AppHost.Infrastructure.Kafka;
using ShopChoreography.Contracts;
using ShopChoreography.Messaging.Kafka;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Operations;

/// <summary>A service that finds a topic it needs missing says which at start and is not ready until it exists.</summary>
public sealed class KafkaTopicCheckTests
{
    [Fact]
    public async Task A_service_whose_topics_are_missing_names_them_and_is_not_ready()
    {
        using var cluster = new KafkaMockCluster(1);
        cluster.CreateTopic("payments.events", 12, 1);
        using var host = Host(cluster, ["payments.events", "inventory.events", "orders.events", "orders.dlq"]);
        await host.StartAsync();

        var result = await CheckedAsync(host);

        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Equal(
            "Kafka topic(s) 'inventory.events', 'orders.dlq', 'orders.events' do not exist on the cluster. " +
            "This service publishes to or consumes from them and is not ready until they exist. " +
            "Azure Event Hubs does not create topics through the Kafka API: create each one as an event hub " +
            "(AppHost/infra/eventhubs.bicep creates the contract's topics; see the README, 'Deploy to Azure').",
            result.Description);
        await host.StopAsync();
    }

    [Fact]
    public async Task A_service_whose_topics_all_exist_is_ready()
    {
        using var cluster = new KafkaMockCluster(1);
        foreach (var topic in Topics.All)
        {
            cluster.CreateTopic(topic, Topics.Partitions, 1);
        }

        using var host = Host(cluster, ["payments.events", "inventory.events", "orders.events", "orders.dlq"]);
        await host.StartAsync();

        var result = await CheckedAsync(host);

        Assert.Equal(HealthStatus.Healthy, result.Status);
        await host.StopAsync();
    }

    [Fact]
    public void A_topic_the_cluster_lists_with_an_error_counts_as_missing()
    {
        var metadata = new Metadata([], [
            new TopicMetadata("orders.events", [], ErrorCode.NoError),
            new TopicMetadata("orders.dlq", [], ErrorCode.UnknownTopicOrPart),
        ], 1, "broker");

        Assert.Equal(["orders.dlq", "payments.events"],
            KafkaTopicCheck.MissingTopics(["orders.events", "payments.events", "orders.dlq", "orders.events"], metadata));
    }

    private static IHost Host(KafkaMockCluster cluster, string[] topics)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:kafka"] = cluster.BootstrapServers });
        builder.AddKafkaProducer<string, string>("kafka");
        builder.AddKafkaTopicCheck("kafka", _ => topics);
        return builder.Build();
    }

    private static async Task<HealthCheckResult> CheckedAsync(IHost host)
    {
        var check = host.Services.GetRequiredService<KafkaTopicCheck>();
        return await Poller.UntilAsync(() => check.CheckHealthAsync(new()),
            result => result.Description != "The service's Kafka topics have not been checked yet.", "the first topic check");
    }
}
