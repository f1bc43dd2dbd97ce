using ShopChoreography.AppHost.Infrastructure.Postgres;

namespace ShopChoreography.AppHost.Infrastructure;

/// <summary>The <c>postgres</c> server of whichever infrastructure mode runs, and a way to add databases to it.</summary>
public sealed class PostgresServer
{
    private readonly Func<string, IResourceBuilder<IResourceWithConnectionString>> _addDatabase;

    private PostgresServer(Func<string, IResourceBuilder<IResourceWithConnectionString>> addDatabase) => _addDatabase = addDatabase;

    public IResourceBuilder<IResourceWithConnectionString> AddDatabase(string name) => _addDatabase(name);

    public static PostgresServer Add(IDistributedApplicationBuilder builder, string name, InfrastructureMode mode)
    {
        switch (mode)
        {
            case InfrastructureMode.Local:
            {
                var local = builder.AddLocalPostgres(name);
                return new(database => AsConnectionString(builder, local.AddDatabase(database).Resource));
            }

            case InfrastructureMode.Managed:
                // Azure Database for PostgreSQL Flexible Server (or any server): each database is a secret connection
                // string the operator gives azd. There is no server resource to deploy.
                return new(database => builder.AddConnectionString(database));

            default:
                return Containers(builder, name);
        }
    }

    private static PostgresServer Containers(IDistributedApplicationBuilder builder, string name)
    {
        var container = builder.AddPostgres(name);
        if (!builder.ExecutionContext.IsPublishMode)
        {
            container.WithDataVolume();
            return new(database => AsConnectionString(builder, container.AddDatabase(database).Resource));
        }

        // Published, a volume becomes an Azure Files (SMB) share, on which initdb cannot set the permissions it needs, and
        // the server never starts. So the data lives as long as the container does: a demo, not a database to keep.
        // Databases are plain connection strings on the server; each service's EF Core migration creates its database
        // on first start. This keeps the manifest to project, container, parameter and value resources.
        return new(database => AsConnectionString(builder, builder.AddConnectionString(database,
            ReferenceExpression.Create($"{container.Resource};Database={database}")).Resource));
    }

    private static IResourceBuilder<IResourceWithConnectionString> AsConnectionString(
        IDistributedApplicationBuilder builder, IResourceWithConnectionString resource) =>
        builder.CreateResourceBuilder(resource);
}
