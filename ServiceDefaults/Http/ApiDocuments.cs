using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.OpenApi;
using Scalar.AspNetCore;
using ShopChoreography.ServiceDefaults.Validation;

namespace ShopChoreography.ServiceDefaults.Http;

/// <summary>
/// Each service's OpenAPI document at <see cref="DocumentPath"/>, generated from its endpoints, and a browsable
/// reference over it at <see cref="ReferencePath"/>.
/// </summary>
public static class ApiDocuments
{
    public const string DocumentPath = "/openapi/v1.json";
    public const string ReferencePath = "/scalar";
    public const string ProblemContentType = "application/problem+json";

    public static IHostApplicationBuilder AddApiDocuments(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer(DescribeHealthEndpoints);
            options.AddOperationTransformer(DescribeProblemBodies);
            options.AddSchemaTransformer(DescribeNumbers);
        });
        return builder;
    }

    /// <summary>The title of the service's API document and the paragraph that introduces it.</summary>
    public static IHostApplicationBuilder DescribeApi(this IHostApplicationBuilder builder, string title, string introduction)
    {
        builder.Services.ConfigureAll<OpenApiOptions>(options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = $"{title} API";
            document.Info.Description = string.Join(' ', introduction.Split((char[])['\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            return Task.CompletedTask;
        }));
        return builder;
    }

    public static WebApplication MapApiDocuments(this WebApplication app)
    {
        app.MapOpenApi();
        app.MapScalarApiReference(ReferencePath);
        return app;
    }

    /// <summary>
    /// Documents the JSON body an endpoint reads and validates itself (so that it can name every bad field at once):
    /// its shape and limits from <typeparamref name="TBody"/>, and <paramref name="example"/>.
    /// </summary>
    internal static TBuilder DescribesJsonBody<TBuilder, TBody>(this TBuilder endpoint, TBody example) where TBuilder : IEndpointConventionBuilder =>
        endpoint.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["application/json"] = new()
                    {
                        Schema = await context.GetOrCreateSchemaAsync(typeof(TBody), null, cancellationToken),
                        Example = JsonSerializer.SerializeToNode(example, JsonSerializerOptions.Web),
                    },
                },
            };
        });

    /// <summary>Documents parameters the endpoint reads itself (from the headers or the query string), with their limits.</summary>
    public static TBuilder DescribesParameters<TBuilder>(this TBuilder endpoint, Func<IEnumerable<OpenApiParameter>> parameters)
        where TBuilder : IEndpointConventionBuilder =>
        endpoint.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.Parameters ??= [];
            foreach (var parameter in parameters())
            {
                operation.Parameters.Add(parameter);
            }

            return Task.CompletedTask;
        });

    /// <summary>Documents an error response the endpoint returns itself (not through its result types), as problem details.</summary>
    public static TBuilder DescribesProblem<TBuilder>(this TBuilder endpoint, int statusCode, string description) where TBuilder : IEndpointConventionBuilder =>
        endpoint.WithMetadata(new ProducesResponseTypeMetadata(statusCode, typeof(ProblemDetails), [ProblemContentType]))
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                operation.Responses![statusCode.ToString()].Description = description;
                return Task.CompletedTask;
            });

    /// <summary>Every error is a problem details body, also those whose result type says nothing of it (a bare 404).</summary>
    private static async Task DescribeProblemBodies(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        operation.Responses ??= [];
        foreach (var (status, response) in operation.Responses)
        {
            if (int.Parse(status) >= 400 && response is OpenApiResponse { Content: null or { Count: 0 } } bare)
            {
                bare.Content = new Dictionary<string, OpenApiMediaType>
                {
                    [ProblemContentType] = new() { Schema = await context.GetOrCreateSchemaAsync(typeof(ProblemDetails), null, cancellationToken) },
                };
            }
        }
    }

    /// <summary>
    /// Numbers are read and written as JSON numbers only (the endpoints read their bodies themselves), where the web
    /// defaults' lenient reading would describe each as a number or a numeric string. Amounts go in steps of a cent.
    /// </summary>
    private static Task DescribeNumbers(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (schema.Type is { } type && type.HasFlag(JsonSchemaType.String) && (type & (JsonSchemaType.Number | JsonSchemaType.Integer)) != 0)
        {
            schema.Type = type & ~JsonSchemaType.String;
            schema.Pattern = null;
        }

        if (context.JsonPropertyInfo?.AttributeProvider?.IsDefined(typeof(AmountAttribute), inherit: true) == true)
        {
            schema.MultipleOf = AmountAttribute.Step;
        }

        return Task.CompletedTask;
    }

    /// <summary>The probes are mapped as health checks, not as API endpoints, so they are described here.</summary>
    private static Task DescribeHealthEndpoints(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Paths ??= [];
        document.Paths[Extensions.HealthEndpointPath] = Probe("Ready: every health check passes, the database and Kafka included.");
        document.Paths[Extensions.AlivenessEndpointPath] = Probe("Alive: the process answers.");
        return Task.CompletedTask;
    }

    private static OpenApiPathItem Probe(string summary) => new()
    {
        Operations = new Dictionary<HttpMethod, OpenApiOperation>
        {
            [HttpMethod.Get] = new()
            {
                Summary = summary,
                Tags = new HashSet<OpenApiTagReference> { new("Probes") },
                Responses = new OpenApiResponses
                {
                    ["200"] = PlainText("Healthy"),
                    ["503"] = PlainText("Unhealthy"),
                },
            },
        },
    };

    private static OpenApiResponse PlainText(string body) => new()
    {
        Description = body,
        Content = new Dictionary<string, OpenApiMediaType> { ["text/plain"] = new() { Example = body } },
    };
}
