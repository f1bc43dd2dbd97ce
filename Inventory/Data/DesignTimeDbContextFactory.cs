namespace ShopChoreography.Inventory.Data;

internal sealed class DesignTimeDbContextFactory : Messaging.Database.DesignTimeDbContextFactory<InventoryDbContext>;
