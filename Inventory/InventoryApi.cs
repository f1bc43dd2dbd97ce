using ShopChoreography.Contracts;
using ShopChoreography.Inventory.Data;
using ShopChoreography.Inventory.Features;
using ShopChoreography.ServiceDefaults.Http;

namespace ShopChoreography.Inventory;

public static class InventoryApi
{
    public static IHostApplicationBuilder AddInventory(this IHostApplicationBuilder builder)
    {
        builder.DescribeApi("Inventory", """
            The stock of each SKU, and the reservation of each order. Inventory reserves every line of an order, all
            or nothing, when Payments publishes PaymentSucceeded (InventoryReserved, or InventoryReservationFailed when
            a line is out of stock). Set the available stock here before placing an order.
            """);
        builder.AddServiceDatabase<InventoryDbContext>("inventorydb");
        builder.AddMessaging<InventoryDbContext>("inventory")
            .PublishTo(Topics.InventoryEvents, source: "/inventory")
            .Handle<PaymentSucceeded, ReserveStockOnPaymentSucceeded>(Topics.PaymentsEvents);
        return builder;
    }

    public static IEndpointRouteBuilder MapInventoryApi(this IEndpointRouteBuilder app)
    {
        var stock = app.MapGroup("/stock").WithTags("Stock");
        stock.MapPut("/{sku}", Stock.SetAvailableAsync).AcceptsJsonOnly(new SetAvailableBody(10))
            .WithSummary("Sets how many of a SKU can still be sold; stock already reserved stays reserved.");
        stock.MapGet("/{sku}", Stock.GetStockAsync).WithSummary("The stock of a SKU.");
        app.MapGet("/reservations/{orderId:guid}", Stock.GetReservationAsync).WithTags("Reservations")
            .WithSummary("The reservation of an order: Reserved or Rejected.");
        return app;
    }
}
