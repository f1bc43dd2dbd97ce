using ShopChoreography.Inventory.Data;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddServiceDatabase<InventoryDbContext>("inventorydb");
builder.AddMessaging<InventoryDbContext>("inventory")
    .PublishTo("inventory.events", source: "/inventory");

var app = builder.Build();

app.MapDefaultEndpoints();

app.Run();
