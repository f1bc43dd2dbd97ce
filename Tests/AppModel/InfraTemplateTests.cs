using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ShopChoreography.Contracts;
using ShopChoreography.Tests.AppModel.Azd;

namespace ShopChoreography.Tests.AppModel;

/// <summary>
/// The checked-in azd templates (<c>AppHost/infra/*.tmpl.yaml</c>): azd deploys them as they are, instead of what it
/// would generate from the manifest, so they must say what the manifest of the shape says (ingress, environment,
/// secrets, arguments), and what the manifest cannot: replicas, probes and scale rules.
/// </summary>
[Collection(PublishedManifestsCollection.Name)]
public sealed partial class InfraTemplateTests(PublishedManifests manifests)
{
    private static readonly string[] Services = ["orders", "payments", "inventory"];

    [Theory]
    [InlineData(Shapes.Containers)]
    [InlineData(Shapes.Managed)]
    public void Every_app_of_the_shape_has_a_template_that_renders_and_parses(string shape)
    {
        var manifest = manifests[shape];

        foreach (var app in manifest.Apps)
        {
            Assert.True(File.Exists(ContainerAppTemplates.PathOf(app)), $"No template for {app}");
            var template = ContainerAppTemplates.Render(shape, manifest, app);

            Assert.Equal(app, template["tags"]!["azd-service-name"]!.GetValue<string>());
            Assert.Equal(app, template["tags"]!["aspire-resource-name"]!.GetValue<string>());
            var container = Assert.Single(Containers(template));
            Assert.Equal(app, container["name"]!.GetValue<string>());
            Assert.Equal(ContainerAppTemplates.Image, container["image"]!.GetValue<string>());
        }
    }

    [Theory]
    [InlineData(Shapes.Containers)]
    [InlineData(Shapes.Managed)]
    public void The_ingress_of_each_template_is_what_azd_makes_of_the_manifest(string shape)
    {
        var manifest = manifests[shape];

        foreach (var app in manifest.Apps)
        {
            var expected = manifest.Ingress(app)!;
            var ingress = ContainerAppTemplates.Render(shape, manifest, app)["properties"]!["configuration"]!["ingress"]!;

            Assert.Equal((expected.External, expected.Transport, expected.AllowInsecure, expected.TargetPort),
                (Bool(ingress["external"]), Text(ingress["transport"]), Bool(ingress["allowInsecure"]), Int(ingress["targetPort"])));
            Assert.Null(ingress["exposedPort"]);
            Assert.Equal(expected.AdditionalTargetPorts,
                (ingress["additionalPortMappings"]?.AsArray() ?? []).Select(mapping => Int(mapping!["targetPort"])).Order());
            Assert.All(ingress["additionalPortMappings"]?.AsArray() ?? [], mapping => Assert.False(Bool(mapping!["external"])));
        }
    }

    [Theory]
    [InlineData(Shapes.Containers)]
    [InlineData(Shapes.Managed)]
    public void Each_template_passes_the_manifests_environment_with_its_secrets_as_Container_Apps_secrets(string shape)
    {
        var manifest = manifests[shape];

        foreach (var app in manifest.Apps)
        {
            var data = ContainerAppTemplates.Data(shape, manifest, app);
            var (plain, secrets) = manifest.Environment(app);
            var template = ContainerAppTemplates.Render(shape, manifest, app);
            var container = Assert.Single(Containers(template));
            var secretValues = (template["properties"]!["configuration"]!["secrets"]?.AsArray() ?? [])
                .ToDictionary(secret => Text(secret!["name"]), secret => Text(secret!["value"]));
            var environment = container["env"]!.AsArray().Select(variable => variable!.AsObject()).ToList();

            var values = environment.Where(variable => variable["value"] is not null)
                .ToDictionary(variable => Text(variable["name"]), variable => Text(variable["value"]));
            var secretReferences = environment.Where(variable => variable["secretRef"] is not null)
                .ToDictionary(variable => Text(variable["name"]), variable => Text(variable["secretRef"]));

            var expectedValues = plain.ToDictionary(variable => variable.Key, variable => GoTemplate.Render(variable.Value, data));
            expectedValues["AZURE_CLIENT_ID"] = "11111111-2222-3333-4444-555555555555";
            Assert.Equal(expectedValues.OrderBy(v => v.Key, StringComparer.Ordinal), values.OrderBy(v => v.Key, StringComparer.Ordinal));
            Assert.Equal(secrets.Keys.Order(StringComparer.Ordinal), secretReferences.Keys.Order(StringComparer.Ordinal));
            foreach (var (name, value) in secrets)
            {
                Assert.True(secretValues.TryGetValue(secretReferences[name], out var secretValue), $"{app}: {name} refers to a missing secret");
                Assert.Equal(GoTemplate.Render(value, data), secretValue);
            }

            var arguments = container["args"]?.AsArray().Select(Text).ToList() ?? [];
            Assert.Equal(manifest.Arguments(app).Select(argument => GoTemplate.Render(argument, data)), arguments);
        }
    }

    [Theory]
    [InlineData("kafka")]
    [InlineData("postgres")]
    public void The_stateful_containers_run_exactly_one_replica_and_no_volume(string app)
    {
        var manifest = manifests[Shapes.Containers];

        var template = ContainerAppTemplates.Render(Shapes.Containers, manifest, app)["properties"]!["template"]!;

        Assert.Equal((1, 1), (Int(template["scale"]!["minReplicas"]), Int(template["scale"]!["maxReplicas"])));
        Assert.Null(template["scale"]!["rules"]);
        Assert.Null(template["volumes"]);
        Assert.Null(Assert.Single(template["containers"]!.AsArray())!["volumeMounts"]);
    }

    [Theory]
    [InlineData(Shapes.Containers)]
    [InlineData(Shapes.Managed)]
    public void The_services_are_probed_on_health_and_alive(string shape)
    {
        var manifest = manifests[shape];

        foreach (var service in Services)
        {
            var container = Assert.Single(Containers(ContainerAppTemplates.Render(shape, manifest, service)));

            var probes = container["probes"]!.AsArray().ToDictionary(probe => Text(probe!["type"]), probe => probe!["httpGet"]!);
            Assert.Equal(["Liveness", "Readiness", "Startup"], probes.Keys.Order(StringComparer.Ordinal));
            Assert.Equal(("/health", 8080), (Text(probes["Readiness"]["path"]), Int(probes["Readiness"]["port"])));
            Assert.Equal(("/alive", 8080), (Text(probes["Liveness"]["path"]), Int(probes["Liveness"]["port"])));
            Assert.Equal(("/alive", 8080), (Text(probes["Startup"]["path"]), Int(probes["Startup"]["port"])));
            Assert.All(container["probes"]!.AsArray(), probe =>
                Assert.InRange(Int(probe!["failureThreshold"]), 1, 10)); // Container Apps' limits
        }
    }

    [Theory]
    [InlineData(Shapes.Containers, 3)]
    [InlineData(Shapes.Managed, 12)]
    public void Each_service_scales_on_its_consumer_groups_lag_up_to_no_more_than_the_partitions(string shape, int maxReplicas)
    {
        var manifest = manifests[shape];

        foreach (var service in Services)
        {
            var data = ContainerAppTemplates.Data(shape, manifest, service);
            var template = ContainerAppTemplates.Render(shape, manifest, service);
            var scale = template["properties"]!["template"]!["scale"]!;

            Assert.Equal((1, maxReplicas), (Int(scale["minReplicas"]), Int(scale["maxReplicas"])));
            Assert.InRange(maxReplicas, 1, Topics.Partitions);
            var rule = Assert.Single(scale["rules"]!.AsArray())!["custom"]!;
            Assert.Equal("kafka", Text(rule["type"]));
            var metadata = rule["metadata"]!.AsObject();
            Assert.Equal(GoTemplate.Render(manifest.Environment(service).Secrets["ConnectionStrings__kafka"], data), Text(metadata["bootstrapServers"]));
            Assert.Equal(service, Text(metadata["consumerGroup"]));
            Assert.Equal("100", Text(metadata["lagThreshold"]));
            Assert.Equal("earliest", Text(metadata["offsetResetPolicy"])); // the consumers' auto.offset.reset
            Assert.DoesNotContain("allowIdleConsumers", metadata.Select(m => m.Key));

            if (shape == Shapes.Managed)
            {
                Assert.Equal(("plaintext", "enable"), (Text(metadata["sasl"]), Text(metadata["tls"])));
                var secrets = template["properties"]!["configuration"]!["secrets"]!.AsArray()
                    .ToDictionary(secret => Text(secret!["name"]), secret => Text(secret!["value"]));
                var auth = rule["auth"]!.AsArray().ToDictionary(entry => Text(entry!["triggerParameter"]), entry => Text(entry!["secretRef"]));
                Assert.Equal(["password", "username"], auth.Keys.Order(StringComparer.Ordinal));
                Assert.Equal("$ConnectionString", secrets[auth["username"]]);
                Assert.Equal(ContainerAppTemplates.Parameters(shape)["kafka_sasl_password"], secrets[auth["password"]]);
            }
            else
            {
                Assert.Null(rule["auth"]);
                Assert.False(metadata.ContainsKey("sasl"));
            }
        }
    }

    [Fact]
    public void The_Event_Hubs_definition_creates_the_contract_topics_with_their_partitions()
    {
        var bicep = File.ReadAllText(Path.Combine(ContainerAppTemplates.Directory, "eventhubs.bicep"));

        var topics = TopicsParameter().Match(bicep);
        Assert.True(topics.Success, "eventhubs.bicep has no topics parameter");
        Assert.Equal(Topics.All, QuotedName().Matches(topics.Groups["list"].Value).Select(m => m.Groups[1].Value));
        Assert.Equal(Topics.Partitions.ToString(System.Globalization.CultureInfo.InvariantCulture),
            PartitionCountParameter().Match(bicep).Groups["count"].Value);
        Assert.Contains("partitionCount: partitionCount", bicep, StringComparison.Ordinal);
        Assert.Contains("name: 'Standard'", bicep, StringComparison.Ordinal); // Basic has no Kafka endpoint
        Assert.Contains("output bootstrapServers string = '${namespace.name}.servicebus.windows.net:9093'", bicep, StringComparison.Ordinal);
    }

    private static IEnumerable<JsonObject> Containers(JsonObject template) =>
        template["properties"]!["template"]!["containers"]!.AsArray().Select(container => container!.AsObject());

    private static string Text(JsonNode? node) => node?.GetValue<string>() ?? throw new Xunit.Sdk.XunitException("missing value");

    private static int Int(JsonNode? node) => int.Parse(Text(node), System.Globalization.CultureInfo.InvariantCulture);

    private static bool Bool(JsonNode? node) => bool.Parse(Text(node));

    [GeneratedRegex(@"param topics array = \[(?<list>[^\]]*)\]")]
    private static partial Regex TopicsParameter();

    [GeneratedRegex(@"'([^']+)'")]
    private static partial Regex QuotedName();

    [GeneratedRegex(@"param partitionCount int = (?<count>\d+)")]
    private static partial Regex PartitionCountParameter();
}
