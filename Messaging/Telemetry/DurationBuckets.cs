using System.Diagnostics.Metrics;

namespace ShopChoreography.Messaging.Telemetry;

/// <summary>
/// Bucket boundaries for the histograms of durations in seconds, from a millisecond to five minutes. Without them the
/// OpenTelemetry SDK uses its defaults (0, 5, 10, 25, … 10000), made for milliseconds: every event of a few
/// milliseconds falls in the first bucket and the dashboard reads its p50 as 5 s.
/// </summary>
public static class DurationBuckets
{
    public static readonly InstrumentAdvice<double> Seconds = new()
    {
        HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    };
}
