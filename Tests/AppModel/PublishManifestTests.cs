using System.Text.RegularExpressions;
using ShopChoreography.Contracts;
using ShopChoreography.Tests.AppModel.Azd;

namespace ShopChoreography.Tests.AppModel;

/// <summary>
/// What azd consumes: the manifest of each deployment shape, read the way azd reads it (<see cref="AzdManifest"/>).
/// Azure Container Apps hosts projects and containers, so nothing in it may be an executable.
/// </summary>
[Collection(PublishedManifestsCollection.Name)]
public sealed partial class PublishManifestTests(PublishedManifests manifests)
{
    private static readonly string[] Services = ["orders", "payments", "inventory"];

    [Theory]
    [InlineData(Shapes.Containers, "kafka=container.v0 postgres=container.v0 postgres-password=parameter.v0 " +
        "ordersdb=value.v0 paymentsdb=value.v0 inventorydb=value.v0 orders=project.v0 payments=project.v0 inventory=project.v0")]
    [InlineData(Shapes.Managed, "kafka=parameter.v0 kafka-sasl-password=parameter.v0 " +
        "ordersdb=parameter.v0 paymentsdb=parameter.v0 inventorydb=parameter.v0 orders=project.v0 payments=project.v0 inventory=project.v0")]
    public void Each_shape_publishes_exactly_these_resources_of_types_azd_accepts(string shape, string expected)
    {
        var manifest = manifests[shape];

        var resources = manifest.Resources.Select(r => $"{r.Key}={manifest.TypeOf(r.Key)}").Order(StringComparer.Ordinal);

        Assert.Equal(expected.Split(' ').Order(StringComparer.Ordinal), resources);
        Assert.All(manifest.Resources, r => Assert.Contains(manifest.TypeOf(r.Key), AzdManifest.AcceptedTypes));
    }

    [Theory]
    [InlineData(Shapes.Containers)]
    [InlineData(Shapes.Managed)]
    public void Only_orders_is_reachable_from_the_internet(string shape)
    {
        var manifest = manifests[shape];

        var orders = manifest.Ingress("orders")!;
        Assert.Equal(("http", true, 8080, false), (orders.Transport, orders.External, orders.TargetPort, orders.AllowInsecure));
        foreach (var service in new[] { "payments", "inventory" })
        {
            var ingress = manifest.Ingress(service)!;
            Assert.Equal(("http", false, 8080, true), (ingress.Transport, ingress.External, ingress.TargetPort, ingress.AllowInsecure));
        }

        Assert.Equal(["orders"], manifest.Apps.Where(app => manifest.Ingress(app)?.External == true));
    }

    [Fact]
    public void The_containers_are_internal_tcp_apps_on_their_listeners()
    {
        var manifest = manifests[Shapes.Containers];

        var kafka = manifest.Ingress("kafka")!;
        Assert.Equal(("tcp", false, 9092, (int?)null), (kafka.Transport, kafka.External, kafka.TargetPort, kafka.ExposedPort));
        Assert.Equal([9093], kafka.AdditionalTargetPorts);
        var postgres = manifest.Ingress("postgres")!;
        Assert.Equal(("tcp", false, 5432), (postgres.Transport, postgres.External, postgres.TargetPort));
        Assert.Empty(postgres.AdditionalTargetPorts);
    }

    [Theory]
    [InlineData(Shapes.Containers)]
    [InlineData(Shapes.Managed)]
    public void Every_expression_resolves_as_azd_resolves_it(string shape)
    {
        var manifest = manifests[shape];

        foreach (var (name, resource) in manifest.Resources)
        {
            if (resource!["connectionString"] is { } connectionString)
            {
                manifest.Resolve(connectionString.GetValue<string>());
            }

            if (AzdManifest.IsApp(manifest.TypeOf(name)))
            {
                manifest.Environment(name);
                manifest.Arguments(name);
            }
        }
    }

    [Fact]
    public void Kafka_advertises_kafka_and_the_port_on_the_listener_its_connection_string_points_at()
    {
        var manifest = manifests[Shapes.Containers];
        var bootstrap = manifest.Resolve("{kafka.connectionString}");
        var environment = manifest.Environment("kafka").Plain;

        var listenerPorts = environment["KAFKA_LISTENERS"].Split(',').Select(Listener).ToDictionary(l => l.Name, l => l.Address);
        var advertised = environment["KAFKA_ADVERTISED_LISTENERS"].Split(',').Select(Listener).ToDictionary(l => l.Name, l => l.Address);
        var bootstrapListener = Assert.Single(listenerPorts, l => l.Value.EndsWith($":{bootstrap.Split(':')[1]}", StringComparison.Ordinal)).Key;

        Assert.Equal("kafka:9092", bootstrap);
        Assert.Equal("kafka:9092", advertised[bootstrapListener]);
        Assert.Equal("kafka:9093", advertised["PLAINTEXT_INTERNAL"]);
    }

    [Fact]
    public void Kafka_creates_the_contract_topics_with_their_partitions_when_it_starts()
    {
        var arguments = manifests[Shapes.Containers].Arguments("kafka");

        Assert.Equal(["/bin/sh", "-c"], arguments.Take(2));
        var script = arguments[2];
        Assert.StartsWith("/etc/kafka/docker/run &\n", script, StringComparison.Ordinal);
        Assert.Contains($"for topic in {string.Join(' ', Topics.All)}; do", script, StringComparison.Ordinal);
        Assert.Contains("--create --if-not-exists --topic $topic --partitions 12 --replication-factor 1", script, StringComparison.Ordinal);
        Assert.EndsWith("\nwait $broker", script, StringComparison.Ordinal);
        Assert.Equal(12, Topics.Partitions);
    }

    [Theory]
    [InlineData(Shapes.Containers)]
    [InlineData(Shapes.Managed)]
    public void No_container_has_a_volume_that_would_become_an_Azure_Files_share(string shape)
    {
        var manifest = manifests[shape];

        Assert.All(manifest.Apps, app =>
        {
            Assert.Null(manifest.Resources[app]!["volumes"]);
            Assert.Null(manifest.Resources[app]!["bindMounts"]);
        });
    }

    [Theory]
    [InlineData(Shapes.Containers, "postgres-password")]
    [InlineData(Shapes.Managed, "inventorydb kafka kafka-sasl-password ordersdb paymentsdb")]
    public void Every_parameter_is_a_secret_without_a_default_value(string shape, string parameters)
    {
        var manifest = manifests[shape];

        var all = manifest.Resources.Where(r => manifest.TypeOf(r.Key) == "parameter.v0").Select(r => r.Key).Order(StringComparer.Ordinal);

        Assert.Equal(parameters.Split(' '), all);
        Assert.All(all, name =>
        {
            var (secret, @default) = manifest.Parameter(name);
            Assert.True(secret, $"{name} is not a secret parameter");
            Assert.Null(@default?["value"]); // azd refuses a secured parameter with a default value
        });
        if (shape == Shapes.Managed)
        {
            // The operator gives azd every managed connection string: none is generated.
            Assert.All(all, name => Assert.Null(manifest.Parameter(name).Default));
        }
        else
        {
            Assert.Equal(22, manifest.Parameter("postgres-password").Default!["generate"]!["minLength"]!.GetValue<int>());
        }
    }

    [Theory]
    [InlineData(Shapes.Containers, "orders", "ordersdb")]
    [InlineData(Shapes.Containers, "payments", "paymentsdb")]
    [InlineData(Shapes.Containers, "inventory", "inventorydb")]
    [InlineData(Shapes.Managed, "orders", "ordersdb")]
    [InlineData(Shapes.Managed, "payments", "paymentsdb")]
    [InlineData(Shapes.Managed, "inventory", "inventorydb")]
    public void Each_service_gets_its_database_and_kafka_as_secret_connection_strings(string shape, string service, string database)
    {
        var (plain, secrets) = manifests[shape].Environment(service);

        Assert.Equal(new[] { $"ConnectionStrings__{database}", "ConnectionStrings__kafka" }.Order(StringComparer.Ordinal),
            secrets.Keys.Where(key => key.StartsWith("ConnectionStrings__", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(plain.Keys, key => key.StartsWith("ConnectionStrings__", StringComparison.Ordinal));
        if (shape == Shapes.Containers)
        {
            Assert.Equal("kafka:9092", secrets["ConnectionStrings__kafka"]);
            Assert.Equal($"Host=postgres;Port=5432;Username=postgres;Password={{{{ securedParameter \"postgres_password\" }}}};Database={database}",
                secrets[$"ConnectionStrings__{database}"]);
        }
        else
        {
            Assert.Equal("{{ securedParameter \"kafka\" }}", secrets["ConnectionStrings__kafka"]);
            Assert.Equal($"{{{{ securedParameter \"{database}\" }}}}", secrets[$"ConnectionStrings__{database}"]);
        }
    }

    [Theory]
    [InlineData(Shapes.Containers)]
    [InlineData(Shapes.Managed)]
    public void Only_these_settings_are_plain_environment_values_and_no_secret_is_one(string shape)
    {
        var manifest = manifests[shape];
        string[] common = ["ASPNETCORE_FORWARDEDHEADERS_ENABLED", "HTTP_PORTS", "OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY"];
        string[] eventHubs = shape == Shapes.Managed
            ? [.. new[] { "security.protocol", "sasl.mechanism", "sasl.username", "socket.keepalive.enable", "metadata.max.age.ms" }
                .SelectMany(p => new[] { $"Aspire__Confluent__Kafka__Producer__Config__{p}", $"Aspire__Confluent__Kafka__Consumer__Config__{p}" }),
                "Aspire__Confluent__Kafka__Producer__Config__request.timeout.ms", "Aspire__Confluent__Kafka__Consumer__Config__session.timeout.ms"]
            : [];

        foreach (var service in Services)
        {
            var (plain, secrets) = manifest.Environment(service);
            string[] operations = service == "orders" ? ["Messaging__Operations__MapEndpoints"] : [];
            Assert.Equal(new[] { common, operations, eventHubs }.SelectMany(keys => keys).Order(StringComparer.Ordinal),
                plain.Keys.Order(StringComparer.Ordinal));
            Assert.All(plain.Values, value => Assert.DoesNotContain("Parameter ", value, StringComparison.Ordinal));
            Assert.All(secrets, secret => Assert.True(secret.Key.StartsWith("ConnectionStrings__", StringComparison.Ordinal) ||
                secret.Value.Contains("{{ securedParameter ", StringComparison.Ordinal), secret.Key));
        }
    }

    [Fact]
    public void The_managed_shape_passes_the_Event_Hubs_client_settings_and_the_SASL_password_as_a_secret()
    {
        foreach (var service in Services)
        {
            var (plain, secrets) = manifests[Shapes.Managed].Environment(service);

            foreach (var client in new[] { "Producer", "Consumer" })
            {
                var prefix = $"Aspire__Confluent__Kafka__{client}__Config__";
                Assert.Equal("sasl_ssl", plain[prefix + "security.protocol"]);
                Assert.Equal("PLAIN", plain[prefix + "sasl.mechanism"]);
                Assert.Equal("$ConnectionString", plain[prefix + "sasl.username"]);
                Assert.Equal("true", plain[prefix + "socket.keepalive.enable"]);
                Assert.Equal("180000", plain[prefix + "metadata.max.age.ms"]);
                Assert.Equal("{{ securedParameter \"kafka_sasl_password\" }}", secrets[prefix + "sasl.password"]);
            }

            Assert.Equal("60000", plain["Aspire__Confluent__Kafka__Producer__Config__request.timeout.ms"]);
            Assert.Equal("30000", plain["Aspire__Confluent__Kafka__Consumer__Config__session.timeout.ms"]);
        }
    }

    [Fact]
    public void The_public_service_turns_its_operator_endpoints_off()
    {
        Assert.Equal("false", manifests[Shapes.Containers].Environment("orders").Plain["Messaging__Operations__MapEndpoints"]);
        Assert.Equal("false", manifests[Shapes.Managed].Environment("orders").Plain["Messaging__Operations__MapEndpoints"]);
    }

    [Fact]
    public async Task An_unknown_shape_is_refused_with_the_accepted_values()
    {
        var (exitCode, output, manifest) = await PublishedManifests.PublishAsync("kubernetes");

        Assert.NotEqual(0, exitCode);
        Assert.Null(manifest);
        Assert.Contains("'Deploy:Infrastructure' is 'kubernetes'; expected 'containers' or 'managed'.", output, StringComparison.Ordinal);
    }

    private static (string Name, string Address) Listener(string listener)
    {
        var match = ListenerPattern().Match(listener);
        Assert.True(match.Success, $"Not a listener: {listener}");
        return (match.Groups["name"].Value, match.Groups["address"].Value);
    }

    [GeneratedRegex("^(?<name>[A-Z_]+)://(?<address>[^,]+)$")]
    private static partial Regex ListenerPattern();
}
