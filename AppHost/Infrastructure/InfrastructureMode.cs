using System.Diagnostics;

namespace ShopChoreography.AppHost.Infrastructure;

/// <summary>Where Kafka and PostgreSQL come from.</summary>
public enum InfrastructureMode
{
    /// <summary>PostgreSQL from the machine's binaries and an in-memory Kafka-protocol broker hosted by the AppHost.</summary>
    Local,

    /// <summary>PostgreSQL and Kafka (apache/kafka, KRaft) as containers: a runtime's, or Azure Container Apps' when published.</summary>
    Containers,

    /// <summary>
    /// Published only: Kafka (Azure Event Hubs' Kafka endpoint) and each database (Azure Database for PostgreSQL) are
    /// managed services, given as secret connection-string parameters.
    /// </summary>
    Managed,
}

public static class InfrastructureModeSelection
{
    public const string ConfigurationKey = "Infrastructure:Mode";

    /// <summary>The deployment shape a published manifest describes: <c>containers</c> (default) or <c>managed</c>.</summary>
    public const string DeployConfigurationKey = "Deploy:Infrastructure";

    /// <summary>
    /// Running: reads <c>Infrastructure:Mode</c> (<c>auto</c>, <c>local</c> or <c>containers</c>; <c>auto</c> picks
    /// containers when a container runtime answers). Publishing: reads <c>Deploy:Infrastructure</c> (<c>containers</c> or
    /// <c>managed</c>); Azure Container Apps cannot host executables, so a manifest is never local.
    /// </summary>
    public static InfrastructureMode GetInfrastructureMode(this IDistributedApplicationBuilder builder)
    {
        if (builder.ExecutionContext.IsPublishMode)
        {
            var shape = builder.Configuration[DeployConfigurationKey] ?? "containers";
            return shape.Trim().ToLowerInvariant() switch
            {
                "containers" => InfrastructureMode.Containers,
                "managed" => InfrastructureMode.Managed,
                _ => throw new DistributedApplicationException(
                    $"'{DeployConfigurationKey}' is '{shape}'; expected 'containers' or 'managed'."),
            };
        }

        var configured = builder.Configuration[ConfigurationKey] ?? "auto";
        return configured.Trim().ToLowerInvariant() switch
        {
            "local" => InfrastructureMode.Local,
            "containers" => InfrastructureMode.Containers,
            "auto" => ContainerRuntimeAnswers() ? InfrastructureMode.Containers : InfrastructureMode.Local,
            _ => throw new DistributedApplicationException(
                $"'{ConfigurationKey}' is '{configured}'; expected 'auto', 'local' or 'containers'."),
        };
    }

    private static bool ContainerRuntimeAnswers() =>
        CommandSucceeds("docker", "info") || CommandSucceeds("podman", "info");

    private static bool CommandSucceeds(string fileName, string arguments)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(fileName, arguments)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (process is null)
            {
                return false;
            }

            // Drain the pipes so a chatty runtime cannot block on a full buffer.
            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                process.Kill(entireProcessTree: true);
                return false;
            }

            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // not installed
        }
    }
}
