using System.Diagnostics;
using OpenTelemetry.Trace;

namespace ShopChoreography.ServiceDefaults.Telemetry;

/// <summary>
/// Starts a trace only for work someone caused: an incoming request (a server span) or a consumed event (a consumer
/// span). Everything else that would start a trace of its own is a background loop (outbox polls and backlog reports,
/// leader checks, retention, stuck-order checks): its spans are dropped, and its cost shows in the metrics instead
/// (Npgsql's command and connection metrics). A span with a parent follows its parent's decision, so an order's
/// trace is kept whole across HTTP, the database, the outbox and Kafka.
/// </summary>
public sealed class OperatorCausedTraces : Sampler
{
    private static readonly SamplingResult Keep = new(SamplingDecision.RecordAndSample);
    private static readonly SamplingResult Drop = new(SamplingDecision.Drop);

    /// <summary>The sampler to configure: this one for roots, the parent's decision for every other span.</summary>
    public static Sampler Sampler { get; } = new ParentBasedSampler(new OperatorCausedTraces());

    private OperatorCausedTraces() => Description = nameof(OperatorCausedTraces);

    public override SamplingResult ShouldSample(in SamplingParameters samplingParameters) =>
        samplingParameters.Kind is ActivityKind.Server or ActivityKind.Consumer ? Keep : Drop;
}
