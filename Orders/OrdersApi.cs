using Microsoft.Extensions.Options;
using ShopChoreography.Contracts;
using ShopChoreography.Messaging;
using ShopChoreography.Orders.Data;
using ShopChoreography.Orders.Features;
using ShopChoreography.ServiceDefaults.Http;

namespace ShopChoreography.Orders;

public static class OrdersApi
{
    public static IHostApplicationBuilder AddOrders(this IHostApplicationBuilder builder)
    {
        builder.DescribeApi("Orders", """
            Places orders and follows each through the saga. An order is Pending until the other services have
            reacted to its OrderCreated event: Completed once it is paid and its stock reserved, or Cancelled with the
            reason (insufficient-funds, unknown-customer or out-of-stock). Its timeline lists the events that
            moved it. Operations list and heal orders whose saga has stopped moving.
            """);
        builder.AddServiceDatabase<OrdersDbContext>("ordersdb");
        builder.AddMessaging<OrdersDbContext>("orders")
            .PublishTo(Topics.OrdersEvents, source: "/orders")
            .Handle<PaymentSucceeded, MarkOrderPaidOnPaymentSucceeded>(Topics.PaymentsEvents)
            .Handle<PaymentFailed, CancelOrderOnPaymentFailed>(Topics.PaymentsEvents)
            .Handle<PaymentRefunded, RecordRefundOnPaymentRefunded>(Topics.PaymentsEvents)
            .Handle<InventoryReserved, CompleteOrderOnInventoryReserved>(Topics.InventoryEvents)
            .Handle<InventoryReservationFailed, CancelOrderOnInventoryReservationFailed>(Topics.InventoryEvents);
        builder.Services.Configure<SagaOptions>(builder.Configuration.GetSection(SagaOptions.Section));
        builder.Services.AddHostedService<StuckOrderMonitor>();
        builder.Services.AddSingleton<SagaMetrics>();
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(SagaMetrics.MeterName));
        return builder;
    }

    public static IEndpointRouteBuilder MapOrdersApi(this IEndpointRouteBuilder app)
    {
        var orders = app.MapGroup("/orders").WithTags("Orders");
        orders.MapPost("/", PlaceOrder.HandleAsync).AcceptsJsonOnly(PlaceOrderBody.Example)
            .DescribesParameters(PlaceOrder.IdempotencyKeyParameter)
            .DescribesProblem(StatusCodes.Status422UnprocessableEntity, "The Idempotency-Key was used before for a different order.")
            .WithSummary("Places an order: it is Pending until the saga completes or cancels it.");
        orders.MapGet("/{id:guid}", QueryOrders.GetOrderAsync).WithSummary("An order and its status.");
        orders.MapGet("/{id:guid}/timeline", QueryOrders.GetTimelineAsync)
            .WithSummary("The events Orders published and consumed for an order, oldest first.");

        if (app.ServiceProvider.GetRequiredService<IOptions<MessagingOptions>>().Value.Operations.MapEndpoints)
        {
            var operations = app.MapGroup("/operations").WithTags("Operations");
            operations.MapGet("/stuck-orders", StuckOrders.ListAsync)
                .WithSummary("Orders whose saga has not moved for longer than the step deadline, and the step each waits for.");
            operations.MapPost("/stuck-orders/heal", StuckOrders.HealAllAsync).WithSummary("Heals every stuck order now.");
            operations.MapPost("/orders/{id:guid}/heal", StuckOrders.HealOneAsync)
                .WithSummary("Heals one order, stuck or not: sends its OrderCreated again with its original id.");
        }

        return app;
    }
}
