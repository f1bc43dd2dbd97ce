using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Logging;
using Microsoft.OpenApi;
using ShopChoreography.ServiceDefaults.Http;

namespace ShopChoreography.Messaging.Database;

/// <summary>
/// A request that fails because the database or Kafka is unavailable or overloaded (a refused or lost connection, an
/// exhausted connection pool, a timeout, a deadlock) is answered 503 with <c>Retry-After</c>, as problem details: the
/// client should try again, where a 500 would say the service is broken. The request's database transaction, if it
/// began one, was rolled back. Every other exception stays a 500.
/// </summary>
internal sealed class DependencyUnavailableExceptionHandler(
    IProblemDetailsService problemDetails, ILogger<DependencyUnavailableExceptionHandler> logger) : IExceptionHandler
{
    public const int RetryAfterSeconds = 1;
    public const string Description =
        "The database or Kafka is unavailable or overloaded: the request's database transaction was rolled back. Send it again after Retry-After seconds.";

    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (!Failures.IsTransient(exception))
        {
            return false;
        }

        logger.LogWarning(exception, "{Method} {Path} answered 503: a dependency is unavailable", context.Request.Method, context.Request.Path);
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = { Status = StatusCodes.Status503ServiceUnavailable, Title = "Service Unavailable", Detail = Description },
        });
    }

    /// <summary>Every operation may answer 503 while a dependency is unavailable: its API document says so.</summary>
    public static async Task DescribeAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        operation.Responses ??= [];
        operation.Responses.TryAdd("503", new OpenApiResponse
        {
            Description = Description,
            Headers = new Dictionary<string, IOpenApiHeader>
            {
                ["Retry-After"] = new OpenApiHeader
                {
                    Description = "Seconds to wait before trying again.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.Integer },
                },
            },
            Content = new Dictionary<string, OpenApiMediaType>
            {
                [ApiDocuments.ProblemContentType] = new() { Schema = await context.GetOrCreateSchemaAsync(typeof(ProblemDetails), null, cancellationToken) },
            },
        });
    }
}
