using Microsoft.Extensions.DependencyInjection;
using ShopChoreography.Messaging.Consumers;
using ShopChoreography.Messaging.Outbox;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Delivery;

[Trait("Category", "Distributed")]
[Collection(DistributedAppCollection.Name)]
public sealed class DeliveryGuaranteeTests(DistributedAppFixture fixture)
{
    [Fact]
    public async Task Per_key_order_holds_with_two_dispatcher_replicas_and_two_consumers_in_one_group()
    {
        const int keys = 6;
        const int eventsPerKey = 30;
        var topic = fixture.CreateTopic("order", partitions: 4);
        var publisherDb = await ProbeService.CreateDatabaseAsync(fixture);
        var consumerDb = await ProbeService.CreateDatabaseAsync(fixture);
        var group = $"probe-order-{Guid.NewGuid():N}";
        await using var publisherA = await ProbeService.CreateAsync(fixture, publisherDb, "probe-order-publisher", topic, consumes: false);
        await using var publisherB = await ProbeService.CreateAsync(fixture, publisherDb, "probe-order-publisher", topic, consumes: false);
        await using var consumerA = await ProbeService.CreateAsync(fixture, consumerDb, group, topic, consumes: true);
        await using var consumerB = await ProbeService.CreateAsync(fixture, consumerDb, group, topic, consumes: true);
        await Task.WhenAll(publisherA.StartAsync(), publisherB.StartAsync(), consumerA.StartAsync());
        await Poller.UntilAsync(() => Task.FromResult(Assignment(consumerA)), owned => owned == 4, "the first consumer to own every partition");
        await consumerB.StartAsync();
        await Poller.UntilAsync(() => Task.FromResult((Assignment(consumerA), Assignment(consumerB))), owned => owned == (2, 2),
            "the group to share the partitions", TimeSpan.FromSeconds(60));

        // Both replicas write; halfway through, the active dispatcher's replica stops and the other takes over.
        await PublishAsync(publisherA, publisherB, keys, sequences: Enumerable.Range(1, eventsPerKey / 2));
        var active = await Poller.UntilAsync(() => Task.FromResult(Active(publisherA, publisherB)), a => a is not null, "a dispatcher to be active");
        var survivor = active == publisherA ? publisherB : publisherA;
        await active!.Host.StopAsync();
        await PublishAsync(survivor, survivor, keys, sequences: Enumerable.Range(eventsPerKey / 2 + 1, eventsPerKey / 2));

        var applied = await Poller.UntilAsync(consumerA.AppliedAsync, rows => rows.Count >= keys * eventsPerKey,
            "every event to be applied", TimeSpan.FromSeconds(60));
        Assert.Equal(keys * eventsPerKey, applied.Count);
        foreach (var key in applied.GroupBy(a => a.Key))
        {
            Assert.Equal(Enumerable.Range(1, eventsPerKey), key.Select(a => a.Sequence));
        }
    }

    [Fact]
    public async Task Nothing_is_lost_while_every_broker_is_down_and_all_is_delivered_once_they_are_back()
    {
        var topic = fixture.CreateTopic("outage", partitions: 4);
        await using var service = await ProbeService.CreateAsync(fixture, await ProbeService.CreateDatabaseAsync(fixture),
            $"probe-outage-{Guid.NewGuid():N}", topic, consumes: true);
        await service.StartAsync();
        var warmUp = Assert.Single(await service.PublishAsync(commit: true, new ProbeEvent("warm-up", 0)));
        await Poller.UntilAsync(service.AppliedAsync, rows => rows.Any(r => r.EventId == warmUp.Id), "the consumer to be running");

        var cluster = fixture.KafkaCluster;
        var published = new List<PublishedEvent>();
        try
        {
            for (var broker = 1; broker <= cluster.BrokerCount; broker++)
            {
                cluster.SetBrokerDown(broker);
            }

            for (var sequence = 1; sequence <= 20; sequence++)
            {
                published.AddRange(await service.PublishAsync(commit: true, new ProbeEvent($"key-{sequence % 5}", sequence)));
            }

            await Task.Delay(TimeSpan.FromSeconds(3)); // the outage itself: how long the brokers stay down
        }
        finally
        {
            cluster.SetAllBrokersUp();
        }

        var applied = await Poller.UntilAsync(service.AppliedAsync, rows => rows.Count >= 21, "every event to be applied",
            TimeSpan.FromSeconds(90));
        Assert.Equal(published.Select(p => p.Id).Append(warmUp.Id).Order(), applied.Select(a => a.EventId).Order());
    }

    private static int Assignment(ProbeService consumer) =>
        consumer.Services.GetRequiredService<ConsumerHost<ProbeDbContext>>().Assignment.Count;

    private static ProbeService? Active(params ProbeService[] replicas) =>
        replicas.SingleOrDefault(r => r.Services.GetRequiredService<OutboxDispatcher<ProbeDbContext>>().IsActive);

    private static Task PublishAsync(ProbeService first, ProbeService second, int keys, IEnumerable<int> sequences) =>
        Task.WhenAll(Enumerable.Range(0, keys).Select(async key =>
        {
            foreach (var sequence in sequences)
            {
                var replica = sequence % 2 == 0 ? first : second;
                await replica.PublishAsync(commit: true, new ProbeEvent($"key-{key}", sequence));
            }
        }));
}
