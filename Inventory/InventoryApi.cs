using ShopChoreography.Contracts;
using ShopChoreography.Inventory.Data;
using ShopChoreography.Inventory.Features;
using ShopChoreography.ServiceDefaults.Http;

namespace ShopChoreography.Inventory;

public static class InventoryApi
{
    public static IHostApplicationBuilder AddInventory(this IHostApplicationBuilder builder)
    {
        builder.AddServiceDatabase<InventoryDbContext>("inventorydb");
        builder.AddMessaging<InventoryDbContext>("inventory")
            .PublishTo(Topics.InventoryEvents, source: "/inventory")
            .Handle<PaymentSucceeded, ReserveStockOnPaymentSucceeded>(Topics.PaymentsEvents);
        return builder;
    }

    public static IEndpointRouteBuilder MapInventoryApi(this IEndpointRouteBuilder app)
    {
        app.MapPut("/stock/{sku}", Stock.SetAvailableAsync).AcceptsJsonOnly(new SetAvailableBody(10))
            .WithSummary("Sets how many of a SKU can still be sold; stock already reserved stays reserved.");
        app.MapGet("/stock/{sku}", Stock.GetStockAsync).WithSummary("The stock of a SKU.");
        app.MapGet("/reservations/{orderId:guid}", Stock.GetReservationAsync).WithSummary("The reservation of an order: Reserved or Rejected.");
        return app;
    }
}
