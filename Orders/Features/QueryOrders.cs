using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using ShopChoreography.Orders.Data;

namespace ShopChoreography.Orders.Features;

public sealed record OrderItemView(string Sku, int Quantity, decimal UnitPrice);

public sealed record OrderView(Guid OrderId, string CustomerId, string Status, decimal Total, IReadOnlyList<OrderItemView> Items,
    string? CancellationReason);

public sealed record TimelineEntry(string Type, string Source, string Id, DateTimeOffset Time);

/// <summary><c>GET /orders/{id}</c> and <c>GET /orders/{id}/timeline</c>: the order now, and the events that made it so.</summary>
public static class QueryOrders
{
    public static async Task<Results<Ok<OrderView>, NotFound>> GetOrderAsync(Guid id, OrdersDbContext db, CancellationToken cancellationToken)
    {
        var order = await db.Orders.AsNoTracking().SingleOrDefaultAsync(o => o.Id == id, cancellationToken);
        return order is null
            ? TypedResults.NotFound()
            : TypedResults.Ok(new OrderView(order.Id, order.CustomerId, order.Status.ToString(), order.Total,
                [.. order.Lines.Select(l => new OrderItemView(l.Sku, l.Quantity, l.UnitPrice))], order.CancellationReason));
    }

    /// <summary>Oldest first by event time; ties (same clock tick) keep the order Orders recorded them in.</summary>
    public static async Task<Results<Ok<List<TimelineEntry>>, NotFound>> GetTimelineAsync(Guid id, OrdersDbContext db,
        CancellationToken cancellationToken)
    {
        if (!await db.Orders.AnyAsync(o => o.Id == id, cancellationToken))
        {
            return TypedResults.NotFound();
        }

        var timeline = await db.History.AsNoTracking()
            .Where(h => h.OrderId == id)
            .OrderBy(h => h.Time).ThenBy(h => h.Sequence)
            .Select(h => new TimelineEntry(h.Type, h.Source, h.EventId, h.Time))
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(timeline);
    }
}
