using ShopChoreography.Contracts;
using ShopChoreography.Payments.Data;
using ShopChoreography.Payments.Features;
using ShopChoreography.ServiceDefaults.Http;

namespace ShopChoreography.Payments;

public static class PaymentsApi
{
    public static IHostApplicationBuilder AddPayments(this IHostApplicationBuilder builder)
    {
        builder.AddServiceDatabase<PaymentsDbContext>("paymentsdb");
        builder.AddMessaging<PaymentsDbContext>("payments")
            .PublishTo(Topics.PaymentsEvents, source: "/payments")
            .Handle<OrderCreated, ChargeCustomerOnOrderCreated>(Topics.OrdersEvents)
            .Handle<InventoryReservationFailed, RefundOnInventoryReservationFailed>(Topics.InventoryEvents);
        return builder;
    }

    public static IEndpointRouteBuilder MapPaymentsApi(this IEndpointRouteBuilder app)
    {
        app.MapPut("/accounts/{customerId}", Accounts.SetBalanceAsync).AcceptsJsonOnly();
        app.MapGet("/accounts/{customerId}", Accounts.GetAccountAsync);
        app.MapGet("/payments/{orderId:guid}", Accounts.GetPaymentAsync);
        return app;
    }
}
