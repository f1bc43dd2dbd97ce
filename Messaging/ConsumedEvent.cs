

namespace ShopChoreography.Messaging;

/// <summary>
/// What a handler counts only once its changes are committed: a handler's attempt can roll back and be tried again
/// (a concurrent update, an outage), so a metric recorded inside it would count that attempt too.
/// </summary>
public interface IAfterCommit
{
    /// <summary>Runs <paramref name="action"/> once the handler's transaction has committed; never for an attempt that rolled back.</summary>
    void Add(Action action);
}

/// <summary>The event being handled in this scope, so the events its handler publishes remember what caused them.</summary>
internal sealed class ConsumedEvent : IAfterCommit
{
    private List<Action>? _afterCommit;

    public EventContext? Context { get; set; }

    public void Add(Action action) => (_afterCommit ??= []).Add(action);

    public void Committed() => _afterCommit?.ForEach(action => action());
}
