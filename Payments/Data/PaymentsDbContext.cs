using Microsoft.EntityFrameworkCore;
using ShopChoreography.ServiceDefaults.Messaging;

namespace ShopChoreography.Payments.Data;

public sealed class PaymentsDbContext(DbContextOptions<PaymentsDbContext> options) : DbContext(options)
{
    public DbSet<Account> Accounts => Set<Account>();

    public DbSet<Payment> Payments => Set<Payment>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.AddMessagingTables();
        modelBuilder.Entity<Account>(account =>
        {
            account.ToTable("accounts");
            account.HasKey(a => a.CustomerId);
            account.Property(a => a.CustomerId).HasMaxLength(64);
            account.Property(a => a.Balance).HasPrecision(18, 2);
        });
        modelBuilder.Entity<Payment>(payment =>
        {
            payment.ToTable("payments");
            payment.HasKey(p => p.OrderId);
            payment.Property(p => p.CustomerId).HasMaxLength(64);
            payment.Property(p => p.Status).HasConversion<string>().HasMaxLength(16);
            payment.Property(p => p.Amount).HasPrecision(18, 2);
        });
    }
}
