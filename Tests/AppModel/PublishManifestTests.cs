using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;

namespace ShopChoreography.Tests.AppModel;

/// <summary>
/// What azd consumes: the manifest of <c>dotnet run --project AppHost -- --publisher manifest --output-path FILE</c>.
/// Azure Container Apps hosts projects and containers, so nothing in it may be an executable.
/// </summary>
public sealed class PublishManifestTests : IAsyncLifetime
{
    private static readonly HashSet<string> PublishableTypes =
        ["project.v0", "project.v1", "container.v0", "container.v1", "parameter.v0", "value.v0"];

    private readonly string _manifestPath = Path.Combine(Path.GetTempPath(), $"shopchoreography-manifest-{Guid.NewGuid():N}.json");
    private JsonObject _resources = null!;

    public async Task InitializeAsync()
    {
        var configuration = typeof(PublishManifestTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { "run", "--project", Projects.AppHost.ProjectPath, "--no-build", "-c", configuration,
                "--", "--publisher", "manifest", "--output-path", _manifestPath },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"Publishing the manifest failed ({process.ExitCode}):\n{await output}\n{await errors}");

        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(_manifestPath))!;
        _resources = manifest["resources"]!.AsObject();
    }

    public Task DisposeAsync()
    {
        File.Delete(_manifestPath);
        return Task.CompletedTask;
    }

    private string TypeOf(string resource) => _resources[resource]?["type"]?.GetValue<string>()
        ?? throw new Xunit.Sdk.XunitException($"The manifest has no resource '{resource}'.");

    [Fact]
    public void Holds_only_project_container_parameter_and_value_resources()
    {
        var unpublishable = _resources
            .Select(resource => $"{resource.Key}: {resource.Value!["type"]}")
            .Where(entry => !PublishableTypes.Contains(entry[(entry.IndexOf(": ", StringComparison.Ordinal) + 2)..]))
            .ToList();

        Assert.Empty(unpublishable);
    }

    [Theory]
    [InlineData("orders")]
    [InlineData("payments")]
    [InlineData("inventory")]
    public void The_services_are_projects(string service) =>
        Assert.StartsWith("project.", TypeOf(service));

    [Theory]
    [InlineData("kafka")]
    [InlineData("postgres")]
    public void Kafka_and_postgres_are_containers(string resource) =>
        Assert.StartsWith("container.", TypeOf(resource));

    [Theory]
    [InlineData("orders", "ordersdb")]
    [InlineData("payments", "paymentsdb")]
    [InlineData("inventory", "inventorydb")]
    public void Each_service_gets_its_database_and_kafka_connection_strings(string service, string database)
    {
        Assert.Equal("value.v0", TypeOf(database));
        Assert.Equal("{postgres.connectionString};Database=" + database, _resources[database]!["connectionString"]!.GetValue<string>());

        var environment = _resources[service]!["env"]!.AsObject();
        Assert.Equal("{kafka.connectionString}", environment["ConnectionStrings__kafka"]!.GetValue<string>());
        Assert.Equal($"{{{database}.connectionString}}", environment[$"ConnectionStrings__{database}"]!.GetValue<string>());
    }
}
