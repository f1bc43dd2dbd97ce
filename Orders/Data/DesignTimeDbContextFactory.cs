namespace ShopChoreography.Orders.Data;

internal sealed class DesignTimeDbContextFactory : ServiceDefaults.Data.DesignTimeDbContextFactory<OrdersDbContext>;
