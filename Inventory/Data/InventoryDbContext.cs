using Microsoft.EntityFrameworkCore;

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
            item.ToTable("stock", t => t.HasCheckConstraint("ck_stock_not_negative", "available >= 0 AND reserved >= 0"));
            item.HasKey(i => i.Sku);
            item.Property(i => i.Sku).HasColumnName("sku").HasMaxLength(64);
            item.Property(i => i.Available).HasColumnName("available");
            item.Property(i => i.Reserved).HasColumnName("reserved");
        });
        modelBuilder.Entity<Reservation>(reservation =>
        {
            reservation.ToTable("reservations");
            reservation.HasKey(r => r.OrderId);
            reservation.Property(r => r.Status).HasConversion<string>().HasMaxLength(16);
            reservation.ComplexCollection(r => r.Lines, lines => lines.ToJson()); // a jsonb column, as an order's lines
        });
    }
}
