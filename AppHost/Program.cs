using ShopChoreography.AppHost.Infrastructure;
using ShopChoreography.AppHost.Infrastructure.Kafka;
using ShopChoreography.AppHost.Operations;

var builder = DistributedApplication.CreateBuilder(args);

// Where Kafka and PostgreSQL come from (see README): running, Infrastructure:Mode = auto | local | containers;
// publishing for azd, Deploy:Infrastructure = containers | managed.
var mode = builder.GetInfrastructureMode();

var kafka = builder.AddKafka("kafka", mode);

var postgres = PostgresServer.Add(builder, "postgres", mode);
var ordersDb = postgres.AddDatabase("ordersdb");
var paymentsDb = postgres.AddDatabase("paymentsdb");
var inventoryDb = postgres.AddDatabase("inventorydb");

builder.AddProject<Projects.Orders>("orders")
    .WithPublicHttpEndpoints()
    .WithHttpHealthCheck("/health")
    .WithApiReference()
    .WithReference(ordersDb).WaitFor(ordersDb)
    .WithKafka(kafka)
    .WithMessagingCommands()
    .WithStuckOrderCommands();

builder.AddProject<Projects.Payments>("payments")
    .WithHttpHealthCheck("/health")
    .WithApiReference()
    .WithReference(paymentsDb).WaitFor(paymentsDb)
    .WithKafka(kafka)
    .WithMessagingCommands();

builder.AddProject<Projects.Inventory>("inventory")
    .WithHttpHealthCheck("/health")
    .WithApiReference()
    .WithReference(inventoryDb).WaitFor(inventoryDb)
    .WithKafka(kafka)
    .WithMessagingCommands();

builder.Build().Run();
