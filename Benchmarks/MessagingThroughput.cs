using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using ShopChoreography.AppHost.Infrastructure.Kafka;
using ShopChoreography.Messaging.Outbox;

namespace ShopChoreography.Benchmarks;

/// <summary>
/// The two halves of every saga step: outbox -> Kafka (committed events published and marked sent per second) and
/// Kafka -> inbox + handler (events consumed and applied, one transaction each, per second).
/// </summary>
public static class MessagingThroughput
{
    private const int Partitions = 12;
    private const int EventsPerTransaction = 500;

    public static async Task RunAsync(DistributedApplication app, int events)
    {
        var kafka = (await app.GetConnectionStringAsync("kafka"))!;
        var server = (await app.GetConnectionStringAsync("postgres"))!;
        var topic = $"bench-{Guid.NewGuid():N}";
        app.Services.GetRequiredService<DistributedApplicationModel>().Resources.OfType<KafkaMockResource>().Single()
            .Cluster!.CreateTopic(topic, Partitions, replicationFactor: 3);

        var publisherDb = await CreateDatabaseAsync(server, "bench_publisher");
        using var publisher = BenchService.Create(kafka, publisherDb, "bench-publisher", topic, consumes: false);
        var payload = new string('x', 200);
        for (var written = 0; written < events; written += EventsPerTransaction)
        {
            await using var scope = publisher.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<BenchDbContext>();
            var outbox = scope.ServiceProvider.GetRequiredService<IEventPublisher>();
            for (var i = written; i < Math.Min(events, written + EventsPerTransaction); i++)
            {
                outbox.Publish(new BenchEvent($"order-{i % 1000}", i, payload));
            }

            await db.SaveChangesAsync();
        }

        var publishing = Stopwatch.StartNew();
        await publisher.StartAsync();
        await Database.WaitUntilAsync(publisherDb, "SELECT count(*) FROM outbox_messages WHERE sent_at IS NULL", count => count == 0);
        publishing.Stop();
        await publisher.StopAsync();
        Report("outbox -> Kafka (published, acks=all, marked sent)", events, publishing.Elapsed);

        var consumerDb = await CreateDatabaseAsync(server, "bench_consumer");
        using var consumer = BenchService.Create(kafka, consumerDb, $"bench-consumer-{Guid.NewGuid():N}", topic, consumes: true);
        var consuming = Stopwatch.StartNew();
        await consumer.StartAsync();
        await Database.WaitUntilAsync(consumerDb, "SELECT count(*) FROM applied", count => count > 0);
        var groupJoined = consuming.Elapsed;
        await Database.WaitUntilAsync(consumerDb, "SELECT count(*) FROM applied", count => count == events);
        consuming.Stop();
        await consumer.StopAsync();
        Report($"Kafka -> inbox + handler (one transaction per event, {Partitions} partitions, from start)", events, consuming.Elapsed);
        Report($"Kafka -> inbox + handler (after the consumer group join, which took {groupJoined.TotalSeconds:F1} s)",
            events, consuming.Elapsed - groupJoined);
    }

    private static void Report(string what, int count, TimeSpan elapsed) =>
        Console.WriteLine($"{what}: {count:N0} events in {elapsed.TotalSeconds:F2} s = {count / elapsed.TotalSeconds:N0} events/s");

    private static async Task<string> CreateDatabaseAsync(string server, string name)
    {
        var connectionString = await Database.CreateAsync(server, name);
        await using var db = new BenchDbContext(new DbContextOptionsBuilder<BenchDbContext>().UseNpgsql(connectionString).Options);
        await db.Database.EnsureCreatedAsync();
        return connectionString;
    }
}

internal static class Database
{
    /// <summary>A new, empty database on the server (a fresh name each run); returns its connection string.</summary>
    public static async Task<string> CreateAsync(string server, string name)
    {
        var database = $"{name}_{Guid.NewGuid():N}";
        await using var connection = new NpgsqlConnection(server);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE \"{database}\"", connection);
        await create.ExecuteNonQueryAsync();
        return $"{server};Database={database}";
    }

    public static async Task WaitUntilAsync(string connectionString, string countQuery, Func<long, bool> done)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(10);
        while (DateTime.UtcNow < deadline)
        {
            await using var query = new NpgsqlCommand(countQuery, connection);
            if (done((long)(await query.ExecuteScalarAsync())!))
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"'{countQuery}' did not reach its target within 10 minutes.");
    }
}
