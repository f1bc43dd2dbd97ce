using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Confluent.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.OpenApi;
using ShopChoreography.Messaging.Consumers;
using ShopChoreography.Messaging.DeadLetters;
using ShopChoreography.ServiceDefaults.Http;

namespace ShopChoreography.Messaging.Operations;

/// <summary>
/// Operator endpoints over the service's dead-letter topic. Both take the same filter in the query string:
/// <c>partition</c>, <c>offset</c> (on the dead-letter topic; <c>offset</c> needs <c>partition</c>), <c>eventId</c>,
/// <c>type</c>, <c>category</c>, <c>originalTopic</c>; none selects every dead letter.
/// </summary>
internal static partial class DeadLetterOperationsApi
{
    public const string DeadLettersPath = "/operations/dead-letters";

    private static readonly string[] FilterFields = ["partition", "offset", "eventId", "type", "category", "originalTopic"];

    private static readonly string[] Categories = [.. Enum.GetValues<DeadLetterCategory>().Select(DeadLetterHeaders.CategoryValue)];

    public static void MapDeadLetterOperations(this IEndpointRouteBuilder app)
    {
        var deadLetters = app.MapGroup(DeadLettersPath).WithTags(MessagingOperationsApi.OperationsTag)
            .DescribesParameters(FilterParameters)
            .DescribesProblem(StatusCodes.Status503ServiceUnavailable, "Kafka could not be read within Messaging:Operations:DeadLetterReadTimeout.");
        deadLetters.MapGet("", ListAsync).WithSummary("The dead letters the filter selects.");
        deadLetters.MapPost("/replay", ReplayAsync)
            .WithSummary("Produces the dead letters the filter selects back to their original topics and partitions.");
    }

    internal static async Task<Results<Ok<DeadLetterListing>, ValidationProblem, ProblemHttpResult>> ListAsync(
        HttpRequest request, DeadLetterReplay deadLetters, CancellationToken cancellationToken)
    {
        if (!TryReadFilter(request.Query, out var filter, out var errors))
        {
            return TypedResults.ValidationProblem(errors);
        }

        try
        {
            return TypedResults.Ok(await deadLetters.ListAsync(filter, cancellationToken));
        }
        catch (Exception ex) when (ex is KafkaException or TimeoutException)
        {
            return Unavailable(ex);
        }
    }

    internal static async Task<Results<Ok<DeadLetterReplayResult>, ValidationProblem, ProblemHttpResult>> ReplayAsync(
        HttpRequest request, DeadLetterReplay deadLetters, CancellationToken cancellationToken)
    {
        if (!TryReadFilter(request.Query, out var filter, out var errors))
        {
            return TypedResults.ValidationProblem(errors);
        }

        try
        {
            return TypedResults.Ok(await deadLetters.ReplayAsync(filter, cancellationToken));
        }
        catch (Exception ex) when (ex is KafkaException or TimeoutException)
        {
            return Unavailable(ex);
        }
    }

    private static ProblemHttpResult Unavailable(Exception exception) => TypedResults.Problem(
        title: "The dead-letter topic cannot be read now",
        detail: exception.Message,
        statusCode: StatusCodes.Status503ServiceUnavailable);

    /// <summary>
    /// Reads the filter, naming every bad field. An unknown or repeated parameter is an error rather than ignored:
    /// a misspelt filter must not turn a replay of one dead letter into a replay of all. Empty values filter nothing.
    /// </summary>
    internal static bool TryReadFilter(IQueryCollection query, out DeadLetterFilter filter, out Dictionary<string, string[]> errors)
    {
        errors = [];
        foreach (var (name, values) in query)
        {
            if (!FilterFields.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                errors[name] = [$"'{name}' is not a filter; the filters are {string.Join(", ", FilterFields)}."];
            }
            else if (values.Count > 1)
            {
                errors[name] = [$"'{name}' is given {values.Count} times; give it once."];
            }
        }

        var partition = (int?)Number(Text(query, "partition"), "partition", int.MaxValue, errors);
        var offset = Number(Text(query, "offset"), "offset", long.MaxValue, errors);
        if (offset is not null && Text(query, "partition") is null)
        {
            errors["partition"] = ["An offset is only meaningful with the dead-letter partition it is in."];
        }

        var category = Text(query, "category");
        if (category is not null && !Categories.Contains(category))
        {
            errors["category"] = [$"'{category}' is not a category; the categories are {string.Join(", ", Categories)}."];
        }

        var originalTopic = Text(query, "originalTopic");
        if (originalTopic is not null && (!TopicName().IsMatch(originalTopic) || originalTopic is "." or ".."))
        {
            errors["originalTopic"] = [$"'{originalTopic}' is not a Kafka topic name (1 to 249 of a-z, A-Z, 0-9, '.', '_', '-')."];
        }

        filter = new DeadLetterFilter(partition, offset, Text(query, "eventId"), Text(query, "type"), category, originalTopic);
        return errors.Count == 0;
    }

    private static IEnumerable<OpenApiParameter> FilterParameters() => FilterFields.Select(name => new OpenApiParameter
    {
        Name = name,
        In = ParameterLocation.Query,
        Description = name switch
        {
            "partition" => "The partition of the dead-letter topic.",
            "offset" => "The offset on the dead-letter topic; needs partition.",
            "eventId" => "The CloudEvent id.",
            "type" => "The CloudEvent type.",
            "category" => "Why it was dead-lettered.",
            "originalTopic" => "The topic it was consumed from.",
            _ => throw new InvalidOperationException($"The filter '{name}' has no description."),
        },
        Schema = name switch
        {
            "partition" => new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "0" },
            "offset" => new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64", Minimum = "0" },
            "category" => new OpenApiSchema { Type = JsonSchemaType.String, Enum = [.. Categories.Select(category => (JsonNode)category)] },
            "originalTopic" => new OpenApiSchema { Type = JsonSchemaType.String, Pattern = TopicNamePattern },
            _ => new OpenApiSchema { Type = JsonSchemaType.String },
        },
    });

    private static string? Text(IQueryCollection query, string name) =>
        query.TryGetValue(name, out var values) && values.Count == 1 && !string.IsNullOrWhiteSpace(values[0]) ? values[0] : null;

    private static long? Number(string? text, string name, long max, Dictionary<string, string[]> errors)
    {
        if (text is null)
        {
            return null;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number <= max)
        {
            return number;
        }

        errors[name] = [$"'{text}' is not a whole number from 0 to {max}."];
        return null;
    }

    private const string TopicNamePattern = "^[a-zA-Z0-9._-]{1,249}$";

    [GeneratedRegex(TopicNamePattern)]
    private static partial Regex TopicName();
}
