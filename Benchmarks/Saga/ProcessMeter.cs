using System.Globalization;
using System.Runtime.InteropServices;

namespace ShopChoreography.Benchmarks.Saga;

/// <summary>CPU time and memory of a process tree, read from /proc (Linux).</summary>
internal static class ProcessMeter
{
    private static readonly double TicksPerSecond = sysconf(2 /* _SC_CLK_TCK */);

    /// <summary>
    /// CPU seconds used by the process and its descendants so far: the live ones, plus those that ended and were reaped
    /// by one of them (a PostgreSQL backend per closed connection, reaped by the postmaster, itself under a launcher).
    /// </summary>
    public static double TreeCpuSeconds(int root) =>
        Tree(root).Sum(pid => Ticks(Stat($"/proc/{pid}/stat"), includeReapedChildren: true)) / TicksPerSecond;

    /// <summary>
    /// How often each live process of the tree went to sleep waiting so far (voluntary context switches), by process
    /// (its id and start time, so that a reused id is another process).
    /// </summary>
    public static IEnumerable<((int Pid, long Started) Process, long Waits)> TreeWaits(int root) =>
        Tree(root).Select(pid => ((pid, StartedAt(pid)), StatusValue(pid, "voluntary_ctxt_switches:")));

    /// <summary>The process and its live descendants.</summary>
    internal static HashSet<int> Tree(int root)
    {
        var parents = AllProcesses().ToDictionary(pid => pid, ParentOf);
        var tree = new HashSet<int> { root };
        for (var grown = true; grown;)
        {
            grown = false;
            foreach (var (pid, parent) in parents)
            {
                if (parent is { } p && tree.Contains(p) && tree.Add(pid))
                {
                    grown = true;
                }
            }
        }

        return tree;
    }

    /// <summary>CPU seconds of this process's threads whose name starts with <paramref name="prefix"/>.</summary>
    public static double ThreadCpuSeconds(string prefix) =>
        Directory.EnumerateDirectories("/proc/self/task")
            .Where(task => ReadOrEmpty(Path.Combine(task, "comm")).StartsWith(prefix, StringComparison.Ordinal))
            .Sum(task => Ticks(Stat(Path.Combine(task, "stat")), includeReapedChildren: false)) / TicksPerSecond;

    /// <summary>The largest resident set (now and at peak, MiB) among the process and its children: the service itself, not its launcher.</summary>
    public static (double Now, double Peak) LargestResidentSetMiB(int root)
    {
        var candidates = AllProcesses().Where(pid => pid == root || ParentOf(pid) == root);
        var sizes = candidates.Select(pid => (Now: StatusValue(pid, "VmRSS:"), Peak: StatusValue(pid, "VmHWM:"))).ToList();
        return sizes.Count == 0 ? (0, 0) : (sizes.Max(s => s.Now) / 1024.0, sizes.Max(s => s.Peak) / 1024.0);
    }

    private static IEnumerable<int> AllProcesses() =>
        Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Select(name => int.TryParse(name, out var pid) ? pid : 0).Where(pid => pid > 0);

    private static int? ParentOf(int pid) => Stat($"/proc/{pid}/stat") is { Length: > 1 } fields ? int.Parse(fields[1], CultureInfo.InvariantCulture) : null;

    /// <summary>When the process started, in clock ticks after boot: with its id, it names one process.</summary>
    private static long StartedAt(int pid) => Stat($"/proc/{pid}/stat") is { Length: > 19 } fields ? long.Parse(fields[19], CultureInfo.InvariantCulture) : 0;

    /// <summary>
    /// The fields after the process name (which may hold spaces): [0] state, [1] ppid, ... [11] utime, [12] stime,
    /// [13] cutime, [14] cstime, ... [19] starttime.
    /// </summary>
    private static string[] Stat(string path)
    {
        var stat = ReadOrEmpty(path);
        var end = stat.LastIndexOf(')');
        return end < 0 ? [] : stat[(end + 2)..].Split(' ');
    }

    private static long Ticks(string[] fields, bool includeReapedChildren) =>
        fields.Length < 15 ? 0 : long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)
            + (includeReapedChildren ? long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture) : 0);

    private static long StatusValue(int pid, string field) =>
        ReadOrEmpty($"/proc/{pid}/status").Split('\n').FirstOrDefault(line => line.StartsWith(field, StringComparison.Ordinal)) is { } line
            ? long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture)
            : 0;

    internal static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return ""; // the process ended meanwhile
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }

    [DllImport("libc")]
    private static extern long sysconf(int name);
}

/// <summary>
/// How often the processes of a tree went to sleep waiting since this counter started, those that ended meanwhile
/// included: /proc forgets an ended process's count (a PostgreSQL backend whose pooled connection was pruned), so the
/// tree is read every second and each process's last count kept. A PostgreSQL backend waits above all for its
/// client's next command, so for PostgreSQL this counts round trips, give or take the waits for locks and for the WAL.
/// </summary>
internal sealed class TreeWaitCounter : IDisposable
{
    private readonly int _root;
    private readonly Dictionary<(int Pid, long Started), long> _lastSeen = [];
    private readonly long _atStart;
    private readonly Timer _reader;

    public TreeWaitCounter(int root)
    {
        _root = root;
        _atStart = SinceStart();
        _reader = new Timer(_ => SinceStart(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>The waits since the counter started.</summary>
    public long Waits => SinceStart() - _atStart;

    private long SinceStart()
    {
        lock (_lastSeen)
        {
            foreach (var (process, waits) in ProcessMeter.TreeWaits(_root))
            {
                _lastSeen[process] = waits;
            }

            return _lastSeen.Values.Sum();
        }
    }

    public void Dispose() => _reader.Dispose();
}
