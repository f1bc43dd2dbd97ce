namespace ShopChoreography.Orders.Data;

internal sealed class DesignTimeDbContextFactory : Messaging.Database.DesignTimeDbContextFactory<OrdersDbContext>;
