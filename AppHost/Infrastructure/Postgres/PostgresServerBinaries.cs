namespace ShopChoreography.AppHost.Infrastructure.Postgres;

/// <summary>Finds the PostgreSQL server programs (initdb, postgres) installed on this machine.</summary>
public sealed record PostgresServerBinaries(string BinDirectory)
{
    public const string ConfigurationKey = "Infrastructure:Postgres:BinDirectory";

    public string InitDb => Path.Combine(BinDirectory, "initdb");

    public string Postgres => Path.Combine(BinDirectory, "postgres");

    /// <summary>
    /// Looks in the configured folder, else in Debian's /usr/lib/postgresql/N/bin (newest N first), else on PATH.
    /// </summary>
    public static PostgresServerBinaries Locate(string? configuredBinDirectory)
    {
        var candidates = configuredBinDirectory is { Length: > 0 }
            ? [configuredBinDirectory]
            : DebianBinDirectories().Concat(PathDirectories());

        foreach (var directory in candidates)
        {
            var binaries = new PostgresServerBinaries(directory);
            if (File.Exists(binaries.InitDb) && File.Exists(binaries.Postgres))
            {
                return binaries;
            }
        }

        var where = configuredBinDirectory is { Length: > 0 }
            ? $"in '{configuredBinDirectory}' ({ConfigurationKey})"
            : "in /usr/lib/postgresql/*/bin or on PATH";
        throw new DistributedApplicationException(
            $"Local infrastructure mode needs the PostgreSQL server programs initdb and postgres, which were not found {where}. " +
            "Install the Debian package postgresql-15 ('sudo apt-get install postgresql-15', or 'postgresql' for your release's version), " +
            $"set {ConfigurationKey} to the folder holding them, or run with Infrastructure:Mode=containers where Docker or Podman is available.");
    }

    private static IEnumerable<string> DebianBinDirectories()
    {
        const string root = "/usr/lib/postgresql";
        if (!Directory.Exists(root))
        {
            return [];
        }

        return Directory.GetDirectories(root)
            .Select(directory => (directory, version: int.TryParse(Path.GetFileName(directory), out var v) ? v : -1))
            .OrderByDescending(entry => entry.version)
            .Select(entry => Path.Combine(entry.directory, "bin"));
    }

    private static IEnumerable<string> PathDirectories() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
}
