using ShopChoreography.Contracts;
using ShopChoreography.Payments.Data;
using ShopChoreography.Payments.Features;
using ShopChoreography.ServiceDefaults.Http;

namespace ShopChoreography.Payments;

public static class PaymentsApi
{
    public static IHostApplicationBuilder AddPayments(this IHostApplicationBuilder builder)
    {
        builder.DescribeApi("Payments", """
            Customers' accounts, and the payment of each order. Payments charges an order's customer when Orders
            publishes OrderCreated (PaymentSucceeded, or PaymentFailed when the balance does not cover it or the
            customer has no account) and refunds the charge when Inventory cannot reserve the order's stock
            (PaymentRefunded). Set a balance here before placing an order.
            """);
        builder.AddServiceDatabase<PaymentsDbContext>("paymentsdb");
        builder.AddMessaging<PaymentsDbContext>("payments")
            .PublishTo(Topics.PaymentsEvents, source: "/payments")
            .Handle<OrderCreated, ChargeCustomerOnOrderCreated>(Topics.OrdersEvents)
            .Handle<InventoryReservationFailed, RefundOnInventoryReservationFailed>(Topics.InventoryEvents);
        return builder;
    }

    public static IEndpointRouteBuilder MapPaymentsApi(this IEndpointRouteBuilder app)
    {
        var accounts = app.MapGroup("/accounts").WithTags("Accounts");
        accounts.MapPut("/{customerId}", Accounts.SetBalanceAsync).AcceptsJsonOnly(new SetBalanceBody(100.00m))
            .WithSummary("Sets a customer's balance, opening the account if there is none.");
        accounts.MapGet("/{customerId}", Accounts.GetAccountAsync).WithSummary("A customer's account.");
        app.MapGet("/payments/{orderId:guid}", Accounts.GetPaymentAsync).WithTags("Payments")
            .WithSummary("The payment of an order: Succeeded, Failed or Refunded.");
        return app;
    }
}
