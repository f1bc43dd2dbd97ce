using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using BadHttpRequestException = Microsoft.AspNetCore.Http.BadHttpRequestException;

namespace ShopChoreography.ServiceDefaults.Http;

/// <summary>What a service accepts as a request, and how it answers one it cannot read or cannot serve now.</summary>
public static class RequestLimits
{
    /// <summary>The services' bodies are small: an order of 100 lines is about 15 KiB.</summary>
    public const long MaxRequestBodySize = 1024 * 1024;

    public static IHostApplicationBuilder AddRequestLimits(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<KestrelServerOptions>(kestrel => kestrel.Limits.MaxRequestBodySize = MaxRequestBodySize);
        builder.Services.AddExceptionHandler<BadHttpRequestExceptionHandler>();
        return builder;
    }

    /// <summary>
    /// Refuses, with 415 problem details, a request whose body is not declared as JSON (<c>application/json</c> or a
    /// <c>+json</c> type), before the endpoint reads it. The API document describes the body as
    /// <typeparamref name="TBody"/> with <paramref name="example"/>, and its 413 and 415 answers.
    /// </summary>
    public static TBuilder AcceptsJsonOnly<TBuilder, TBody>(this TBuilder endpoint, TBody example) where TBuilder : IEndpointConventionBuilder =>
        endpoint.AddEndpointFilter(async (context, next) => context.HttpContext.Request.HasJsonContentType()
                ? await next(context)
                : TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType,
                    detail: "The body must be JSON, sent with Content-Type: application/json."))
            .DescribesJsonBody(example)
            .DescribesProblem(StatusCodes.Status413PayloadTooLarge, $"The body is larger than {MaxRequestBodySize} bytes.")
            .DescribesProblem(StatusCodes.Status415UnsupportedMediaType,
                "The body is not sent as JSON: Content-Type must be application/json or a +json type.");
}

/// <summary>
/// Kestrel reports a request it cannot read by throwing <see cref="BadHttpRequestException"/> from the body stream,
/// with the status to answer: 413 for a body over the limit, 400 for a malformed one. Answered here as problem
/// details with that status, where the exception handler would otherwise make it a 500.
/// </summary>
internal sealed class BadHttpRequestExceptionHandler(IProblemDetailsService problemDetails) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException badRequest)
        {
            return false;
        }

        context.Response.StatusCode = badRequest.StatusCode;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = badRequest.StatusCode, Detail = badRequest.Message },
        });
    }
}
