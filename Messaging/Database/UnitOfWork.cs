using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace Microsoft.EntityFrameworkCore;

public static class UnitOfWork
{
    /// <summary>
    /// Begins a transaction in which SaveChanges sets no savepoints. EF Core wraps each save inside a user transaction
    /// in a savepoint (two more round trips) so that the transaction stays usable after a failed save; our callers
    /// never go on after one: the whole transaction is rolled back and retried.
    /// </summary>
    public static Task<IDbContextTransaction> BeginUnitOfWorkAsync(this DatabaseFacade database, CancellationToken cancellationToken)
    {
        database.AutoSavepointsEnabled = false;
        return database.BeginTransactionAsync(cancellationToken);
    }
}
