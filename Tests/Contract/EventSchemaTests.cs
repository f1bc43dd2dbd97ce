using System.Text.Json;
using System.Text.Json.Nodes;
using ShopChoreography.Contracts;
using ShopChoreography.Messaging;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Contract;

/// <summary>
/// The released event schemas (<c>Contracts/Schemas/&lt;type&gt;.json</c>) against the event records.
/// Releasing a change is <c>SHOP_RELEASE_EVENT_SCHEMAS=true dotnet test --filter FullyQualifiedName~EventSchemaTests</c>:
/// it rewrites the files from the records, and refuses to while a change breaks a released schema.
/// </summary>
public sealed class EventSchemaTests
{
    public const string ReleaseVariable = "SHOP_RELEASE_EVENT_SCHEMAS";

    private static readonly string Folder = Path.Combine(Repository.Root, "Contracts", "Schemas");

    private static bool Releasing => string.Equals(Environment.GetEnvironmentVariable(ReleaseVariable), "true", StringComparison.OrdinalIgnoreCase);

    [Fact]
    public void Every_event_the_code_writes_still_meets_its_released_schema()
    {
        var breaks = SchemaCompatibility.Breaks(Released(), EventSchemas.Generate());

        Assert.True(breaks.Count == 0, "The event records break their released schemas (publish a new event type, " +
            $"such as .v2, instead):{Environment.NewLine}{string.Join(Environment.NewLine, breaks)}");
    }

    [Fact]
    public void The_released_schemas_are_those_of_the_event_records()
    {
        var generated = EventSchemas.Generate();
        if (Releasing)
        {
            Assert.Empty(SchemaCompatibility.Breaks(Released(), generated));
            foreach (var (type, schema) in generated)
            {
                File.WriteAllText(PathOf(type), schema.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            }
        }

        var released = Released();
        Assert.True(released.Keys.Order().SequenceEqual(generated.Keys) &&
                    generated.All(schema => JsonNode.DeepEquals(schema.Value, released[schema.Key])),
            $"The event records differ from the released schemas in {Folder}. If the change is meant, release it: " +
            $"{ReleaseVariable}=true dotnet test --filter FullyQualifiedName~{nameof(EventSchemaTests)}");
    }

    [Fact]
    public void Each_schema_states_the_limits_of_the_event_rules()
    {
        var orderCreated = EventSchemas.Generate()[EventTypes.TypeOf<OrderCreated>()];

        var expected = JsonNode.Parse($$"""
            {
              "$schema": "https://json-schema.org/draft/2020-12/schema",
              "title": "shop.orders.order-created.v1",
              "description": "The data of the CloudEvent shop.orders.order-created.v1.",
              "type": "object",
              "properties": {
                "orderId": { "type": "string", "format": "uuid" },
                "customerId": { "type": "string", "minLength": 1, "maxLength": {{IdentifierText.MaxLength}} },
                "total": { "type": "number", "exclusiveMinimum": 0, "maximum": {{OrderLimits.MaxTotal}}, "multipleOf": 0.01 },
                "items": {
                  "type": "array",
                  "items": {
                    "type": "object",
                    "properties": {
                      "sku": { "type": "string", "minLength": 1, "maxLength": {{IdentifierText.MaxLength}} },
                      "quantity": { "type": "integer", "minimum": 1, "maximum": {{OrderLimits.MaxQuantity}} },
                      "unitPrice": { "type": "number", "exclusiveMinimum": 0, "maximum": {{OrderLimits.MaxUnitPrice}}, "multipleOf": 0.01 }
                    },
                    "required": ["sku", "quantity", "unitPrice"]
                  },
                  "minItems": 1,
                  "maxItems": {{OrderLimits.MaxItems}}
                }
              },
              "required": ["orderId", "customerId", "total", "items"]
            }
            """);
        Assert.True(JsonNode.DeepEquals(expected, orderCreated), $"Generated: {orderCreated}");
    }

    private static Dictionary<string, JsonObject> Released() =>
        Directory.EnumerateFiles(Folder, "*.json").ToDictionary(
            file => Path.GetFileNameWithoutExtension(file), file => JsonNode.Parse(File.ReadAllText(file))!.AsObject());

    private static string PathOf(string type) => Path.Combine(Folder, $"{type}.json");
}
