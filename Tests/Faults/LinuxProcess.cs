using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ShopChoreography.Tests.Faults;

/// <summary>What the fault drills need from Linux's process table (/proc) and signals.</summary>
public static class LinuxProcess
{
    private const int SigTerm = 15;

    /// <summary>kill -9: the process ends at once, without running any of its shutdown code.</summary>
    public static void Kill(int pid)
    {
        using var process = Process.GetProcessById(pid);
        process.Kill(); // SIGKILL on Unix
    }

    /// <summary>kill -TERM: the process is asked to shut down gracefully.</summary>
    public static void Terminate(int pid)
    {
        if (kill(pid, SigTerm) != 0)
        {
            throw new InvalidOperationException($"kill -TERM {pid} failed (errno {Marshal.GetLastPInvokeError()}).");
        }
    }

    public static IReadOnlyList<int> Children(int pid) =>
        [.. Directory.EnumerateDirectories("/proc")
            .Select(Path.GetFileName)
            .Select(name => int.TryParse(name, out var id) ? id : 0)
            .Where(id => id > 0 && ParentOf(id) == pid)];

    /// <summary>The program a running process executes, with its arguments, working folder and environment.</summary>
    public static ProcessStartInfo StartInfoOf(int pid)
    {
        var commandLine = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        var startInfo = new ProcessStartInfo(new FileInfo($"/proc/{pid}/exe").LinkTarget ?? commandLine[0])
        {
            WorkingDirectory = new DirectoryInfo($"/proc/{pid}/cwd").LinkTarget,
            UseShellExecute = false,
        };
        foreach (var argument in commandLine.Skip(1))
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment.Clear();
        foreach (var variable in File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            var separator = variable.IndexOf('=');
            if (separator > 0)
            {
                startInfo.Environment[variable[..separator]] = variable[(separator + 1)..];
            }
        }

        return startInfo;
    }

    /// <summary>The parent pid: the field after the state in /proc/PID/stat (the name before it may hold spaces).</summary>
    private static int? ParentOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null; // the process ended meanwhile
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
