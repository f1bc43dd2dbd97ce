using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Faults;

[Trait("Category", "Distributed")]
[Collection(DistributedAppCollection.Name)]
public sealed class KafkaFaultDrillTests(DistributedAppFixture fixture)
{
    [Fact]
    public async Task Dashboard_commands_take_a_mock_broker_down_and_bring_all_brokers_back_up()
    {
        var commands = fixture.App.Services.GetRequiredService<ResourceCommandService>();

        var down = await commands.ExecuteCommandAsync("kafka", "broker-2-down");
        Assert.True(down.Success, down.Message);
        await BrokersUpShownAsync("2/3");

        var up = await commands.ExecuteCommandAsync("kafka", "brokers-up");
        Assert.True(up.Success, up.Message);
        await BrokersUpShownAsync("3/3");
    }

    private async Task BrokersUpShownAsync(string expected)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await fixture.App.ResourceNotifications.WaitForResourceAsync("kafka",
            e => e.Snapshot.Properties.Any(p => p.Name == "kafka.brokers.up" && Equals(p.Value, expected)), timeout.Token);
    }
}
