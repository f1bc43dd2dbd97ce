using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using ShopChoreography.Contracts;
using ShopChoreography.Inventory.Data;
using ShopChoreography.ServiceDefaults.Http;
using ShopChoreography.ServiceDefaults.Validation;

namespace ShopChoreography.Inventory.Features;

/// <summary>The body of <c>PUT /stock/{sku}</c>, as its API document describes it.</summary>
public sealed record SetAvailableBody([property: Range(0, Stock.MaxAvailable, ErrorMessage = "{0} must be between {1} and {2}.")] int Available);

public sealed record StockView(string Sku, int Available, int Reserved);

public sealed record ReservationLineView(string Sku, int Quantity);

public sealed record ReservationView(Guid OrderId, string Status, IReadOnlyList<ReservationLineView> Lines);

/// <summary><c>PUT</c>/<c>GET /stock/{sku}</c> and <c>GET /reservations/{orderId}</c>.</summary>
public static class Stock
{
    public const int MaxAvailable = 1_000_000_000;

    public static async Task<Results<Ok<StockView>, ValidationProblem>> SetAvailableAsync([Identifier] string sku, HttpRequest request,
        InventoryDbContext db, CancellationToken cancellationToken)
    {
        var (available, errors) = await ReadAvailableAsync(request, cancellationToken);
        if (request.RouteValueProblem(nameof(sku), IdentifierText.Problem) is { } problem)
        {
            errors[nameof(sku)] = [problem];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        // Sets what can still be sold; stock already reserved for orders stays reserved.
        var item = await db.Database.SqlQuery<StockView>($"""
            INSERT INTO stock (sku, available, reserved) VALUES ({sku}, {available}, 0)
            ON CONFLICT (sku) DO UPDATE SET available = excluded.available
            RETURNING sku AS "Sku", available AS "Available", reserved AS "Reserved"
            """).ToListAsync(cancellationToken);
        return TypedResults.Ok(item.Single());
    }

    public static async Task<Results<Ok<StockView>, NotFound>> GetStockAsync(string sku, InventoryDbContext db,
        CancellationToken cancellationToken) =>
        await db.Stock.AsNoTracking().SingleOrDefaultAsync(i => i.Sku == sku, cancellationToken) is { } item
            ? TypedResults.Ok(new StockView(item.Sku, item.Available, item.Reserved))
            : TypedResults.NotFound();

    public static async Task<Results<Ok<ReservationView>, NotFound>> GetReservationAsync(Guid orderId, InventoryDbContext db,
        CancellationToken cancellationToken) =>
        await db.Reservations.AsNoTracking().SingleOrDefaultAsync(r => r.OrderId == orderId, cancellationToken) is { } reservation
            ? TypedResults.Ok(new ReservationView(reservation.OrderId, reservation.Status.ToString(),
                [.. reservation.Lines.Select(l => new ReservationLineView(l.Sku, l.Quantity))]))
            : TypedResults.NotFound();

    private static async Task<(int? Available, Dictionary<string, string[]> Errors)> ReadAvailableAsync(
        HttpRequest request, CancellationToken cancellationToken)
    {
        var (document, problem) = await JsonRequestBody.ReadObjectAsync(request, cancellationToken);
        if (document is null)
        {
            return (null, new() { [JsonRequestBody.Field] = [problem!] });
        }

        using (document)
        {
            if (!document.RootElement.TryGetProperty("available", out var value) ||
                value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var available))
            {
                return (null, new() { ["available"] = ["available is required and must be a whole number."] });
            }

            return RecordRules.Problem<SetAvailableBody>("available", available, "available") is { } availableProblem
                ? (null, new() { ["available"] = [availableProblem] })
                : (available, []);
        }
    }
}
