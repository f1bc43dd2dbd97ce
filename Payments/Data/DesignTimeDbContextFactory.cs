namespace ShopChoreography.Payments.Data;

internal sealed class DesignTimeDbContextFactory : ServiceDefaults.Data.DesignTimeDbContextFactory<PaymentsDbContext>;
