using Microsoft.EntityFrameworkCore;
using ShopChoreography.ServiceDefaults.Messaging;

namespace ShopChoreography.Inventory.Data;

public sealed class InventoryDbContext(DbContextOptions<InventoryDbContext> options) : DbContext(options)
{
    public DbSet<StockItem> Stock => Set<StockItem>();

    public DbSet<Reservation> Reservations => Set<Reservation>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.AddMessagingTables();
        modelBuilder.Entity<StockItem>(item =>
        {
            item.ToTable("stock");
            item.HasKey(i => i.Sku);
            item.Property(i => i.Sku).HasMaxLength(64);
        });
        modelBuilder.Entity<Reservation>(reservation =>
        {
            reservation.ToTable("reservations");
            reservation.HasKey(r => r.OrderId);
            reservation.Property(r => r.Status).HasConversion<string>().HasMaxLength(16);
            reservation.OwnsMany(r => r.Lines, line =>
            {
                line.ToTable("reservation_lines");
                line.Property(l => l.Sku).HasMaxLength(64);
            });
        });
    }
}
