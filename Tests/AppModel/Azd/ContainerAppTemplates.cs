using System.Text.Json.Nodes;
using ShopChoreography.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace ShopChoreography.Tests.AppModel.Azd;

/// <summary>
/// The checked-in container app templates (<c>AppHost/infra/&lt;resource&gt;.tmpl.yaml</c>), which azd uses instead of
/// generating one, rendered as azd renders them for a deployment of a shape, then parsed as the YAML that azd sends to
/// Container Apps.
/// </summary>
public static class ContainerAppTemplates
{
    public static readonly string Directory = Path.Combine(Repository.AppHostFolder, "infra");

    public const string Image = "shopchoreographyacr.azurecr.io/app:azd-deploy-1";

    /// <summary>What azd's environment holds after <c>azd provision</c>, and the shape's switch.</summary>
    public static IReadOnlyDictionary<string, string> Environment(string shape)
    {
        var environment = new Dictionary<string, string>
        {
            ["AZURE_LOCATION"] = "westeurope",
            ["AZURE_CONTAINER_APPS_ENVIRONMENT_ID"] = "/subscriptions/0000/resourceGroups/rg-shop/providers/Microsoft.App/managedEnvironments/cae-shop",
            ["AZURE_CONTAINER_APPS_ENVIRONMENT_DEFAULT_DOMAIN"] = "happy-sea-123.westeurope.azurecontainerapps.io",
            ["AZURE_CONTAINER_REGISTRY_ENDPOINT"] = "shopchoreographyacr.azurecr.io",
            ["AZURE_CONTAINER_REGISTRY_MANAGED_IDENTITY_ID"] = "/subscriptions/0000/resourceGroups/rg-shop/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi-shop",
            ["MANAGED_IDENTITY_CLIENT_ID"] = "11111111-2222-3333-4444-555555555555",
        };
        if (shape == Shapes.Managed)
        {
            environment["DEPLOY_INFRASTRUCTURE"] = Shapes.Managed; // the containers shape is the default: no value
        }

        return environment;
    }

    /// <summary>The values the operator gave azd for the shape's parameters (by their bicep names).</summary>
    public static IReadOnlyDictionary<string, string> Parameters(string shape) => shape == Shapes.Managed
        ? new Dictionary<string, string>
        {
            ["kafka"] = "shop-ns.servicebus.windows.net:9093",
            ["kafka_sasl_password"] = "Endpoint=sb://shop-ns.servicebus.windows.net/;SharedAccessKeyName=shopchoreography-services;SharedAccessKey=c2VjcmV0=",
            ["ordersdb"] = "Host=shop-pg.postgres.database.azure.com;Port=5432;Database=ordersdb;Username=shop;Password=pw1;Ssl Mode=Require",
            ["paymentsdb"] = "Host=shop-pg.postgres.database.azure.com;Port=5432;Database=paymentsdb;Username=shop;Password=pw1;Ssl Mode=Require",
            ["inventorydb"] = "Host=shop-pg.postgres.database.azure.com;Port=5432;Database=inventorydb;Username=shop;Password=pw1;Ssl Mode=Require",
        }
        : new Dictionary<string, string> { ["postgres_password"] = "Gen3ratedPassw0rdXyz12" };

    /// <summary>The port azd learns from <c>dotnet publish</c> for a project (8080); none for a container image.</summary>
    public static int PublishedPort(AzdManifest manifest, string app) => AzdManifest.IsProject(manifest.TypeOf(app)) ? 8080 : 0;

    public static GoTemplate.Data Data(string shape, AzdManifest manifest, string app) =>
        new(Environment(shape), Image, Parameters(shape), PublishedPort(manifest, app));

    public static string PathOf(string app) => Path.Combine(Directory, $"{app}.tmpl.yaml");

    /// <summary>The template of <paramref name="app"/> rendered for <paramref name="shape"/>, as YAML turned into JSON nodes.</summary>
    public static JsonObject Render(string shape, AzdManifest manifest, string app)
    {
        var yaml = GoTemplate.Render(File.ReadAllText(PathOf(app)), Data(shape, manifest, app));
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return Assert.IsType<JsonObject>(ToJson(Assert.Single(stream.Documents).RootNode));
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode mapping => new JsonObject(mapping.Children.Select(child =>
            KeyValuePair.Create(((YamlScalarNode)child.Key).Value!, ToJson(child.Value)))),
        YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(ToJson)]),
        YamlScalarNode scalar => JsonValue.Create(scalar.Value),
        _ => throw new FormatException($"Unexpected YAML node {node.NodeType}"),
    };
}
