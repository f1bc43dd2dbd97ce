using ShopChoreography.Orders.Data;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddServiceDatabase<OrdersDbContext>("ordersdb");
builder.AddMessaging<OrdersDbContext>("orders")
    .PublishTo("orders.events", source: "/orders");

var app = builder.Build();

app.MapDefaultEndpoints();

app.Run();
