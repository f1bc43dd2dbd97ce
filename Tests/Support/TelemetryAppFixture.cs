using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace ShopChoreography.Tests.Support;

/// <summary>
/// The whole system with every service exporting its telemetry to an <see cref="OtlpReceiver"/> in the test, and
/// with low backlog limits, so that a short outage turns <c>/health</c> Degraded.
/// </summary>
public sealed class TelemetryAppFixture : DistributedAppFixture
{
    public const int MaxOutboxBacklog = 3;

    public OtlpReceiver Receiver { get; private set; } = null!;

    protected override async Task ConfigureAsync(IDistributedApplicationTestingBuilder appHost)
    {
        Receiver = await OtlpReceiver.StartAsync();
        foreach (var service in Services)
        {
            // After the AppHost's own OTLP settings (the dashboard's endpoint), so these win.
            appHost.CreateResourceBuilder<ProjectResource>(service)
                .WithEnvironment("OTEL_EXPORTER_OTLP_ENDPOINT", Receiver.Endpoint)
                .WithEnvironment("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
                .WithEnvironment("OTEL_BSP_SCHEDULE_DELAY", "500")
                .WithEnvironment("OTEL_BLRP_SCHEDULE_DELAY", "500")
                .WithEnvironment("OTEL_METRIC_EXPORT_INTERVAL", "1000")
                .WithEnvironment("Messaging__Health__MaxOutboxBacklog", MaxOutboxBacklog.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Receiver.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class TelemetryAppCollection : ICollectionFixture<TelemetryAppFixture>
{
    public const string Name = "Telemetry app";
}
