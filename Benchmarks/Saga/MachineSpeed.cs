using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace ShopChoreography.Benchmarks.Saga;

/// <summary>
/// How fast the machine runs during a measurement: every two seconds, the CPU time one thread needs for a fixed piece
/// of work (hashing, in native code, so the JIT does not change it). On a virtual machine whose host reports no steal
/// time, a core the host takes away is counted as CPU time of whatever ran on it, so every process's CPU per order
/// rises together; this probe rises with them, which tells a slower machine from slower code. Lower is faster.
/// </summary>
internal sealed class MachineSpeed : IDisposable
{
    private const int ThreadCpuClock = 3; // CLOCK_THREAD_CPUTIME_ID
    private static readonly byte[] Work = new byte[64 * 1024];

    private readonly List<double> _microseconds = [];
    private readonly Timer _probe;

    public MachineSpeed() => _probe = new Timer(_ => Probe(), null, TimeSpan.Zero, TimeSpan.FromSeconds(2));

    /// <summary>CPU microseconds the work took: at best, the median and at worst over the probes so far.</summary>
    public (double Best, double Median, double Worst) Microseconds()
    {
        lock (_microseconds)
        {
            var sorted = _microseconds.Order().ToList();
            return sorted.Count == 0 ? (0, 0, 0) : (Math.Round(sorted[0]), Math.Round(sorted[sorted.Count / 2]), Math.Round(sorted[^1]));
        }
    }

    private void Probe()
    {
        var start = ThreadCpuNanoseconds();
        for (var i = 0; i < 16; i++)
        {
            SHA256.HashData(Work);
        }

        var used = (ThreadCpuNanoseconds() - start) / 1000.0;
        lock (_microseconds)
        {
            _microseconds.Add(used);
        }
    }

    private static long ThreadCpuNanoseconds() =>
        clock_gettime(ThreadCpuClock, out var now) == 0 ? now.Seconds * 1_000_000_000 + now.Nanoseconds
            : throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");

    public void Dispose() => _probe.Dispose();

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc")]
    private static extern int clock_gettime(int clock, out TimeSpec time);
}
