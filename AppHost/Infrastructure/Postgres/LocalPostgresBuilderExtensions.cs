using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace ShopChoreography.AppHost.Infrastructure.Postgres;

public static class LocalPostgresBuilderExtensions
{
    public const string DataDirectoryKey = "Infrastructure:Postgres:DataDirectory";

    /// <summary>Postgres refuses to run as root; as root we run it as this account (Debian's package creates it).</summary>
    private const string ServiceAccount = "postgres";

    /// <summary>
    /// Adds PostgreSQL from the machine's binaries. On first run initdb creates the data folder
    /// (<c>Infrastructure:Postgres:DataDirectory</c>, relative to the AppHost project); later runs reuse it.
    /// </summary>
    public static IResourceBuilder<LocalPostgresResource> AddLocalPostgres(this IDistributedApplicationBuilder builder, string name)
    {
        var binaries = PostgresServerBinaries.Locate(builder.Configuration[PostgresServerBinaries.ConfigurationKey]);
        var dataDirectory = Path.GetFullPath(
            builder.Configuration[DataDirectoryKey] ?? ".data/postgres", builder.AppHostDirectory);
        var runAsServiceAccount = Environment.IsPrivilegedProcess;

        var resource = new LocalPostgresResource(name,
            command: runAsServiceAccount ? "runuser" : binaries.Postgres,
            workingDirectory: builder.AppHostDirectory,
            dataDirectory);

        var healthCheckKey = $"{name}_accepts_connections";
        builder.Services.AddHealthChecks().AddCheck(healthCheckKey, new CanConnect(resource));

        builder.Eventing.Subscribe<BeforeResourceStartedEvent>(resource, async (e, cancellationToken) =>
        {
            var logger = e.Services.GetRequiredService<ResourceLoggerService>().GetLogger(resource);
            await InitializeDataDirectoryAsync(binaries, dataDirectory, runAsServiceAccount, logger, cancellationToken);
        });

        builder.Eventing.Subscribe<ResourceReadyEvent>(resource, async (e, cancellationToken) =>
        {
            var logger = e.Services.GetRequiredService<ResourceLoggerService>().GetLogger(resource);
            await CreateDatabasesAsync(resource, logger, cancellationToken);
            foreach (var database in resource.Databases)
            {
                await e.Services.GetRequiredService<ResourceNotificationService>().PublishUpdateAsync(database, s => s with
                {
                    State = KnownResourceStates.Running,
                    StartTimeStamp = DateTime.UtcNow,
                });
            }
        });

        return builder.AddResource(resource)
            .WithArgs(context =>
            {
                if (runAsServiceAccount)
                {
                    context.Args.Add("-u");
                    context.Args.Add(ServiceAccount);
                    context.Args.Add("--");
                    context.Args.Add(binaries.Postgres);
                }

                context.Args.Add("-D");
                context.Args.Add(dataDirectory);
                context.Args.Add("-p");
                context.Args.Add(resource.Endpoint.Property(EndpointProperty.TargetPort));
                context.Args.Add("-c");
                context.Args.Add("listen_addresses=127.0.0.1");
                context.Args.Add("-c");
                context.Args.Add("unix_socket_directories="); // TCP only: no socket folder to own or clean up
                context.Args.Add("-c");
                context.Args.Add("max_connections=300");
                context.Args.Add("-c");
                context.Args.Add("shared_preload_libraries=pg_stat_statements"); // which statements cost what, per database
            })
            .WithEndpoint(name: LocalPostgresResource.EndpointName, scheme: "tcp", isProxied: false)
            .WithHealthCheck(healthCheckKey)
            .ExcludeFromManifest();
    }

    public static IResourceBuilder<LocalPostgresDatabaseResource> AddDatabase(
        this IResourceBuilder<LocalPostgresResource> server, string name)
    {
        var database = new LocalPostgresDatabaseResource(name, server.Resource);
        server.Resource.Databases.Add(database);
        var healthCheckKey = $"{name}_accepts_connections";
        server.ApplicationBuilder.Services.AddHealthChecks().AddCheck(healthCheckKey, new CanConnect(database));
        return server.ApplicationBuilder.AddResource(database)
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = "PostgresDatabase",
                State = KnownResourceStates.Waiting,
                Properties = [],
            })
            .WithHealthCheck(healthCheckKey)
            .ExcludeFromManifest();
    }

    private static async Task InitializeDataDirectoryAsync(
        PostgresServerBinaries binaries, string dataDirectory, bool runAsServiceAccount, ILogger logger, CancellationToken cancellationToken)
    {
        if (File.Exists(Path.Combine(dataDirectory, "PG_VERSION")))
        {
            logger.LogInformation("Using the existing data folder {DataDirectory}", dataDirectory);
            return;
        }

        logger.LogInformation("Creating the data folder {DataDirectory} with initdb", dataDirectory);
        Directory.CreateDirectory(dataDirectory);
        string[] initdb = [binaries.InitDb, "-D", dataDirectory, "-U", LocalPostgresResource.User,
            "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"];
        if (runAsServiceAccount)
        {
            await RunAsync("chown", [$"{ServiceAccount}:{ServiceAccount}", dataDirectory], logger, cancellationToken);
            await RunAsync("runuser", ["-u", ServiceAccount, "--", .. initdb], logger, cancellationToken,
                failureHint: $"As root, PostgreSQL runs as the '{ServiceAccount}' account, which must be able to reach " +
                             $"'{dataDirectory}'; choose another folder with {DataDirectoryKey} if it cannot.");
        }
        else
        {
            await RunAsync(initdb[0], initdb[1..], logger, cancellationToken);
        }
    }

    private static async Task CreateDatabasesAsync(LocalPostgresResource server, ILogger logger, CancellationToken cancellationToken)
    {
        var connectionString = await server.ConnectionStringExpression.GetValueAsync(cancellationToken);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        foreach (var database in server.Databases)
        {
            await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection)
            {
                Parameters = { new() { Value = database.DatabaseName } },
            };
            if (await exists.ExecuteScalarAsync(cancellationToken) is not null)
            {
                continue;
            }

            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{database.DatabaseName}\"", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
            logger.LogInformation("Created database {Database}", database.DatabaseName);
        }
    }

    private static async Task RunAsync(string fileName, IEnumerable<string> arguments, ILogger logger,
        CancellationToken cancellationToken, string? failureHint = null)
    {
        var startInfo = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo)
            ?? throw new DistributedApplicationException($"Could not start '{fileName}'.");
        process.OutputDataReceived += (_, line) => { if (line.Data is not null) logger.LogInformation("{Line}", line.Data); };
        process.ErrorDataReceived += (_, line) => { if (line.Data is not null) logger.LogWarning("{Line}", line.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new DistributedApplicationException(
                $"'{fileName} {string.Join(' ', startInfo.ArgumentList)}' exited with code {process.ExitCode}. {failureHint}".TrimEnd());
        }
    }

    private sealed class CanConnect(IResourceWithConnectionString resource) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var connectionString = await resource.ConnectionStringExpression.GetValueAsync(cancellationToken);
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(cancellationToken);
                return HealthCheckResult.Healthy();
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                return HealthCheckResult.Unhealthy($"Cannot connect to {resource.Name}.", ex);
            }
        }
    }
}
