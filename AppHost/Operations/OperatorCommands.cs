using System.Net;
using System.Text.Json.Nodes;
using ShopChoreography.Messaging;

namespace ShopChoreography.AppHost.Operations;

/// <summary>
/// Dashboard commands that call a service's operator endpoints (<c>/operations/...</c>, on its <c>http</c> endpoint)
/// and report what the service did. A service whose <c>Messaging:Operations:MapEndpoints</c> is false answers 404,
/// which the command reports as its failure.
/// </summary>
public static class OperatorCommands
{
    private const string EndpointName = "http";

    /// <summary>The replay's optional filter, passed on as the endpoint's query string (see README, Operations: dead letters).</summary>
    private static readonly string[] ReplayFilter = ["eventId", "type", "category", "originalTopic"];

    /// <summary>Replay dead letters, pause and resume consumption: every service that consumes events.</summary>
    public static IResourceBuilder<ProjectResource> WithMessagingCommands(this IResourceBuilder<ProjectResource> service)
    {
        var name = service.Resource.Name;
        var deadLetterTopic = MessagingOptions.DeadLetterTopicOf(name);
        return service
            .WithHttpCommand("/operations/dead-letters/replay", "Replay dead letters", EndpointName, "replay-dead-letters", new HttpCommandOptions
            {
                Description = $"Produces the dead letters of {deadLetterTopic} again to the topics they came from; the inboxes keep it at most once.",
                ConfirmationMessage = $"Replay the dead letters of {deadLetterTopic} that match the filter (no filter: all of them)?",
                IconName = "ArrowRepeatAll",
                Arguments = [.. ReplayFilter.Select(name => new InteractionInput { Name = name, InputType = InputType.Text, Required = false })],
                PrepareRequest = context =>
                {
                    var filter = ReplayFilter
                        .Select(name => (Name: name, Value: context.Arguments.TryGetByName(name, out var input) ? input.Value : null))
                        .Where(argument => !string.IsNullOrWhiteSpace(argument.Value))
                        .Select(argument => $"{argument.Name}={Uri.EscapeDataString(argument.Value!)}");
                    context.Request.RequestUri = new UriBuilder(context.Request.RequestUri!) { Query = string.Join('&', filter) }.Uri;
                    return Task.CompletedTask;
                },
                GetCommandResult = context => ResultAsync(context, name, body =>
                {
                    var (matched, replayed) = (body["matched"]!.GetValue<int>(), body["replayed"]!.GetValue<int>());
                    var message = $"Replayed {replayed} of {matched} dead letters of {deadLetterTopic}.";
                    var failure = body["deadLetters"]!.AsArray().Select(letter => letter?["replayFailure"]?.GetValue<string>()).FirstOrDefault(reason => reason is not null);
                    return failure is null ? CommandResults.Success(message) : CommandResults.Failure($"{message} First failure: {failure}");
                }),
            })
            .WithHttpCommand("/operations/consumption/pause", "Pause consumption", EndpointName, "pause-consumption", new HttpCommandOptions
            {
                Description = "Stops fetching events on every partition of the service's consumer group until resumed; the saga waits for it.",
                ConfirmationMessage = $"Pause consumption of {name}? Its saga steps wait until it is resumed.",
                IconName = "Pause",
                GetCommandResult = context => ResultAsync(context, name, body => CommandResults.Success(ConsumptionMessage(name, "paused", body))),
            })
            .WithHttpCommand("/operations/consumption/resume", "Resume consumption", EndpointName, "resume-consumption", new HttpCommandOptions
            {
                Description = "Fetches events again on every partition the operator paused (back-pressure still holds partitions that are behind).",
                IconName = "Play",
                GetCommandResult = context => ResultAsync(context, name, body => CommandResults.Success(ConsumptionMessage(name, "resumed", body))),
            });
    }

    /// <summary>Heal stuck orders: Orders only.</summary>
    public static IResourceBuilder<ProjectResource> WithStuckOrderCommands(this IResourceBuilder<ProjectResource> orders)
    {
        var name = orders.Resource.Name;
        return orders.WithHttpCommand("/operations/stuck-orders/heal", "Heal stuck orders", EndpointName, "heal-stuck-orders", new HttpCommandOptions
        {
            Description = "Sends OrderCreated again for every order whose saga has not moved within its step deadline.",
            ConfirmationMessage = "Heal every stuck order now? Each one's OrderCreated is sent again; the inboxes keep every step at most once.",
            IconName = "HeartPulse",
            GetCommandResult = context => ResultAsync(context, name, body =>
                CommandResults.Success(body["healed"]!.GetValue<int>() is var healed && healed == 1 ? "Healed 1 stuck order." : $"Healed {healed} stuck orders.")),
        });
    }

    private static string ConsumptionMessage(string service, string change, JsonNode body)
    {
        var behind = body["backPressuredPartitions"]!.GetValue<int>();
        return $"Consumption of {service} {change}: {body["pausedPartitions"]!.GetValue<int>()} of " +
               $"{body["assignedPartitions"]!.GetValue<int>()} partitions paused" +
               (behind > 0 ? $", {behind} of them by back-pressure." : ".");
    }

    /// <summary>A success answer becomes the command's message; any other, a failure with the service's reason.</summary>
    private static async Task<ExecuteCommandResult> ResultAsync(HttpCommandResultContext context, string service,
        Func<JsonNode, ExecuteCommandResult> success)
    {
        var response = context.Response;
        var text = await response.Content.ReadAsStringAsync(context.CancellationToken);
        if (response.IsSuccessStatusCode)
        {
            return success(JsonNode.Parse(text)!);
        }

        var request = $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}";
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return CommandResults.Failure($"{service} answered 404 to {request}: its operator endpoints are off (Messaging:Operations:MapEndpoints).");
        }

        return CommandResults.Failure($"{service} answered {(int)response.StatusCode} to {request}: {ProblemText(text)}");
    }

    /// <summary>A problem details body's title, detail and field errors, or the body as it is.</summary>
    private static string ProblemText(string body)
    {
        try
        {
            var problem = JsonNode.Parse(body);
            var errors = problem?["errors"]?.AsObject().Select(error => $"{error.Key}: {string.Join(" ", error.Value!.AsArray().Select(e => e!.GetValue<string>()))}");
            return string.Join(" ", new[] { problem?["title"]?.GetValue<string>(), problem?["detail"]?.GetValue<string>() }
                .Concat(errors ?? []).Where(part => !string.IsNullOrEmpty(part)));
        }
        catch (System.Text.Json.JsonException)
        {
            return body;
        }
    }
}
