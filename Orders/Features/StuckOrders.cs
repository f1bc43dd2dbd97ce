using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ShopChoreography.Contracts;
using ShopChoreography.Messaging;
using ShopChoreography.Messaging.Outbox;
using ShopChoreography.Orders.Data;

namespace ShopChoreography.Orders.Features;

/// <summary>Binds from <c>Orders:Saga</c>.</summary>
public sealed class SagaOptions
{
    public const string Section = "Orders:Saga";

    /// <summary>How long an order may wait for its next step before it counts as stuck (and is healed).</summary>
    public TimeSpan StepDeadline { get; set; } = TimeSpan.FromSeconds(15);

    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Heal stuck orders automatically; an operator can always heal through the operations endpoints.</summary>
    public bool AutoHeal { get; set; } = true;

    /// <summary>Cancelled orders are watched for a missing refund for this long after they were placed.</summary>
    public TimeSpan RefundWatchWindow { get; set; } = TimeSpan.FromDays(1);
}

/// <summary>The step a stuck order waits for: <c>payment</c>, <c>inventory</c> or <c>refund</c>.</summary>
public sealed record StuckOrder(Guid OrderId, string Status, string WaitingFor, DateTimeOffset LastProgress, int HealAttempts,
    DateTimeOffset? LastHealedAt);

public sealed record HealResult(Guid OrderId, string RepublishedEventId);

public sealed record HealAllResult(int Healed, IReadOnlyList<HealResult> Orders);

/// <summary>
/// Finds orders whose saga has not moved for longer than the step deadline, and heals them. Healing sends the order's
/// <c>OrderCreated</c> again with its original id: a service that had not handled an event on the saga's path
/// handles it now, and one that had answers with what it published then (same ids), so healing never charges,
/// reserves or refunds twice: every inbox deduplicates.
/// </summary>
public static class StuckOrders
{
    public const string WaitingForPayment = "payment";
    public const string WaitingForInventory = "inventory";
    public const string WaitingForRefund = "refund";

    public static async Task<List<StuckOrder>> FindAsync(OrdersDbContext db, SagaOptions options, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var cutoff = now - options.StepDeadline;
        var watchRefundsSince = now - options.RefundWatchWindow;
        var rows = await db.Orders.AsNoTracking()
            .Where(o => o.Status == OrderStatus.Pending || o.Status == OrderStatus.Paid ||
                        (o.Status == OrderStatus.Cancelled && o.CancellationReason == CancellationReasons.OutOfStock &&
                         o.RefundedAt == null && o.CreatedAt > watchRefundsSince))
            .Select(o => new
            {
                o.Id, o.Status, o.HealAttempts, o.LastHealedAt,
                LastProgress = db.History.Where(h => h.OrderId == o.Id).Max(h => (DateTimeOffset?)h.Time) ?? o.CreatedAt,
            })
            .Where(o => o.LastProgress < cutoff)
            .OrderBy(o => o.LastProgress)
            .Take(1000)
            .ToListAsync(cancellationToken);
        return [.. rows.Select(o => new StuckOrder(o.Id, o.Status.ToString(), WaitingFor(o.Status), o.LastProgress, o.HealAttempts, o.LastHealedAt))];
    }

    /// <summary>Sends the order's <c>OrderCreated</c> again; null when the order does not exist.</summary>
    public static async Task<HealResult?> HealAsync(OrdersDbContext db, IEventPublisher events, Guid orderId, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var created = EventTypes.TypeOf<OrderCreated>();
        var eventId = await db.History.Where(h => h.OrderId == orderId && h.Type == created).Select(h => h.EventId).FirstOrDefaultAsync(cancellationToken);
        if (eventId is null || !await events.RepublishAsync(eventId, cancellationToken))
        {
            return null;
        }

        await db.Orders.Where(o => o.Id == orderId).ExecuteUpdateAsync(order => order
            .SetProperty(o => o.HealAttempts, o => o.HealAttempts + 1)
            .SetProperty(o => o.LastHealedAt, now), cancellationToken);
        return new HealResult(orderId, eventId);
    }

    private static string WaitingFor(OrderStatus status) => status switch
    {
        OrderStatus.Pending => WaitingForPayment,
        OrderStatus.Paid => WaitingForInventory,
        _ => WaitingForRefund,
    };

    // Operator endpoints (see README, Operations).

    public static async Task<Ok<List<StuckOrder>>> ListAsync(OrdersDbContext db, IOptions<SagaOptions> options, TimeProvider clock,
        CancellationToken cancellationToken) =>
        TypedResults.Ok(await FindAsync(db, options.Value, clock.GetUtcNow(), cancellationToken));

    public static async Task<Ok<HealAllResult>> HealAllAsync(OrdersDbContext db, IEventPublisher events, IOptions<SagaOptions> options,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var healed = new List<HealResult>();
        foreach (var stuck in await FindAsync(db, options.Value, now, cancellationToken))
        {
            if (await HealAsync(db, events, stuck.OrderId, now, cancellationToken) is { } result)
            {
                healed.Add(result);
            }
        }

        return TypedResults.Ok(new HealAllResult(healed.Count, healed));
    }

    public static async Task<Results<Accepted<HealResult>, NotFound>> HealOneAsync(Guid id, OrdersDbContext db, IEventPublisher events,
        TimeProvider clock, CancellationToken cancellationToken) =>
        await HealAsync(db, events, id, clock.GetUtcNow(), cancellationToken) is { } result
            ? TypedResults.Accepted($"/orders/{id}", result)
            : TypedResults.NotFound();
}

/// <summary>
/// Checks for stuck orders every <see cref="SagaOptions.CheckInterval"/>: counts them per step
/// (<c>orders.saga.stuck</c>), logs each with the step it waits for, and heals those not healed within the last deadline.
/// </summary>
internal sealed class StuckOrderMonitor(
    IServiceProvider services, IOptions<SagaOptions> options, TimeProvider clock, IMeterFactory meters, ILogger<StuckOrderMonitor> logger)
    : BackgroundService
{
    private volatile IReadOnlyList<StuckOrder> _stuck = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        meters.Create(SagaMetrics.MeterName).CreateObservableGauge("orders.saga.stuck",
            () => _stuck.GroupBy(o => o.WaitingFor).Select(step =>
                new Measurement<int>(step.Count(), new KeyValuePair<string, object?>("step", step.Key))),
            "{order}", "Orders waiting longer than the step deadline, by the step they wait for.");

        using var timer = new PeriodicTimer(options.Value.CheckInterval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await CheckAsync(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    logger.LogWarning(ex, "Checking for stuck orders failed; trying again at the next interval");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    internal async Task CheckAsync(CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrdersDbContext>();
        var events = scope.ServiceProvider.GetRequiredService<IEventPublisher>();
        var now = clock.GetUtcNow();
        var settings = options.Value;
        var stuck = _stuck = await StuckOrders.FindAsync(db, settings, now, cancellationToken);
        foreach (var order in stuck)
        {
            logger.LogWarning("Order {OrderId} is stuck: {Status} and waiting for {Step} since {LastProgress} (healed {HealAttempts} times)",
                order.OrderId, order.Status, order.WaitingFor, order.LastProgress, order.HealAttempts);
            if (settings.AutoHeal && (order.LastHealedAt is null || order.LastHealedAt < now - settings.StepDeadline))
            {
                await StuckOrders.HealAsync(db, events, order.OrderId, now, cancellationToken);
            }
        }
    }
}
