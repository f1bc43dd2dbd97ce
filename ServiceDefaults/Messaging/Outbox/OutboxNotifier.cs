using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace ShopChoreography.ServiceDefaults.Messaging.Outbox;

/// <summary>
/// Wakes the dispatcher as soon as outbox rows commit: after a SaveChanges that added rows it sends a PostgreSQL
/// NOTIFY, which the server delivers only when (and if) the surrounding transaction commits.
/// </summary>
internal sealed class OutboxNotifier : SaveChangesInterceptor
{
    public const string Channel = "shop_outbox";

    /// <summary>Contexts whose current SaveChanges adds outbox rows (pooled contexts are reused, so this is per save).</summary>
    private readonly ConditionalWeakTable<DbContext, object> _addingOutboxRows = [];

    public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData,
        InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        if (eventData.Context is { } context &&
            context.ChangeTracker.Entries<OutboxMessage>().Any(entry => entry.State == EntityState.Added))
        {
            _addingOutboxRows.AddOrUpdate(context, this);
        }

        return ValueTask.FromResult(result);
    }

    public override async ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result,
        CancellationToken cancellationToken = default)
    {
        if (eventData.Context is { } context && _addingOutboxRows.Remove(context))
        {
            await context.Database.ExecuteSqlRawAsync($"NOTIFY {Channel}", cancellationToken);
        }

        return result;
    }

    public override Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        if (eventData.Context is { } context)
        {
            _addingOutboxRows.Remove(context);
        }

        return Task.CompletedTask;
    }
}
