using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using ShopChoreography.ServiceDefaults.Http;

namespace ShopChoreography.Messaging.Operations;

/// <summary>
/// Operator endpoints that pause and resume every partition of the service's consumer group that this replica owns.
/// A pause holds through rebalances (partitions assigned later start paused) until resumed; records already handed
/// to the partition workers are still applied. Each answers with <see cref="ConsumptionState"/> once it is applied.
/// </summary>
internal static class ConsumptionOperationsApi
{
    public const string ConsumptionPath = "/operations/consumption";

    /// <summary>The consume loop applies a change within one poll (100 ms); longer means the loop is stuck or stopping.</summary>
    private static readonly TimeSpan ApplyTimeout = TimeSpan.FromSeconds(10);

    public static void MapConsumptionOperations(this IEndpointRouteBuilder app)
    {
        var consumption = app.MapGroup(ConsumptionPath).WithTags(MessagingOperationsApi.OperationsTag);
        consumption.MapGet("", Results<Ok<ConsumptionState>, ValidationProblem> (HttpRequest request, IConsumerControl consumer) =>
                NoParameters(request) is { } problem ? problem : TypedResults.Ok(consumer.State))
            .WithSummary("Whether the operator paused consumption, and the partitions this replica owns.");
        consumption.MapPost("/pause", (HttpRequest request, IConsumerControl consumer, CancellationToken cancellationToken) =>
                SetPausedAsync(request, consumer, paused: true, cancellationToken))
            .WithSummary("Pauses every partition of the service's consumer group that this replica owns, until resumed.")
            .DescribesProblem(StatusCodes.Status503ServiceUnavailable, "The consume loop did not apply the change in time.");
        consumption.MapPost("/resume", (HttpRequest request, IConsumerControl consumer, CancellationToken cancellationToken) =>
                SetPausedAsync(request, consumer, paused: false, cancellationToken))
            .WithSummary("Resumes the partitions the operator paused; back-pressure pauses stay as they are.")
            .DescribesProblem(StatusCodes.Status503ServiceUnavailable, "The consume loop did not apply the change in time.");
    }

    internal static async Task<Results<Ok<ConsumptionState>, ValidationProblem, ProblemHttpResult>> SetPausedAsync(
        HttpRequest request, IConsumerControl consumer, bool paused, CancellationToken cancellationToken)
    {
        if (NoParameters(request) is { } problem)
        {
            return problem;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ApplyTimeout);
        try
        {
            return TypedResults.Ok(await consumer.SetPausedByOperatorAsync(paused, timeout.Token));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return TypedResults.Problem(
                title: $"The consumer did not apply the {(paused ? "pause" : "resume")} in time",
                detail: $"The consume loop did not run within {ApplyTimeout.TotalSeconds:0} s; it applies the change when it does.",
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }

    /// <summary>These endpoints take no parameters: a query string is refused rather than ignored.</summary>
    private static ValidationProblem? NoParameters(HttpRequest request) =>
        request.Query.Count == 0
            ? null
            : TypedResults.ValidationProblem(request.Query.Keys.ToDictionary(name => name,
                name => new[] { $"'{name}' is not a parameter; {ConsumptionPath} takes none." }));
}
