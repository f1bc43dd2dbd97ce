using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ShopChoreography.ServiceDefaults.Telemetry;

/// <summary>
/// <c>/health</c> answers its status as plain text, as Aspire's default does (<c>Healthy</c>, <c>Degraded</c>,
/// <c>Unhealthy</c>), followed by one line for each check that is not healthy, saying why: an operator reading a
/// Degraded service sees which limit it passed.
/// </summary>
internal static class HealthReportWriter
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        var text = new StringBuilder(report.Status.ToString());
        foreach (var (name, entry) in report.Entries.Where(entry => entry.Value.Status != HealthStatus.Healthy))
        {
            text.Append('\n').Append(name).Append(": ").Append(entry.Status).Append(": ").Append(entry.Description ?? "no description");
        }

        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text.ToString());
    }
}
