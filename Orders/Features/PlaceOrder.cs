using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.OpenApi;
using ShopChoreography.Contracts;
using ShopChoreography.Messaging.Outbox;
using ShopChoreography.Orders.Data;
using ShopChoreography.ServiceDefaults.Http;
using ShopChoreography.ServiceDefaults.Validation;

namespace ShopChoreography.Orders.Features;

public sealed record PlaceOrderResponse(Guid OrderId, string Status);

/// <summary>The body of <c>POST /orders</c>, as its API document describes it.</summary>
public sealed record PlaceOrderBody([property: Identifier] string CustomerId, [property: Lines] IReadOnlyList<OrderLine> Items)
{
    public static readonly PlaceOrderBody Example = new("c-1", [new OrderLine("SKU-1", 2, 9.99m)]);
}

/// <summary>A request already answered under an <c>Idempotency-Key</c>: a repeat with the same body gets the same order.</summary>
public sealed class IdempotencyKey
{
    public const int MaxLength = 255;

    public required string Key { get; init; }

    public required string RequestHash { get; init; }

    public Guid OrderId { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>
/// <c>POST /orders</c>: stores the order as Pending and, in the same transaction, the <c>OrderCreated</c> event that
/// starts the saga.
/// </summary>
public static class PlaceOrder
{
    public const string IdempotencyHeader = "Idempotency-Key";

    public static IEnumerable<OpenApiParameter> IdempotencyKeyParameter() =>
    [
        new OpenApiParameter
        {
            Name = IdempotencyHeader,
            In = ParameterLocation.Header,
            Description = "Makes the request safe to repeat: the same key with the same body returns the same order.",
            Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = IdempotencyKey.MaxLength },
            Example = "k-1",
        },
    ];

    public static async Task<Results<Accepted<PlaceOrderResponse>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        HttpRequest request, OrdersDbContext db, IEventPublisher events, TimeProvider clock, CancellationToken cancellationToken)
    {
        var (order, errors) = await PlaceOrderRequest.ReadAsync(request, cancellationToken);
        if (order is null)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var idempotencyKey = request.Headers[IdempotencyHeader].ToString();
        if (idempotencyKey.Length > 0 && IdentifierText.Problem(idempotencyKey, IdempotencyHeader, IdempotencyKey.MaxLength) is { } keyProblem)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { [IdempotencyHeader] = [keyProblem] });
        }

        var (orderId, now) = (Guid.CreateVersion7(), clock.GetUtcNow());
        var requestHash = idempotencyKey.Length > 0 ? order.Hash() : null;
        if (requestHash is not null)
        {
            db.IdempotencyKeys.Add(new IdempotencyKey { Key = idempotencyKey, RequestHash = requestHash, OrderId = orderId, CreatedAt = now });
        }

        db.Orders.Add(new Order
        {
            Id = orderId,
            CustomerId = order.CustomerId,
            Total = order.Total,
            CreatedAt = now,
            Lines = [.. order.Items],
        });
        db.Record(orderId, events.Publish(new OrderCreated(orderId, order.CustomerId, order.Total, order.Items)));
        // These few rows go in one batch, which PostgreSQL runs as one implicit transaction: all or nothing without
        // the BEGIN and COMMIT that EF Core would add, so placing an order is one round trip.
        db.Database.AutoTransactionBehavior = AutoTransactionBehavior.Never;
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException) when (requestHash is not null)
        {
            // A request with the same key was placed first (a concurrent one waits on the key until it commits): this
            // one changed nothing.
            var earlier = await db.IdempotencyKeys.AsNoTracking().SingleOrDefaultAsync(k => k.Key == idempotencyKey, cancellationToken);
            if (earlier is null)
            {
                throw;
            }

            return earlier.RequestHash == requestHash
                ? Accepted(earlier.OrderId)
                : TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity,
                    title: "Idempotency-Key reused with a different request",
                    detail: $"The key '{idempotencyKey}' was already used for a different order; use a new key for a new order.");
        }

        return Accepted(orderId);
    }

    private static Accepted<PlaceOrderResponse> Accepted(Guid orderId) =>
        TypedResults.Accepted($"/orders/{orderId}", new PlaceOrderResponse(orderId, nameof(OrderStatus.Pending)));
}

/// <summary>A valid <c>POST /orders</c> body.</summary>
public sealed record PlaceOrderRequest(string CustomerId, IReadOnlyList<OrderLine> Items)
{
    public decimal Total => Items.Sum(item => item.Quantity * item.UnitPrice);

    /// <summary>Same customer and lines, however the JSON was written: what makes two requests "the same".</summary>
    public string Hash() => Convert.ToHexString(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(this)));

    /// <summary>Reads and validates the body, naming every bad field at once.</summary>
    public static async Task<(PlaceOrderRequest? Request, Dictionary<string, string[]> Errors)> ReadAsync(
        HttpRequest request, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, List<string>>();
        void Fail(string field, string message) =>
            (errors.TryGetValue(field, out var list) ? list : errors[field] = []).Add(message);

        var (document, problem) = await JsonRequestBody.ReadObjectAsync(request, cancellationToken);
        if (document is null)
        {
            Fail(JsonRequestBody.Field, problem!);
            return (null, Finish(errors));
        }

        using (document)
        {
            var root = document.RootElement;
            var customerId = Identifier<PlaceOrderBody>(root, "customerId", "customerId", Fail);
            var items = new List<OrderLine>();
            if (!root.TryGetProperty("items", out var itemsElement) || itemsElement.ValueKind == JsonValueKind.Null)
            {
                Fail("items", "items is required.");
            }
            else if (itemsElement.ValueKind != JsonValueKind.Array)
            {
                Fail("items", "items must be an array.");
            }
            else if (RecordRules.Problem<PlaceOrderBody>("items", itemsElement.EnumerateArray().ToArray(), "items") is { } itemsProblem)
            {
                Fail("items", itemsProblem);
            }
            else
            {
                var index = 0;
                foreach (var item in itemsElement.EnumerateArray())
                {
                    var line = Line(item, $"items[{index++}]", Fail);
                    if (line is not null)
                    {
                        items.Add(line);
                    }
                }
            }

            return errors.Count == 0 ? (new PlaceOrderRequest(customerId!, items), []) : (null, Finish(errors));
        }
    }

    private static OrderLine? Line(JsonElement item, string path, Action<string, string> fail)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            fail(path, "Each line must be an object with sku, quantity and unitPrice.");
            return null;
        }

        var sku = Identifier<OrderLine>(item, "sku", $"{path}.sku", fail);
        int? quantity = null;
        if (!item.TryGetProperty("quantity", out var q) || q.ValueKind != JsonValueKind.Number || !q.TryGetInt32(out var parsedQuantity))
        {
            fail($"{path}.quantity", "quantity is required and must be a whole number.");
        }
        else if (RecordRules.Problem<OrderLine>("quantity", parsedQuantity, "quantity") is { } quantityProblem)
        {
            fail($"{path}.quantity", quantityProblem);
        }
        else
        {
            quantity = parsedQuantity;
        }

        decimal? unitPrice = null;
        if (!item.TryGetProperty("unitPrice", out var p) || p.ValueKind != JsonValueKind.Number)
        {
            fail($"{path}.unitPrice", "unitPrice is required and must be a number.");
        }
        else if (!p.TryGetAmount(out var parsedPrice) || RecordRules.Problem<OrderLine>("unitPrice", parsedPrice, "unitPrice") is not null)
        {
            fail($"{path}.unitPrice", RecordRules.Describe<OrderLine>("unitPrice", "unitPrice"));
        }
        else
        {
            unitPrice = parsedPrice;
        }

        return sku is not null && quantity is not null && unitPrice is not null ? new OrderLine(sku, quantity.Value, unitPrice.Value) : null;
    }

    private static string? Identifier<TRecord>(JsonElement parent, string property, string path, Action<string, string> fail)
    {
        if (!parent.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            fail(path, $"{property} is required.");
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            fail(path, $"{property} must be a string.");
            return null;
        }

        var text = value.GetUnicodeText();
        var problem = text is null
            ? $"{property} must be valid Unicode text: it holds bytes that are not UTF-8, or an unpaired surrogate."
            : RecordRules.Problem<TRecord>(property, text, property);
        if (problem is not null)
        {
            fail(path, problem);
            return null;
        }

        return text;
    }

    private static Dictionary<string, string[]> Finish(Dictionary<string, List<string>> errors) =>
        errors.ToDictionary(error => error.Key, error => error.Value.ToArray());
}
