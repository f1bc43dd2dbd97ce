using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace ShopChoreography.Messaging.Database;

/// <summary>
/// Lets <c>dotnet ef migrations add</c> build a service's model without starting the service or reaching a database.
/// A service declares one: <c>internal sealed class DesignTimeFactory : DesignTimeDbContextFactory&lt;OrdersDbContext&gt;;</c>
/// </summary>
public abstract class DesignTimeDbContextFactory<TContext> : IDesignTimeDbContextFactory<TContext> where TContext : DbContext
{
    public TContext CreateDbContext(string[] args) =>
        (TContext)Activator.CreateInstance(typeof(TContext),
            new DbContextOptionsBuilder<TContext>().UseNpgsql("Host=localhost").Options)!;
}
