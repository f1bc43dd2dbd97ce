using System.Text;
using System.Text.Json.Nodes;

namespace ShopChoreography.Tests.AppModel.Azd;

/// <summary>
/// The published manifest read the way azd reads it (Azure/azure-dev, <c>cli/azd/pkg/apphost</c>: <c>generate.go</c>,
/// <c>aca_ingress.go</c>, <c>eval.go</c>), ported for the parts this app uses: which resource types it accepts, how
/// it turns bindings into Container Apps ingress, how it resolves <c>{…}</c> expressions into values (secured parameters
/// become <c>{{ securedParameter "…" }}</c> template calls), and which environment variables it makes secrets.
/// Anything azd would refuse throws <see cref="AzdException"/> with azd's reason.
/// </summary>
public sealed class AzdManifest
{
    /// <summary>The types azd's generator loads; any other type fails <c>azd provision</c>.</summary>
    public static readonly IReadOnlySet<string> AcceptedTypes = new HashSet<string>(StringComparer.Ordinal)
    {
        "project.v0", "project.v1", "container.v0", "container.v1", "dockerfile.v0", "parameter.v0", "value.v0",
        "annotated.string", "azure.bicep.v0", "azure.bicep.v1", "dapr.v0", "dapr.component.v0",
    };

    private readonly Dictionary<string, IngressRule?> _ingress = [];

    public AzdManifest(JsonObject manifest)
    {
        Resources = manifest["resources"]!.AsObject();
        foreach (var (name, resource) in Resources)
        {
            if (IsApp(TypeOf(name)))
            {
                _ingress[name] = BuildIngress(name, resource!.AsObject());
            }
        }
    }

    public JsonObject Resources { get; }

    public string TypeOf(string resource) => Resources[resource]?["type"]?.GetValue<string>()
        ?? throw new AzdException($"unknown resource referenced in binding expression: {resource}");

    public IEnumerable<string> Apps => Resources.Select(r => r.Key).Where(name => IsApp(TypeOf(name)));

    public static bool IsApp(string type) => type is "project.v0" or "project.v1" or "container.v0" or "container.v1" or "dockerfile.v0";

    public static bool IsProject(string type) => type is "project.v0" or "project.v1";

    public IngressRule? Ingress(string app) => _ingress[app];

    /// <summary>A parameter as azd's bicep and yaml generation see it.</summary>
    public (bool Secret, JsonNode? Default) Parameter(string name)
    {
        var input = Resources[name]!["inputs"]?["value"];
        return (input?["secret"]?.GetValue<bool>() == true, input?["default"]);
    }

    /// <summary>azd's <c>EvalString</c>: <c>{expr}</c> is evaluated, <c>{{</c> and <c>}}</c> are escaped braces.</summary>
    public static string EvalString(string source, Func<string, string> evaluate)
    {
        var result = new StringBuilder();
        for (var i = 0; i < source.Length; i++)
        {
            switch (source[i])
            {
                case '{' when i + 1 < source.Length && source[i + 1] == '{':
                    result.Append('{');
                    i++;
                    break;
                case '{':
                    var close = source.IndexOf('}', i + 1);
                    if (close < 0)
                    {
                        throw new AzdException($"unclosed '{{' at position {i}");
                    }

                    result.Append(evaluate(source[(i + 1)..close]));
                    i = close;
                    break;
                case '}' when i + 1 < source.Length && source[i + 1] == '}':
                    result.Append('}');
                    i++;
                    break;
                case '}':
                    throw new AzdException($"unexpected '}}' at position {i}");
                default:
                    result.Append(source[i]);
                    break;
            }
        }

        return result.ToString();
    }

    /// <summary>A manifest string with every expression resolved the way azd writes it into a container app's yaml.</summary>
    public string Resolve(string value) => EvalString(value, Evaluate);

    /// <summary>The environment of an app as azd generates it: plain values, and the values it makes Container Apps secrets.</summary>
    public (IReadOnlyDictionary<string, string> Plain, IReadOnlyDictionary<string, string> Secrets) Environment(string app)
    {
        var plain = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var secrets = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, node) in Resources[app]!["env"]?.AsObject() ?? [])
        {
            var value = node!.GetValue<string>();
            var resolved = Resolve(value);
            var isSecret = name.Contains("ConnectionStrings__", StringComparison.Ordinal) ||
                           value.Contains(".connectionString}", StringComparison.Ordinal) ||
                           resolved.Contains("{{ securedParameter ", StringComparison.Ordinal) ||
                           resolved.Contains("{{ secretOutput ", StringComparison.Ordinal);
            (isSecret ? secrets : plain)[name] = resolved;
        }

        return (plain, secrets);
    }

    /// <summary>An app's arguments as azd passes them; azd refuses an argument that would carry a secret.</summary>
    public IReadOnlyList<string> Arguments(string app)
    {
        var arguments = new List<string>();
        foreach (var node in Resources[app]!["args"]?.AsArray() ?? [])
        {
            var argument = node!.GetValue<string>();
            var resolved = Resolve(argument);
            if (argument.Contains(".connectionString}", StringComparison.Ordinal) || resolved.Contains("{{ securedParameter ", StringComparison.Ordinal))
            {
                throw new AzdException($"argument {arguments.Count} cannot contain connection strings, secured parameters, or secret outputs");
            }

            arguments.Add(resolved);
        }

        return arguments;
    }

    private string Evaluate(string expression)
    {
        var dot = expression.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0)
        {
            throw new AzdException($"malformed binding expression, expected <resourceName>.<propertyPath> but was: {expression}");
        }

        var (resource, property) = (expression[..dot], expression[(dot + 1)..]);
        var type = TypeOf(resource);
        var node = Resources[resource]!;
        if (property == "connectionString" && node["connectionString"] is { } connectionString)
        {
            return Resolve(connectionString.GetValue<string>());
        }

        if (type == "value.v0" && property == "value" && node["value"] is { } value)
        {
            return Resolve(value.GetValue<string>());
        }

        if (type == "parameter.v0")
        {
            // Every property of a parameter resolves to the parameter itself, by its bicep name.
            var (secret, @default) = Parameter(resource);
            var bicepName = resource.Replace('-', '_');
            if (@default?["value"] is { } defaultValue)
            {
                return secret
                    ? throw new AzdException($"default value for secured parameter {resource} is not supported")
                    : $"{{{{ parameterWithDefault \"{bicepName}\" \"{defaultValue.GetValue<string>()}\"}}}}";
            }

            return $"{{{{ {(secret ? "securedParameter" : "parameter")} \"{bicepName}\" }}}}";
        }

        if (!IsApp(type))
        {
            throw new AzdException($"unsupported resource type {type} referenced in binding expression");
        }

        if (!property.StartsWith("bindings.", StringComparison.Ordinal))
        {
            throw new AzdException($"unsupported property referenced in binding expression: {property} for {type}");
        }

        var parts = property["bindings.".Length..].Split('.');
        if (parts.Length != 2)
        {
            throw new AzdException($"malformed binding expression, expected bindings.<binding-name>.<property> but was: {expression}");
        }

        var binding = node["bindings"]?[parts[0]]?.AsObject()
            ?? throw new AzdException($"unknown binding referenced in binding expression: {parts[0]} for resource {resource}");
        var ingress = Ingress(resource) ?? throw new AzdException($"binding reference to resource {resource} without ingress");
        var onMainIngress = ingress.Bindings.Contains(parts[0]);
        var scheme = binding["scheme"]!.GetValue<string>();
        var isHttp = scheme is "http" or "https";
        var external = binding["external"]?.GetValue<bool>() == true;
        int? port = binding["port"]?.GetValue<int>();
        int? targetPort = binding["targetPort"]?.GetValue<int>();
        const string templatedTargetPort = "{{ targetPortOrDefault 0 }}";
        return parts[1] switch
        {
            "scheme" or "transport" => scheme,
            "protocol" => binding["protocol"]!.GetValue<string>(),
            "external" => external ? "true" : "false",
            "host" => onMainIngress && isHttp
                ? $"{resource}.{(external ? "" : "internal.")}{{{{ .Env.AZURE_CONTAINER_APPS_ENVIRONMENT_DEFAULT_DOMAIN }}}}"
                : resource,
            "targetPort" => targetPort?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? templatedTargetPort,
            "port" => onMainIngress && isHttp
                ? (scheme == "http" ? "80" : "443")
                : (port ?? targetPort)?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? templatedTargetPort,
            "url" => onMainIngress
                ? $"{scheme}://{resource}.{(external ? "" : "internal.")}{{{{ .Env.AZURE_CONTAINER_APPS_ENVIRONMENT_DEFAULT_DOMAIN }}}}" +
                  (isHttp ? "" : $":{port ?? targetPort}")
                : $"{scheme}://{resource}:{(port ?? targetPort)?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? templatedTargetPort}",
            _ => throw new AzdException(
                $"malformed binding expression, expected bindings.<binding-name>.[scheme|protocol|transport|external|host|targetPort|port|url] but was: {expression}"),
        };
    }

    /// <summary>azd's <c>buildAcaIngress</c>: bindings grouped by target port; one group becomes the ingress.</summary>
    private static IngressRule? BuildIngress(string app, JsonObject resource)
    {
        var bindings = resource["bindings"]?.AsObject();
        if (bindings is null || bindings.Count == 0)
        {
            return null;
        }

        var groups = new List<BindingGroup>();
        var order = 0;
        foreach (var (name, node) in bindings)
        {
            var binding = node!.AsObject();
            var scheme = binding["scheme"]!.GetValue<string>();
            int? targetPort = binding["targetPort"]?.GetValue<int>();
            if (scheme is not ("tcp" or "http" or "https"))
            {
                throw new AzdException($"binding \"{name}\" has invalid scheme \"{scheme}\"");
            }

            if (scheme == "tcp" && targetPort is null)
            {
                throw new AzdException($"binding \"{name}\" has scheme \"tcp\" but no container port");
            }

            var key = targetPort?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "default";
            var group = groups.Find(g => g.Key == key);
            if (group is null)
            {
                group = new BindingGroup(key);
                groups.Add(group);
            }

            group.Add(name, order++, scheme, binding["external"]?.GetValue<bool>() == true, targetPort,
                binding["port"]?.GetValue<int>(), binding["transport"]?.GetValue<string>());
        }

        if (groups.Count(g => g.External) > 1)
        {
            throw new AzdException("Multiple external endpoints are not supported");
        }

        if (groups.Any(g => g.External && !g.HttpOnly))
        {
            throw new AzdException("External non-HTTP(s) endpoints are not supported");
        }

        var httpGroups = groups.Where(g => g.HttpOnly).ToList();
        var main = httpGroups.Count == 1
            ? httpGroups[0]
            : httpGroups.Count(g => g.External) == 1
                ? httpGroups.Single(g => g.External)
                : httpGroups.MinBy(g => g.FirstOrder);
        var isHttp = main is not null;
        main ??= groups.MinBy(g => g.FirstOrder)!;
        var defaultPort = IsProject(resource["type"]!.GetValue<string>()) ? 8080 : 80;
        return new IngressRule(
            app,
            External: isHttp && main.External,
            Transport: isHttp ? (main.Http2 ? "http2" : "http") : "tcp",
            TargetPort: main.Port ?? defaultPort,
            UsesDefaultPort: main.Port is null,
            AllowInsecure: isHttp && (main.Http2 || !main.External),
            ExposedPort: isHttp ? null : main.ExposedPort,
            AdditionalTargetPorts: [.. groups.Where(g => g != main).Select(g => g.Port ?? defaultPort).Order()],
            Bindings: [.. main.Bindings]);
    }

    private sealed class BindingGroup(string key)
    {
        public string Key { get; } = key;

        public List<string> Bindings { get; } = [];

        public int FirstOrder { get; private set; } = int.MaxValue;

        public bool External { get; private set; }

        public bool HttpOnly { get; private set; } = true;

        public bool Http2 { get; private set; }

        public int? Port { get; private set; }

        public int? ExposedPort { get; private set; }

        public void Add(string name, int order, string scheme, bool external, int? targetPort, int? port, string? transport)
        {
            Bindings.Add(name);
            FirstOrder = Math.Min(FirstOrder, order);
            External |= external;
            HttpOnly &= scheme is "http" or "https";
            Http2 |= transport == "http2";
            Port = targetPort ?? Port;
            ExposedPort = port ?? ExposedPort;
        }
    }
}

/// <summary>The Container Apps ingress azd generates for an app.</summary>
public sealed record IngressRule(
    string App, bool External, string Transport, int TargetPort, bool UsesDefaultPort, bool AllowInsecure, int? ExposedPort,
    IReadOnlyList<int> AdditionalTargetPorts, IReadOnlyList<string> Bindings);

public sealed class AzdException(string message) : Exception(message);
