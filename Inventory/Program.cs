using ShopChoreography.Inventory;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddInventory();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapMessagingOperations();
app.MapInventoryApi();

app.Run();
