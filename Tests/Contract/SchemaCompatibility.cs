using System.Globalization;
using System.Text.Json.Nodes;

namespace ShopChoreography.Tests.Contract;

/// <summary>
/// Whether the events the code writes now keep what a released event schema promised. Events outlive releases (on the
/// topics, in dead letters, replayed), so both sides must still meet: a consumer built on the released schema reads
/// new events, and new code reads the events written under the released schema. Breaking, then: an event type or a
/// property removed (or renamed), a type changed, a property newly required, and an enum or a limit narrowed
/// (a bound or pattern added or tightened). Allowed: a new optional property, a new event type, a limit widened.
/// </summary>
public static class SchemaCompatibility
{
    private static readonly string[] LowerBounds = ["minLength", "minItems", "minimum", "exclusiveMinimum"];
    private static readonly string[] UpperBounds = ["maxLength", "maxItems", "maximum", "exclusiveMaximum"];
    private static readonly string[] ExactKeywords = ["pattern", "format", "multipleOf"];

    /// <summary>The breaks between the released schemas and the current ones, both by CloudEvent type.</summary>
    public static List<string> Breaks(IReadOnlyDictionary<string, JsonObject> released, IReadOnlyDictionary<string, JsonObject> current)
    {
        var breaks = new List<string>();
        foreach (var (type, releasedSchema) in released)
        {
            if (current.TryGetValue(type, out var currentSchema))
            {
                Compare(releasedSchema, currentSchema, type, breaks);
            }
            else
            {
                breaks.Add($"{type}: the event type was removed.");
            }
        }

        return breaks;
    }

    public static List<string> Breaks(JsonObject released, JsonObject current)
    {
        var breaks = new List<string>();
        Compare(released, current, "data", breaks);
        return breaks;
    }

    private static void Compare(JsonObject released, JsonObject current, string at, List<string> breaks)
    {
        var (releasedTypes, currentTypes) = (Types(released), Types(current));
        if (!releasedTypes.SetEquals(currentTypes))
        {
            breaks.Add($"{at}: the type changed from {Describe(releasedTypes)} to {Describe(currentTypes)}.");
            return;
        }

        var wasRequired = Names(released["required"]);
        foreach (var name in Names(current["required"]).Except(wasRequired))
        {
            breaks.Add($"{at}.{name}: the property is newly required.");
        }

        var currentProperties = current["properties"]?.AsObject();
        foreach (var (name, releasedProperty) in released["properties"]?.AsObject() ?? [])
        {
            if (currentProperties?[name] is JsonObject currentProperty)
            {
                Compare(releasedProperty!.AsObject(), currentProperty, $"{at}.{name}", breaks);
            }
            else
            {
                breaks.Add($"{at}.{name}: the property was removed.");
            }
        }

        if (released["items"] is JsonObject releasedItems && current["items"] is JsonObject currentItems)
        {
            Compare(releasedItems, currentItems, $"{at}[]", breaks);
        }

        CompareLimits(released, current, at, breaks);
    }

    private static void CompareLimits(JsonObject released, JsonObject current, string at, List<string> breaks)
    {
        if (current["enum"] is JsonArray currentValues)
        {
            var allowed = currentValues.Select(value => value?.ToJsonString()).ToHashSet();
            var dropped = (released["enum"] as JsonArray)?.Select(value => value?.ToJsonString()).Where(value => !allowed.Contains(value)).ToList();
            if (dropped is null)
            {
                breaks.Add($"{at}: an enum was added.");
            }
            else if (dropped.Count > 0)
            {
                breaks.Add($"{at}: the enum was narrowed; it no longer allows {string.Join(", ", dropped)}.");
            }
        }

        foreach (var keyword in LowerBounds)
        {
            if (Number(current, keyword) is { } bound && (Number(released, keyword) is not { } was || bound > was))
            {
                breaks.Add($"{at}: {keyword} was raised to {bound}.");
            }
        }

        foreach (var keyword in UpperBounds)
        {
            if (Number(current, keyword) is { } bound && (Number(released, keyword) is not { } was || bound < was))
            {
                breaks.Add($"{at}: {keyword} was lowered to {bound}.");
            }
        }

        foreach (var keyword in ExactKeywords)
        {
            if (current[keyword] is { } value && !JsonNode.DeepEquals(value, released[keyword]))
            {
                breaks.Add($"{at}: {keyword} was added or changed to {value}.");
            }
        }

        if (IsFalse(current["additionalProperties"]) && !IsFalse(released["additionalProperties"]))
        {
            breaks.Add($"{at}: additional properties are no longer allowed.");
        }
    }

    private static HashSet<string> Types(JsonObject schema) => schema["type"] switch
    {
        JsonArray types => [.. types.Select(type => type!.GetValue<string>())],
        JsonValue type => [type.GetValue<string>()],
        _ => [],
    };

    private static string Describe(HashSet<string> types) => types.Count == 0 ? "any" : string.Join(" or ", types.Order());

    private static HashSet<string> Names(JsonNode? required) =>
        [.. required?.AsArray().Select(name => name!.GetValue<string>()) ?? []];

    private static bool IsFalse(JsonNode? node) => node is JsonValue value && value.TryGetValue<bool>(out var allowed) && !allowed;

    private static decimal? Number(JsonObject schema, string keyword) =>
        schema[keyword] is { } number ? decimal.Parse(number.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture) : null;
}
