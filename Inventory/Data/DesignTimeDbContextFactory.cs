namespace ShopChoreography.Inventory.Data;

internal sealed class DesignTimeDbContextFactory : ServiceDefaults.Data.DesignTimeDbContextFactory<InventoryDbContext>;
