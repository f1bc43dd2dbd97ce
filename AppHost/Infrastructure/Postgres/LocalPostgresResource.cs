namespace ShopChoreography.AppHost.Infrastructure.Postgres;

/// <summary>
/// The <c>postgres</c> resource in local mode: the machine's PostgreSQL server binaries run as an executable,
/// on loopback only, with a persistent data folder. Trust authentication: it is a development server.
/// </summary>
public sealed class LocalPostgresResource(string name, string command, string workingDirectory, string dataDirectory)
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    public const string EndpointName = "tcp";
    public const string User = "postgres";

    public string DataDirectory { get; } = dataDirectory;

    public EndpointReference Endpoint => new(this, EndpointName);

    public List<LocalPostgresDatabaseResource> Databases { get; } = [];

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"Host=127.0.0.1;Port={Endpoint.Property(EndpointProperty.TargetPort)};Username={User}");
}

public sealed class LocalPostgresDatabaseResource(string name, LocalPostgresResource parent)
    : Resource(name), IResourceWithParent<LocalPostgresResource>, IResourceWithConnectionString
{
    public LocalPostgresResource Parent { get; } = parent;

    public string DatabaseName => Name;

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"{Parent};Database={DatabaseName}");
}
