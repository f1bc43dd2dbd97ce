using Microsoft.EntityFrameworkCore;

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
            account.Property(a => a.CustomerId).HasColumnName("customer_id").HasMaxLength(64);
            account.Property(a => a.Balance).HasColumnName("balance").HasPrecision(18, 2);
            account.ToTable(t => t.HasCheckConstraint("ck_accounts_balance_not_negative", "balance >= 0"));
        });
        modelBuilder.Entity<Payment>(payment =>
        {
            payment.ToTable("payments");
            payment.HasKey(p => p.OrderId);
            payment.Property(p => p.CustomerId).HasMaxLength(64);
            payment.Property(p => p.Status).HasConversion<string>().HasMaxLength(16);
            payment.Property(p => p.Amount).HasPrecision(18, 2);
            payment.Property(p => p.FailureReason).HasMaxLength(64);
        });
    }
}
