using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ShopChoreography.Tests.Support;

/// <summary>
/// An OTLP/HTTP (protobuf) endpoint inside the test process: the running services export their traces, logs and
/// metrics to it exactly as they export to the dashboard, and the tests read what arrived.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ExportedSpan> _spans = new();
    private readonly ConcurrentQueue<ExportedLog> _logs = new();
    private readonly ConcurrentQueue<ExportedPoint> _points = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    /// <summary>The base address for <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>; the exporter adds <c>/v1/traces</c> and the like.</summary>
    public string Endpoint { get; private set; } = "";

    public IReadOnlyCollection<ExportedSpan> Spans => _spans;

    public IReadOnlyCollection<ExportedLog> Logs => _logs;

    public IReadOnlyCollection<ExportedPoint> Points => _points;

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/traces", (HttpRequest request) => receiver.ReceiveAsync(request, OtlpProtobuf.ReadSpans, receiver._spans));
        app.MapPost("/v1/logs", (HttpRequest request) => receiver.ReceiveAsync(request, OtlpProtobuf.ReadLogs, receiver._logs));
        app.MapPost("/v1/metrics", (HttpRequest request) => receiver.ReceiveAsync(request, OtlpProtobuf.ReadMetrics, receiver._points));
        await app.StartAsync();
        receiver.Endpoint = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return receiver;
    }

    private async Task<IResult> ReceiveAsync<T>(HttpRequest request, Func<byte[], List<T>> read, ConcurrentQueue<T> into)
    {
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        foreach (var item in read(body.ToArray()))
        {
            into.Enqueue(item);
        }

        // An empty protobuf message is a valid Export*ServiceResponse: everything accepted.
        return Results.Bytes([], "application/x-protobuf");
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
