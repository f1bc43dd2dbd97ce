using System.Net;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Operations;

[Trait("Category", "Distributed")]
[Collection(DistributedAppCollection.Name)]
public sealed class SystemStartsTests(DistributedAppFixture fixture)
{
    public static TheoryData<string> AllResources =>
        new(["kafka", "postgres", .. DistributedAppFixture.Databases, .. DistributedAppFixture.Services]);

    [Theory]
    [MemberData(nameof(AllResources))]
    public async Task Every_resource_is_running_and_healthy(string resource)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var state = await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync(resource, cts.Token);

        Assert.Equal(KnownResourceStates.Running, state.Snapshot.State?.Text);
        Assert.Equal(HealthStatus.Healthy, state.Snapshot.HealthStatus);
    }

    [Theory]
    [InlineData("orders", "/health")]
    [InlineData("orders", "/alive")]
    [InlineData("payments", "/health")]
    [InlineData("payments", "/alive")]
    [InlineData("inventory", "/health")]
    [InlineData("inventory", "/alive")]
    public async Task Service_health_endpoints_answer_200(string service, string path)
    {
        using var client = fixture.CreateHttpClient(service);

        using var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }
}
