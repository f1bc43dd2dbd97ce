extern alias Benchmarks;

using System.Diagnostics;
using Benchmarks::ShopChoreography.Benchmarks.Saga;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Operations;

/// <summary>
/// The benchmarks' CPU and waits of a process tree must keep those of processes that ended meanwhile: PostgreSQL runs
/// under a launcher (runuser when started as root), and a backend whose pooled connection is pruned ends mid-run.
/// </summary>
public sealed class ProcessMeterTests
{
    [Fact]
    public async Task A_tree_keeps_the_cpu_of_a_grandchild_that_ended()
    {
        // root sh -> middle sh (stays, sleeping) -> timeout -> yes: busy for a second, then ended and reaped by the middle.
        using var root = Process.Start(new ProcessStartInfo("sh") { ArgumentList = { "-c", "sh -c 'timeout 1 yes > /dev/null; sleep 30'; true" } })!;
        try
        {
            var before = ProcessMeter.TreeCpuSeconds(root.Id);
            await Poller.UntilAsync(() => Task.FromResult(TreeRuns(root.Id, "sleep")), runs => runs, "yes to end"); // then sleep runs

            var used = ProcessMeter.TreeCpuSeconds(root.Id) - before;
            Assert.True(used >= 0.2, $"the tree used {used:F2} CPU seconds; yes alone used about one");
        }
        finally
        {
            root.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task A_tree_keeps_the_waits_of_a_grandchild_that_ended()
    {
        // root sh -> middle sh (stays, in tail) -> timeout -> sh: waits for a sleep a hundred times a second for 3 s,
        // then ends (the counter reads the tree every second).
        using var root = Process.Start(new ProcessStartInfo("sh")
        {
            ArgumentList = { "-c", "sh -c \"timeout 3 sh -c 'while :; do sleep 0.01; done'; tail -f /dev/null\"; true" },
        })!;
        try
        {
            using var counter = new TreeWaitCounter(root.Id);
            await Poller.UntilAsync(() => Task.FromResult(TreeRuns(root.Id, "tail")), runs => runs, "the waiting loop to end"); // then tail runs

            Assert.True(counter.Waits >= 20, $"the tree waited {counter.Waits} times; the loop alone a few hundred");
        }
        finally
        {
            root.Kill(entireProcessTree: true);
        }
    }

    /// <summary>Whether a descendant of <paramref name="root"/> runs the command <paramref name="name"/>.</summary>
    private static bool TreeRuns(int root, string name) =>
        ProcessMeter.Tree(root).Any(pid => ProcessMeter.ReadOrEmpty($"/proc/{pid}/comm").Trim() == name);
}
