using ShopChoreography.Payments.Data;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddServiceDatabase<PaymentsDbContext>("paymentsdb");
builder.AddMessaging<PaymentsDbContext>("payments")
    .PublishTo("payments.events", source: "/payments");

var app = builder.Build();

app.MapDefaultEndpoints();

app.Run();
