using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ShopChoreography.Messaging.Database;

/// <summary>Deletes sent outbox rows and inbox records once they are older than their retention.</summary>
internal sealed class MessagingRetention<TContext>(
    IServiceProvider services, IOptions<MessagingOptions> options, TimeProvider clock, ILogger<MessagingRetention<TContext>> logger)
    : BackgroundService
    where TContext : DbContext
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Inbox.CleanupInterval, clock);
        try
        {
            do
            {
                try
                {
                    await DeleteExpiredAsync(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    logger.LogWarning(ex, "Deleting expired outbox and inbox rows failed; trying again at the next interval");
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    internal async Task DeleteExpiredAsync(CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        var now = clock.GetUtcNow();
        var sentBefore = now - options.Value.Outbox.SentRetention;
        var receivedBefore = now - options.Value.Inbox.Retention;
        var outbox = await db.Database.ExecuteSqlAsync(
            $"DELETE FROM outbox_messages WHERE sent_at < {sentBefore}", cancellationToken);
        var inbox = await db.Database.ExecuteSqlAsync(
            $"DELETE FROM inbox_messages WHERE received_at < {receivedBefore}", cancellationToken);
        if (outbox + inbox > 0)
        {
            logger.LogInformation("Deleted {Outbox} sent outbox rows and {Inbox} inbox records past their retention", outbox, inbox);
        }
    }
}
