using ShopChoreography.Orders.Data;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddServiceDatabase<OrdersDbContext>("ordersdb");
builder.AddKafkaProducer<string, byte[]>("kafka");

var app = builder.Build();

app.MapDefaultEndpoints();

app.Run();
