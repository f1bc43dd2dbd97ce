using System.Text.Json.Nodes;

namespace ShopChoreography.Tests.Contract;

public sealed class SchemaCompatibilityTests
{
    private const string Released = """
        {
          "type": "object",
          "properties": {
            "orderId": { "type": "string", "format": "uuid" },
            "reason": { "type": "string", "enum": ["out-of-stock", "unknown-customer"] },
            "note": { "type": "string", "maxLength": 64 },
            "items": {
              "type": "array", "minItems": 1, "maxItems": 100,
              "items": {
                "type": "object",
                "properties": { "quantity": { "type": "integer", "minimum": 1, "maximum": 1000 } },
                "required": ["quantity"]
              }
            }
          },
          "required": ["orderId", "reason", "items"]
        }
        """;

    [Theory]
    [InlineData("removed property", "$.properties.note", null, "data.note: the property was removed.")]
    [InlineData("renamed property", "$.properties", """
        {
          "orderId": { "type": "string", "format": "uuid" },
          "reason": { "type": "string", "enum": ["out-of-stock", "unknown-customer"] },
          "remark": { "type": "string", "maxLength": 64 },
          "items": {
            "type": "array", "minItems": 1, "maxItems": 100,
            "items": { "type": "object", "properties": { "quantity": { "type": "integer", "minimum": 1, "maximum": 1000 } }, "required": ["quantity"] }
          }
        }
        """, "data.note: the property was removed.")]
    [InlineData("changed type", "$.properties.orderId", """{"type": "integer"}""", "data.orderId: the type changed from string to integer.")]
    [InlineData("nullable type", "$.properties.orderId", """{"type": ["string", "null"], "format": "uuid"}""", "data.orderId: the type changed from string to null or string.")]
    [InlineData("newly required", "$.required", """["orderId", "reason", "items", "note"]""", "data.note: the property is newly required.")]
    [InlineData("new required property", "$.properties.total", """{"type": "number"}""", "data.total: the property is newly required.")]
    [InlineData("narrowed enum", "$.properties.reason", """{"type": "string", "enum": ["out-of-stock"]}""", "data.reason: the enum was narrowed; it no longer allows \"unknown-customer\".")]
    [InlineData("added enum", "$.properties.note", """{"type": "string", "maxLength": 64, "enum": ["a"]}""", "data.note: an enum was added.")]
    [InlineData("lowered maxLength", "$.properties.note", """{"type": "string", "maxLength": 32}""", "data.note: maxLength was lowered to 32.")]
    [InlineData("added minLength", "$.properties.note", """{"type": "string", "maxLength": 64, "minLength": 1}""", "data.note: minLength was raised to 1.")]
    [InlineData("lowered maxItems", "$.properties.items.maxItems", "50", "data.items: maxItems was lowered to 50.")]
    [InlineData("raised minimum in a line", "$.properties.items.items.properties.quantity.minimum", "2", "data.items[].quantity: minimum was raised to 2.")]
    [InlineData("lowered maximum in a line", "$.properties.items.items.properties.quantity.maximum", "999", "data.items[].quantity: maximum was lowered to 999.")]
    [InlineData("added pattern", "$.properties.note", """{"type": "string", "maxLength": 64, "pattern": "^[a-z]+$"}""", "data.note: pattern was added or changed to ^[a-z]+$.")]
    [InlineData("closed object", "$.additionalProperties", "false", "data: additional properties are no longer allowed.")]
    public void A_change_a_consumer_cannot_take_is_a_break(string change, string at, string? replacement, string expected)
    {
        var current = Change(at, replacement, required: change == "new required property");

        Assert.Equal([expected], SchemaCompatibility.Breaks(JsonNode.Parse(Released)!.AsObject(), current));
    }

    [Theory]
    [InlineData("the same schema", "$.properties.orderId", """{"type": "string", "format": "uuid"}""")]
    [InlineData("a new optional property", "$.properties.total", """{"type": "number"}""")]
    [InlineData("a widened enum", "$.properties.reason", """{"type": "string", "enum": ["out-of-stock", "unknown-customer", "fraud"]}""")]
    [InlineData("a removed enum", "$.properties.reason", """{"type": "string"}""")]
    [InlineData("a raised maxLength", "$.properties.note", """{"type": "string", "maxLength": 128}""")]
    [InlineData("a removed limit", "$.properties.note", """{"type": "string"}""")]
    [InlineData("a raised maxItems", "$.properties.items.maxItems", "200")]
    [InlineData("a lowered minimum in a line", "$.properties.items.items.properties.quantity.minimum", "0")]
    [InlineData("a property no longer required", "$.required", """["orderId", "items"]""")]
    public void A_change_every_consumer_can_take_is_no_break(string change, string at, string replacement)
    {
        Assert.NotNull(change);

        Assert.Empty(SchemaCompatibility.Breaks(JsonNode.Parse(Released)!.AsObject(), Change(at, replacement, required: false)));
    }

    [Fact]
    public void A_removed_event_type_is_a_break_and_a_new_one_is_not()
    {
        var schema = JsonNode.Parse(Released)!.AsObject();
        var released = new Dictionary<string, JsonObject> { ["shop.orders.order-created.v1"] = schema };
        var current = new Dictionary<string, JsonObject> { ["shop.orders.order-created.v2"] = schema };

        Assert.Equal(["shop.orders.order-created.v1: the event type was removed."], SchemaCompatibility.Breaks(released, current));
        Assert.Empty(SchemaCompatibility.Breaks(released, new Dictionary<string, JsonObject>(released) { ["shop.orders.order-created.v2"] = schema }));
    }

    /// <summary>The released schema with the value at <paramref name="at"/> (a <c>$.a.b</c> path) replaced, or removed when null.</summary>
    private static JsonObject Change(string at, string? replacement, bool required)
    {
        var schema = JsonNode.Parse(Released)!.AsObject();
        var names = at.Split('.')[1..];
        var parent = names[..^1].Aggregate((JsonNode)schema, (node, name) => node[name]!).AsObject();
        parent.Remove(names[^1]);
        if (replacement is not null)
        {
            parent[names[^1]] = JsonNode.Parse(replacement);
        }

        if (required)
        {
            schema["required"]!.AsArray().Add(names[^1]);
        }

        return schema;
    }
}
