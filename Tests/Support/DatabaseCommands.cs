using System.Collections.Concurrent;
using System.Diagnostics;

namespace ShopChoreography.Tests.Support;

/// <summary>
/// The commands this process sends one database from now on, as Npgsql traces them: one per round trip that
/// carries statements (a batch is one command; BEGIN travels with the first command, COMMIT is not a command).
/// </summary>
public sealed class DatabaseCommands : IDisposable
{
    private readonly ConcurrentQueue<string> _executed = new();
    private readonly ActivityListener _listener;

    public DatabaseCommands(string database)
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if ((activity.GetTagItem("db.namespace") ?? activity.GetTagItem("db.name")) as string == database
                    && (activity.GetTagItem("db.query.text") ?? activity.GetTagItem("db.statement")) is string text)
                {
                    _executed.Enqueue(text);
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public IReadOnlyList<string> Executed => [.. _executed];

    public void Dispose() => _listener.Dispose();
}
