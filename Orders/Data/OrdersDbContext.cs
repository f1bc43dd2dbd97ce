using Microsoft.EntityFrameworkCore;
using ShopChoreography.Contracts;
using ShopChoreography.Messaging;
using ShopChoreography.Messaging.Outbox;
using ShopChoreography.Orders.Features;

namespace ShopChoreography.Orders.Data;

public sealed class OrdersDbContext(DbContextOptions<OrdersDbContext> options) : DbContext(options)
{
    public DbSet<Order> Orders => Set<Order>();

    public DbSet<OrderHistoryEntry> History => Set<OrderHistoryEntry>();

    public DbSet<IdempotencyKey> IdempotencyKeys => Set<IdempotencyKey>();

    /// <summary>Appends an event to the order's history, in the same transaction as what it caused.</summary>
    public void Record(Guid orderId, string id, string type, string source, DateTimeOffset time) =>
        History.Add(new OrderHistoryEntry { OrderId = orderId, EventId = id, Type = type, Source = source, Time = time });

    public void Record(Guid orderId, PublishedEvent published) =>
        Record(orderId, published.Id, published.Type, published.Source, published.Time);

    public void Record(Guid orderId, EventContext consumed) =>
        Record(orderId, consumed.Id, consumed.Type, consumed.Source, consumed.Time ?? DateTimeOffset.UtcNow);

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.AddMessagingTables();
        modelBuilder.Entity<Order>(order =>
        {
            order.ToTable("orders");
            order.Property(o => o.CustomerId).HasMaxLength(64);
            order.Property(o => o.Status).HasConversion<string>().HasMaxLength(16);
            order.Property(o => o.Total).HasPrecision(18, 2);
            order.Property(o => o.CancellationReason).HasMaxLength(64);
            order.Property(o => o.Version).IsRowVersion();
            order.HasIndex(o => new { o.Status, o.CreatedAt }); // stuck orders: those still in flight
            order.HasIndex(o => o.CreatedAt).HasDatabaseName("ix_orders_awaiting_refund") // and those awaiting a refund
                .HasFilter($"\"Status\" = '{OrderStatus.Cancelled}' AND \"CancellationReason\" = '{CancellationReasons.OutOfStock}' AND \"RefundedAt\" IS NULL");
            // Values of the order, never queried on their own: a jsonb column of its row, so loading an order for a
            // saga step joins nothing and placing one inserts one row.
            order.ComplexCollection(o => o.Lines, lines => lines.ToJson());
        });
        modelBuilder.Entity<OrderHistoryEntry>(history =>
        {
            history.ToTable("order_history");
            history.HasKey(h => h.Sequence);
            history.HasIndex(h => h.OrderId);
            history.Property(h => h.EventId).HasMaxLength(256);
            history.Property(h => h.Type).HasMaxLength(256);
            history.Property(h => h.Source).HasMaxLength(256);
        });
        modelBuilder.Entity<IdempotencyKey>(key =>
        {
            key.ToTable("idempotency_keys");
            key.HasKey(k => k.Key);
            key.Property(k => k.Key).HasMaxLength(IdempotencyKey.MaxLength);
            key.Property(k => k.RequestHash).HasMaxLength(64);
        });
    }
}
