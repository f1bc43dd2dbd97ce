namespace ShopChoreography.Payments.Data;

internal sealed class DesignTimeDbContextFactory : Messaging.Database.DesignTimeDbContextFactory<PaymentsDbContext>;
