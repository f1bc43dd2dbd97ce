using Aspire.Hosting.ApplicationModel;
using ShopChoreography.AppHost.Infrastructure.Postgres;

namespace ShopChoreography.AppHost.Infrastructure;

/// <summary>The <c>postgres</c> server of whichever infrastructure mode runs, and a way to add databases to it.</summary>
public sealed class PostgresServer
{
    private readonly Func<string, IResourceBuilder<IResourceWithConnectionString>> _addDatabase;

    private PostgresServer(IResourceBuilder<IResourceWithConnectionString> server,
        Func<string, IResourceBuilder<IResourceWithConnectionString>> addDatabase)
    {
        Server = server;
        _addDatabase = addDatabase;
    }

    public IResourceBuilder<IResourceWithConnectionString> Server { get; }

    public IResourceBuilder<IResourceWithConnectionString> AddDatabase(string name) => _addDatabase(name);

    public static PostgresServer Add(IDistributedApplicationBuilder builder, string name, InfrastructureMode mode)
    {
        if (mode == InfrastructureMode.Local)
        {
            var local = builder.AddLocalPostgres(name);
            return new(AsConnectionString(builder, local.Resource),
                database => AsConnectionString(builder, local.AddDatabase(database).Resource));
        }

        var container = builder.AddPostgres(name).WithDataVolume();
        if (builder.ExecutionContext.IsPublishMode)
        {
            // Published databases are plain connection strings on the server; each service's EF Core migration
            // creates its database on first start. This keeps the manifest to project, container, parameter and value resources.
            return new(AsConnectionString(builder, container.Resource),
                database => AsConnectionString(builder, builder.AddConnectionString(database,
                    ReferenceExpression.Create($"{container.Resource};Database={database}")).Resource));
        }

        return new(AsConnectionString(builder, container.Resource),
            database => AsConnectionString(builder, container.AddDatabase(database).Resource));
    }

    private static IResourceBuilder<IResourceWithConnectionString> AsConnectionString(
        IDistributedApplicationBuilder builder, IResourceWithConnectionString resource) =>
        builder.CreateResourceBuilder(resource);
}
