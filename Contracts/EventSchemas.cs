using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Schema;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using ShopChoreography.Messaging;
using ShopChoreography.ServiceDefaults.Validation;

namespace ShopChoreography.Contracts;

/// <summary>
/// The JSON Schema (2020-12) of each event's data, generated from its record as the messaging core writes it, with the
/// limits its attributes state. The released ones are checked in as <c>Schemas/&lt;type&gt;.json</c>.
/// </summary>
public static class EventSchemas
{
    public const string Dialect = "https://json-schema.org/draft/2020-12/schema";

    /// <summary>
    /// The messaging options, except that numbers are described as written: the consumers also read a number sent as
    /// a string, but no producer sends one, and a schema should not invite it.
    /// </summary>
    private static readonly JsonSerializerOptions WrittenAs = new(MessagingJson.Options)
    {
        NumberHandling = JsonNumberHandling.Strict,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
    };

    /// <summary>The data and its lines are never null: the records say so where nullability is left open (a list's elements).</summary>
    private static readonly JsonSchemaExporterOptions Exporter = new() { TreatNullObliviousAsNonNullable = true, TransformSchemaNode = ApplyLimits };

    /// <summary>Every event record of the contract (this assembly), by its CloudEvent type.</summary>
    private static readonly IReadOnlyDictionary<string, Type> EventRecords = typeof(EventSchemas).Assembly.GetTypes()
        .Where(type => type.IsDefined(typeof(CloudEventTypeAttribute)))
        .ToDictionary(EventTypes.TypeOf);

    /// <summary>The schema of every event's data, by CloudEvent type.</summary>
    public static SortedDictionary<string, JsonObject> Generate() =>
        new(EventRecords.ToDictionary(record => record.Key, record => Generate(record.Value)), StringComparer.Ordinal);

    public static JsonObject Generate(Type eventRecord)
    {
        var type = EventTypes.TypeOf(eventRecord);
        var schema = new JsonObject
        {
            ["$schema"] = Dialect,
            ["title"] = type,
            ["description"] = $"The data of the CloudEvent {type}.",
        };
        var exported = WrittenAs.GetJsonSchemaAsNode(eventRecord, Exporter).AsObject();
        foreach (var (keyword, value) in exported.ToList())
        {
            exported.Remove(keyword);
            schema[keyword] = value;
        }

        return schema;
    }

    private static JsonNode ApplyLimits(JsonSchemaExporterContext context, JsonNode schema)
    {
        if (context.PropertyInfo?.AttributeProvider is not { } member || schema is not JsonObject keywords)
        {
            return schema;
        }

        foreach (var limit in member.GetCustomAttributes(inherit: true))
        {
            switch (limit)
            {
                case StringLengthAttribute length:
                    keywords["minLength"] = length.MinimumLength;
                    keywords["maxLength"] = length.MaximumLength;
                    break;
                case LengthAttribute length:
                    keywords["minItems"] = length.MinimumLength;
                    keywords["maxItems"] = length.MaximumLength;
                    break;
                case RangeAttribute range:
                    keywords[range.MinimumIsExclusive ? "exclusiveMinimum" : "minimum"] = JsonValue.Create(Convert.ToDecimal(range.Minimum));
                    keywords[range.MaximumIsExclusive ? "exclusiveMaximum" : "maximum"] = JsonValue.Create(Convert.ToDecimal(range.Maximum));
                    if (limit is AmountAttribute)
                    {
                        keywords["multipleOf"] = AmountAttribute.Step;
                    }

                    break;
            }
        }

        return schema;
    }
}
