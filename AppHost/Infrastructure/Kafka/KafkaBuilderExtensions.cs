using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ShopChoreography.Contracts;

namespace ShopChoreography.AppHost.Infrastructure.Kafka;

public static class KafkaBuilderExtensions
{
    private const int MockBrokerCount = 3;
    private const int MockReplicationFactor = 3;
    private const string ErrorSecondsArgument = "seconds";
    private const int DefaultErrorSeconds = 10;
    private const int MaxErrorSeconds = 600;

    /// <summary>
    /// Consumer settings for the mock broker only. It answers a fetch only when fetch.wait.max.ms expires (500 ms
    /// by default), which would add a quarter of a second to every hop, where real brokers answer as soon as data
    /// arrives. And its group coordinator moves on from a member that misses a rebalance only once that member's
    /// session times out (45 s by default), so a replica joining would stall the group that long.
    /// </summary>
    private static readonly KafkaClientSettingAnnotation[] MockConsumerSettings =
    [
        KafkaClientSettingAnnotation.Plain(KafkaClients.Consumer, "fetch.wait.max.ms", "10"),
        KafkaClientSettingAnnotation.Plain(KafkaClients.Consumer, "session.timeout.ms", "6000"),
        KafkaClientSettingAnnotation.Plain(KafkaClients.Consumer, "heartbeat.interval.ms", "1000"),
    ];

    public static IResourceBuilder<IResourceWithConnectionString> AddKafka(
        this IDistributedApplicationBuilder builder, string name, InfrastructureMode mode) =>
        mode switch
        {
            InfrastructureMode.Local => builder.CreateResourceBuilder<IResourceWithConnectionString>(builder.AddKafkaMock(name).Resource),
            InfrastructureMode.Managed => builder.AddEventHubsKafka(name),
            _ => builder.CreateResourceBuilder<IResourceWithConnectionString>(builder.AddKafkaContainer(name).Resource),
        };

    /// <summary>
    /// References Kafka from a service, waits for it, and passes the client settings the broker needs
    /// (<see cref="KafkaClientSettingAnnotation"/>): secrets as references to secret parameters, the rest as plain values.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithKafka(
        this IResourceBuilder<ProjectResource> service, IResourceBuilder<IResourceWithConnectionString> kafka)
    {
        service.WithReference(kafka);
        if (kafka.Resource is not ParameterResource)
        {
            // A connection-string parameter has nothing to wait for.
            service.WaitFor(kafka);
        }

        foreach (var setting in kafka.Resource.Annotations.OfType<KafkaClientSettingAnnotation>())
        {
            foreach (var variable in setting.EnvironmentVariables())
            {
                if (setting.Secret is { } secret)
                {
                    service.WithEnvironment(variable, secret);
                }
                else
                {
                    service.WithEnvironment(variable, setting.Value);
                }
            }
        }

        return service;
    }

    public static IResourceBuilder<KafkaMockResource> AddKafkaMock(this IDistributedApplicationBuilder builder, string name)
    {
        var resource = new KafkaMockResource(name, MockBrokerCount);
        var healthCheckKey = $"{name}_brokers";
        builder.Services.AddHealthChecks().AddCheck(healthCheckKey, () => BrokerHealth(resource));

        var kafka = builder.AddResource(resource)
            .ExcludeFromManifest()
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = "Kafka (in-memory mock)",
                State = KnownResourceStates.NotStarted,
                Properties =
                [
                    new("kafka.broker", "In-memory DEVELOPMENT broker (librdkafka mock cluster): data is lost when the AppHost stops; not for production."),
                    new("kafka.brokers", $"{MockBrokerCount}"),
                ],
            })
            .WithHealthCheck(healthCheckKey);
        foreach (var setting in MockConsumerSettings)
        {
            kafka.WithAnnotation(setting);
        }

        builder.Eventing.Subscribe<InitializeResourceEvent>(resource, async (e, cancellationToken) =>
        {
            var logger = e.Logger;
            await e.Eventing.PublishAsync(new BeforeResourceStartedEvent(resource, e.Services), cancellationToken);
            await e.Notifications.PublishUpdateAsync(resource, s => s with { State = KnownResourceStates.Starting });

            KafkaMockCluster cluster;
            try
            {
                cluster = new KafkaMockCluster(MockBrokerCount);
                foreach (var topic in Topics.All)
                {
                    cluster.CreateTopic(topic, Topics.Partitions, MockReplicationFactor);
                }
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "The Kafka mock cluster did not start");
                await e.Notifications.PublishUpdateAsync(resource, s => s with { State = KnownResourceStates.FailedToStart });
                return;
            }

            e.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopped.Register(cluster.Dispose);
            resource.Started(cluster);
            logger.LogWarning(
                "In-memory development broker (librdkafka mock cluster) listening on {BootstrapServers}. " +
                "Data lives in memory only, is trimmed to the newest ~5 MiB per partition, and is lost when the AppHost stops.",
                cluster.BootstrapServers);
            logger.LogInformation("Created topics {Topics} with {Partitions} partitions, replication factor {ReplicationFactor}, all led by broker {Leader}",
                string.Join(", ", Topics.All), Topics.Partitions, MockReplicationFactor, KafkaMockCluster.LeaderBrokerId);

            await e.Eventing.PublishAsync(new ConnectionStringAvailableEvent(resource, e.Services), cancellationToken);
            await e.Notifications.PublishUpdateAsync(resource, s => s with
            {
                State = KnownResourceStates.Running,
                StartTimeStamp = DateTime.UtcNow,
                Properties = [.. s.Properties, .. ClusterProperties(cluster)],
            });
        });

        for (var brokerId = 1; brokerId <= MockBrokerCount; brokerId++)
        {
            var id = brokerId;
            kafka.WithCommand($"broker-{id}-down", $"Take broker {id} down",
                context => ChangeBrokers(context, resource, cluster => cluster.SetBrokerDown(id), $"Broker {id} is down."),
                new CommandOptions
                {
                    Description = id == KafkaMockCluster.LeaderBrokerId
                        ? $"Fault drill: mock broker {id}, which leads every partition, stops answering until brought back up: no topic can be produced to or fetched from meanwhile."
                        : $"Fault drill: mock broker {id}, which leads no partition, stops answering until brought back up.",
                    IconName = "PlugDisconnected",
                    UpdateState = context => CommandState(context, resource, () => resource.Cluster?.IsBrokerUp(id) == true),
                });
        }

        kafka.WithCommand("brokers-up", "Bring all brokers up",
            context => ChangeBrokers(context, resource, cluster => cluster.SetAllBrokersUp(), "All brokers are up."),
            new CommandOptions
            {
                Description = "Ends a fault drill: every mock broker answers again.",
                IconName = "PlugConnected",
                UpdateState = context => CommandState(context, resource, () => resource.Cluster?.BrokersUp < MockBrokerCount),
            });

        foreach (var window in new[] { new RequestErrorWindow(KafkaRequest.Produce), new RequestErrorWindow(KafkaRequest.Fetch) })
        {
            var requests = RequestsName(window);
            kafka.WithCommand($"inject-{requests}-errors", $"Inject {requests} errors",
                context => InjectRequestErrors(context, resource, window),
                new CommandOptions
                {
                    Description = $"Fault drill: every {requests} request to any mock broker fails with {RequestErrorWindow.Error} (retriable) for the given seconds.",
                    ConfirmationMessage = $"Fail every {requests} request to the mock brokers for the given seconds?",
                    IconName = "ErrorCircle",
                    Arguments = [new InteractionInput
                    {
                        Name = ErrorSecondsArgument,
                        Label = "Seconds",
                        InputType = InputType.Number,
                        Required = true,
                        Value = $"{DefaultErrorSeconds}",
                    }],
                    ValidateArguments = context =>
                    {
                        if (!TryReadErrorSeconds(context.Inputs, out _, out var error))
                        {
                            context.AddValidationError(ErrorSecondsArgument, error);
                        }

                        return Task.CompletedTask;
                    },
                    UpdateState = context => CommandState(context, resource, () => true),
                });
        }

        return kafka;
    }

    public static IResourceBuilder<KafkaContainerResource> AddKafkaContainer(this IDistributedApplicationBuilder builder, string name)
    {
        var resource = new KafkaContainerResource(name);
        var healthCheckKey = $"{name}_metadata";
        var controllerVoters = $"1@localhost:{KafkaContainerResource.ControllerPort}";
        var listeners = $"PLAINTEXT_HOST://0.0.0.0:{KafkaContainerResource.PrimaryTargetPort}," +
                        $"PLAINTEXT_INTERNAL://0.0.0.0:{KafkaContainerResource.InternalTargetPort}," +
                        $"CONTROLLER://0.0.0.0:{KafkaContainerResource.ControllerPort}";
        var partitions = Topics.Partitions.ToString(System.Globalization.CultureInfo.InvariantCulture);
        IAdminClient? admin = null; // one client for every run of the check, disposed with the app
        builder.Eventing.Subscribe<ConnectionStringAvailableEvent>(resource, async (e, cancellationToken) =>
        {
            var bootstrapServers = await resource.ConnectionStringExpression.GetValueAsync(cancellationToken);
            admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
            e.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopped.Register(admin.Dispose);
        });
        builder.Services.AddHealthChecks().AddCheck(healthCheckKey, () => MetadataHealth(admin));

        return builder.AddResource(resource)
            .WithImage(KafkaContainerResource.Image, KafkaContainerResource.Tag)
            .WithImageRegistry("docker.io")
            .WithEndpoint(targetPort: KafkaContainerResource.PrimaryTargetPort, name: KafkaContainerResource.PrimaryEndpointName)
            .WithEndpoint(targetPort: KafkaContainerResource.InternalTargetPort, name: KafkaContainerResource.InternalEndpointName)
            .WithEnvironment("KAFKA_NODE_ID", "1")
            .WithEnvironment("KAFKA_PROCESS_ROLES", "broker,controller")
            .WithEnvironment("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
            .WithEnvironment("KAFKA_CONTROLLER_QUORUM_VOTERS", controllerVoters)
            .WithEnvironment("KAFKA_LISTENERS", listeners)
            .WithEnvironment("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
                "CONTROLLER:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT,PLAINTEXT_INTERNAL:PLAINTEXT")
            .WithEnvironment("KAFKA_INTER_BROKER_LISTENER_NAME", "PLAINTEXT_INTERNAL")
            .WithEnvironment(context => context.EnvironmentVariables["KAFKA_ADVERTISED_LISTENERS"] =
                KafkaContainerResource.AdvertisedListeners(resource, context.ExecutionContext))
            .WithEnvironment("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
            .WithEnvironment("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
            .WithEnvironment("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
            .WithEnvironment("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
            .WithEnvironment("KAFKA_NUM_PARTITIONS", partitions)
            .WithArgs(KafkaContainerResource.StartCreatingTopics(Topics.All, Topics.Partitions))
            .WithHealthCheck(healthCheckKey);
    }

    private static HealthCheckResult BrokerHealth(KafkaMockResource resource) => resource.Cluster switch
    {
        null => HealthCheckResult.Unhealthy("The mock cluster has not started."),
        { BrokersUp: 0 } => HealthCheckResult.Unhealthy("Every mock broker is down."),
        var cluster when cluster.BrokersUp < cluster.BrokerCount =>
            HealthCheckResult.Degraded($"{cluster.BrokersUp} of {cluster.BrokerCount} mock brokers are up."),
        _ => HealthCheckResult.Healthy(),
    };

    private static HealthCheckResult MetadataHealth(IAdminClient? admin)
    {
        if (admin is null)
        {
            return HealthCheckResult.Unhealthy("The broker's endpoint is not allocated yet.");
        }

        try
        {
            var metadata = admin.GetMetadata(TimeSpan.FromSeconds(5));
            return metadata.Brokers.Count > 0
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy("The cluster reports no brokers.");
        }
        catch (KafkaException ex)
        {
            return HealthCheckResult.Unhealthy("The broker does not answer metadata requests.", ex);
        }
    }

    private static IEnumerable<ResourcePropertySnapshot> ClusterProperties(KafkaMockCluster cluster) =>
    [
        new("kafka.bootstrap.servers", cluster.BootstrapServers),
        new("kafka.brokers.up", $"{cluster.BrokersUp}/{cluster.BrokerCount}"),
        new("kafka.topics", string.Join(", ", Topics.All)),
        new("kafka.partition.leader", $"broker {KafkaMockCluster.LeaderBrokerId}"),
    ];

    private static async Task<ExecuteCommandResult> ChangeBrokers(
        ExecuteCommandContext context, KafkaMockResource resource, Action<KafkaMockCluster> change, string outcome)
    {
        if (resource.Cluster is not { } cluster)
        {
            return CommandResults.Failure("The mock cluster is not running.");
        }

        change(cluster);
        await ShowPropertyAsync(context.Services, resource, "kafka.brokers.up", $"{cluster.BrokersUp}/{cluster.BrokerCount}");
        context.Logger.LogWarning("{Outcome} {BrokersUp} of {BrokerCount} mock brokers are up.", outcome, cluster.BrokersUp, cluster.BrokerCount);
        return CommandResults.Success($"{outcome} {cluster.BrokersUp} of {cluster.BrokerCount} mock brokers are up.");
    }

    private static async Task<ExecuteCommandResult> InjectRequestErrors(
        ExecuteCommandContext context, KafkaMockResource resource, RequestErrorWindow window)
    {
        if (resource.Cluster is not { } cluster)
        {
            return CommandResults.Failure("The mock cluster is not running.");
        }

        if (!TryReadErrorSeconds(context.Arguments, out var seconds, out var error))
        {
            return CommandResults.Failure(error);
        }

        var requests = RequestsName(window);
        var property = $"kafka.errors.{requests}";
        var logger = context.Logger;
        var services = context.Services;
        var until = window.Open(cluster, TimeSpan.FromSeconds(seconds), TimeProvider.System, async () =>
        {
            await ShowPropertyAsync(services, resource, property, value: null);
            logger.LogWarning("{Requests} requests are answered normally again.", window.Request);
        }, services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping);

        var outcome = $"Every {requests} request fails with {RequestErrorWindow.Error} for {seconds} s, until {until:HH:mm:ss} UTC.";
        await ShowPropertyAsync(services, resource, property, $"{RequestErrorWindow.Error} until {until:HH:mm:ss} UTC");
        logger.LogWarning("{Outcome}", outcome);
        return CommandResults.Success(outcome);
    }

    private static bool TryReadErrorSeconds(InteractionInputCollection arguments, out int seconds, out string error)
    {
        var text = arguments.TryGetByName(ErrorSecondsArgument, out var input) ? input.Value : null;
        seconds = DefaultErrorSeconds;
        error = "";
        if (string.IsNullOrWhiteSpace(text) ||
            (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out seconds) &&
             seconds is >= 1 and <= MaxErrorSeconds))
        {
            return true;
        }

        error = $"'{text}' is not a whole number of seconds from 1 to {MaxErrorSeconds}.";
        return false;
    }

    private static string RequestsName(RequestErrorWindow window) => window.Request.ToString().ToLowerInvariant();

    /// <summary>Sets (or, with a null value, removes) one of the resource's properties shown in the dashboard.</summary>
    private static Task ShowPropertyAsync(IServiceProvider services, KafkaMockResource resource, string name, string? value) =>
        services.GetRequiredService<ResourceNotificationService>().PublishUpdateAsync(resource, s => s with
        {
            Properties = [.. s.Properties.Where(p => p.Name != name), .. value is null ? Array.Empty<ResourcePropertySnapshot>() : [new(name, value)]],
        });

    private static ResourceCommandState CommandState(UpdateCommandStateContext context, KafkaMockResource resource, Func<bool> applies) =>
        context.ResourceSnapshot.State?.Text == KnownResourceStates.Running && applies()
            ? ResourceCommandState.Enabled
            : ResourceCommandState.Disabled;
}
