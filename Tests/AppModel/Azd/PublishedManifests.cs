using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;

namespace ShopChoreography.Tests.AppModel.Azd;

/// <summary>The deployment shapes of <c>Deploy:Infrastructure</c>.</summary>
public static class Shapes
{
    public const string Containers = "containers";
    public const string Managed = "managed";
}

/// <summary>
/// The manifest of each deployment shape, published once for the tests that read it, exactly as azd asks for it:
/// <c>dotnet run --project AppHost -- --publisher manifest --output-path FILE</c>, the shape chosen by configuration.
/// </summary>
public sealed class PublishedManifests : IAsyncLifetime
{
    private readonly Dictionary<string, AzdManifest> _manifests = [];

    public AzdManifest this[string shape] => _manifests[shape];

    public async Task InitializeAsync()
    {
        foreach (var shape in new[] { Shapes.Containers, Shapes.Managed })
        {
            var (exitCode, output, manifest) = await PublishAsync(shape);
            Assert.True(exitCode == 0 && manifest is not null, $"Publishing the {shape} manifest failed ({exitCode}):\n{output}");
            _manifests[shape] = new AzdManifest(manifest);
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>Publishes the manifest with <c>Deploy:Infrastructure</c> set to <paramref name="shape"/>, as an environment variable.</summary>
    public static async Task<(int ExitCode, string Output, JsonObject? Manifest)> PublishAsync(string shape)
    {
        var path = Path.Combine(Path.GetTempPath(), $"shopchoreography-{shape}-{Guid.NewGuid():N}.json");
        var configuration = typeof(PublishedManifests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { "run", "--project", Projects.AppHost.ProjectPath, "--no-build", "-c", configuration,
                "--", "--publisher", "manifest", "--output-path", path },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["Deploy__Infrastructure"] = shape },
        };
        try
        {
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await process.WaitForExitAsync(timeout.Token);
            var manifest = process.ExitCode == 0 ? JsonNode.Parse(await File.ReadAllTextAsync(path))!.AsObject() : null;
            return (process.ExitCode, await output + await errors, manifest);
        }
        finally
        {
            File.Delete(path);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PublishedManifestsCollection : ICollectionFixture<PublishedManifests>
{
    public const string Name = "Published manifests";
}
