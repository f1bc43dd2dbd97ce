using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace ShopChoreography.Messaging.Outbox;

/// <summary>
/// Raises the <see cref="OutboxSignal"/> once a DbContext that saved outbox rows has committed them: when SaveChanges
/// ends outside a transaction of the caller's (it committed on its own), or when the caller's transaction commits.
/// In process, so a commit costs the database nothing more (a NOTIFY would serialize every notifying commit of the
/// server behind one lock, held through each one's WAL flush).
/// </summary>
internal sealed class OutboxCommitInterceptor(OutboxSignal signal) : ISaveChangesInterceptor, IDbTransactionInterceptor
{
    public int SavedChanges(SaveChangesCompletedEventData eventData, int result)
    {
        RaiseIfCommitted(eventData.Context);
        return result;
    }

    public ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        RaiseIfCommitted(eventData.Context);
        return ValueTask.FromResult(result);
    }

    public void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) => RaiseIfWritten(eventData.Context);

    public Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        RaiseIfWritten(eventData.Context);
        return Task.CompletedTask;
    }

    private void RaiseIfCommitted(DbContext? db)
    {
        if (db?.Database.CurrentTransaction is null)
        {
            RaiseIfWritten(db);
        }
    }

    /// <summary>Outbox rows stay tracked after they are saved, and nothing else loads them through a DbContext.</summary>
    private void RaiseIfWritten(DbContext? db)
    {
        if (db is not null && db.ChangeTracker.Entries<OutboxMessage>().Any())
        {
            signal.Raise();
        }
    }
}
