using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using ShopChoreography.Messaging.Kafka;

namespace ShopChoreography.Tests.Delivery;

public sealed class KafkaClientSettingsTests
{
    [Fact]
    public void The_connection_string_is_the_bootstrap_list_and_Config_entries_reach_librdkafka_by_name()
    {
        var builder = Builder(new()
        {
            ["ConnectionStrings:kafka"] = "127.0.0.1:9092,127.0.0.1:9093",
            ["Aspire:Confluent:Kafka:Consumer:Config:group.id"] = "orders",
            ["Aspire:Confluent:Kafka:Consumer:Config:fetch.wait.max.ms"] = "10",
        });
        KafkaConsumerSettings? bound = null;

        builder.AddKafkaConsumer<string, string>("kafka", settings => bound = settings);

        Assert.NotNull(bound);
        Assert.Equal("127.0.0.1:9092,127.0.0.1:9093", bound.Config.BootstrapServers);
        Assert.Equal("orders", bound.Config.GroupId);
        Assert.Equal(10, bound.Config.FetchWaitMaxMs);
        Assert.Equal(5000, bound.Config.StatisticsIntervalMs);
    }

    [Fact]
    public void A_client_without_bootstrap_servers_is_refused_naming_both_places_to_set_them()
    {
        var builder = Builder([]);

        var error = Assert.Throws<InvalidOperationException>(() => builder.AddKafkaProducer<string, string>("kafka"));

        Assert.Contains("'ConnectionStrings:kafka'", error.Message);
        Assert.Contains("'Aspire:Confluent:Kafka:Producer:Config:bootstrap.servers'", error.Message);
    }

    [Fact]
    public void A_consumer_without_a_group_id_is_refused()
    {
        var builder = Builder(new() { ["ConnectionStrings:kafka"] = "127.0.0.1:9092" });

        var error = Assert.Throws<InvalidOperationException>(() => builder.AddKafkaConsumer<string, string>("kafka"));

        Assert.Contains("group.id", error.Message);
    }

    private static HostApplicationBuilder Builder(Dictionary<string, string?> configuration)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(configuration);
        return builder;
    }
}
