using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ShopChoreography.Messaging.Kafka;

/// <summary>
/// Checks at start that the topics a service publishes to and consumes from exist, and says plainly which do not. A
/// broker that creates topics on first use hides nothing here, but Azure Event Hubs cannot create topics through the Kafka
/// API: there a missing topic would otherwise show only as produce timeouts and consumers that never get an assignment.
/// Until every topic exists the service is not ready (<c>/health</c>); the check asks again every
/// <see cref="RetryInterval"/> and stops once they all exist.
/// </summary>
public sealed class KafkaTopicCheck(
    IServiceProvider services, string connectionName, Func<IServiceProvider, IEnumerable<string>> requiredTopics,
    ILogger<KafkaTopicCheck> logger) : BackgroundService, IHealthCheck
{
    public const string HealthCheckName = "kafka-topics";

    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(10);

    private volatile TopicState _state = TopicState.NotChecked;

    /// <summary>The topics in <paramref name="required"/> that the cluster's metadata does not list (or lists with an error).</summary>
    public static IReadOnlyList<string> MissingTopics(IEnumerable<string> required, Metadata metadata)
    {
        var present = metadata.Topics.Where(topic => topic.Error.Code == ErrorCode.NoError).Select(topic => topic.Topic).ToHashSet(StringComparer.Ordinal);
        return required.Where(topic => !present.Contains(topic)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>What a service says when topics it needs are missing: which ones, and where topics come from on Event Hubs.</summary>
    public static string DescribeMissing(IReadOnlyCollection<string> missing) =>
        $"Kafka topic(s) {string.Join(", ", missing.Select(topic => $"'{topic}'"))} do not exist on the cluster. " +
        "This service publishes to or consumes from them and is not ready until they exist. " +
        "Azure Event Hubs does not create topics through the Kafka API: create each one as an event hub " +
        "(AppHost/infra/eventhubs.bicep creates the contract's topics; see the README, 'Deploy to Azure').";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_state switch
        {
            { Missing.Count: 0, Checked: true } => HealthCheckResult.Healthy("Every topic the service uses exists."),
            { Checked: true } state => HealthCheckResult.Unhealthy(DescribeMissing(state.Missing)),
            _ => HealthCheckResult.Unhealthy("The service's Kafka topics have not been checked yet."),
        });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var topics = requiredTopics(services).ToList();
        var admin = services.GetKeyedService<IAdminClient>(KafkaClientBuilderExtensions.AdminClientKey(connectionName));
        if (topics.Count == 0 || admin is null)
        {
            _state = new TopicState(true, []);
            return;
        }

        IReadOnlyList<string>? reported = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // GetMetadata blocks for up to the timeout; keep it off the host's start-up thread.
                var metadata = await Task.Run(() => admin.GetMetadata(KafkaHealthCheck.Timeout), stoppingToken);
                var missing = MissingTopics(topics, metadata);
                _state = new TopicState(true, missing);
                if (missing.Count == 0)
                {
                    logger.LogInformation("Kafka topics {Topics} exist", string.Join(", ", topics.Order(StringComparer.Ordinal)));
                    return;
                }

                if (reported is null || !reported.SequenceEqual(missing))
                {
                    logger.LogError("{MissingTopics}", DescribeMissing(missing));
                    reported = missing;
                }
            }
            catch (KafkaException ex)
            {
                // The cluster does not answer: the Kafka health check says so; ask again later.
                logger.LogDebug(ex, "Could not read the Kafka cluster's topics");
            }

            await Task.Delay(RetryInterval, stoppingToken);
        }
    }

    private sealed record TopicState(bool Checked, IReadOnlyList<string> Missing)
    {
        public static readonly TopicState NotChecked = new(false, []);
    }
}
