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
        app.MapPut("/accounts/{customerId}", Accounts.SetBalanceAsync).AcceptsJsonOnly(new SetBalanceBody(100.00m))
            .WithSummary("Sets a customer's balance, opening the account if there is none.");
        app.MapGet("/accounts/{customerId}", Accounts.GetAccountAsync).WithSummary("A customer's account.");
        app.MapGet("/payments/{orderId:guid}", Accounts.GetPaymentAsync).WithSummary("The payment of an order: Succeeded, Failed or Refunded.");
        return app;
    }
}
