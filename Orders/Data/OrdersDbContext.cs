using Microsoft.EntityFrameworkCore;
using ShopChoreography.ServiceDefaults.Messaging;

namespace ShopChoreography.Orders.Data;

public sealed class OrdersDbContext(DbContextOptions<OrdersDbContext> options) : DbContext(options)
{
    public DbSet<Order> Orders => Set<Order>();

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
            order.OwnsMany(o => o.Lines, line =>
            {
                line.ToTable("order_lines");
                line.Property(l => l.Sku).HasMaxLength(64);
                line.Property(l => l.UnitPrice).HasPrecision(18, 2);
            });
        });
    }
}
