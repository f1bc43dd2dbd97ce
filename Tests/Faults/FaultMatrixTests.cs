using System.Diagnostics;
using Confluent.Kafka;
using ShopChoreography.AppHost.Infrastructure.Kafka;
using ShopChoreography.Contracts;
using ShopChoreography.Tests.Support;
using Xunit.Abstractions;

namespace ShopChoreography.Tests.Faults;

/// <summary>
/// The fault matrix has a running system of its own: it kills services and PostgreSQL, takes brokers down and writes
/// poison to the topics, none of which may disturb the other distributed tests.
/// </summary>
[CollectionDefinition(Name)]
public sealed class FaultMatrixCollection : ICollectionFixture<DistributedAppFixture>
{
    public const string Name = "Fault matrix";
}

/// <summary>
/// The saga under faults. Each test runs a steady stream of orders of every outcome (completed; cancelled for
/// insufficient funds; for an unknown customer; out of stock, then refunded) on accounts and SKUs of its own, applies
/// one fault while events are in flight, and then checks exactly: every accepted order settles as its kind dictates,
/// none is charged, reserved or refunded twice, money and stock are conserved, and nothing but the test's own poison
/// reaches a dead-letter topic. <c>SHOP_FAULT_MATRIX=full</c> runs longer outages, more orders and repetitions.
/// </summary>
[Trait("Category", "Distributed")]
[Collection(FaultMatrixCollection.Name)]
public sealed class FaultMatrixTests(DistributedAppFixture fixture, ITestOutputHelper output) : IDisposable
{
    private static readonly FaultMatrixSettings Settings = FaultMatrixSettings.Current;

    /// <summary>Retriable produce errors a real broker sends during leader changes and overload, and dropped connections.</summary>
    private static readonly ErrorCode[] ProduceErrors =
        [ErrorCode.NotLeaderForPartition, ErrorCode.RequestTimedOut, ErrorCode.NotEnoughReplicas, ErrorCode.KafkaStorageError, ErrorCode.Local_Transport];

    private static readonly ErrorCode[] FetchErrors =
        [ErrorCode.NotLeaderForPartition, ErrorCode.KafkaStorageError, ErrorCode.Local_Transport, ErrorCode.NotLeaderForPartition];

    /// <summary>
    /// The extra replicas pause a partition once 8 of its records are waiting (the services' default is 200), so that
    /// under the burst the group rebalances while partitions are paused by back-pressure.
    /// </summary>
    private static readonly Dictionary<string, string> ReplicaSettings = new()
    {
        ["Messaging__Consumer__MaxInFlightPerPartition"] = "8",
    };

    private readonly Shop _shop = new(fixture);
    private readonly FaultDrills _drills = new(fixture);

    public static TheoryData<string> Services => [.. DistributedAppFixture.Services];

    public static TheoryData<string> ReplicatedServices => [.. Settings.ReplicatedServices];

    public void Dispose() => _shop.Dispose();

    [Theory]
    [MemberData(nameof(Services))]
    public Task Orders_settle_exactly_once_when_a_service_is_SIGKILLed_and_started_again(string service) =>
        UnderFaultAsync($"{service} SIGKILLed and started again ({Settings.Repetitions}x)", Settings.OrdersPerSecond, async run =>
        {
            for (var kill = 1; kill <= Settings.Repetitions; kill++)
            {
                await run.MidBurstAsync(() => _drills.KillServiceAsync(service));
                await _drills.StartAsync(service);
                run.FaultEnded();
                await _drills.WaitUntilHealthyAsync(service);
                if (kill < Settings.Repetitions)
                {
                    await run.Stream.WaitUntilAcceptedAsync(run.Stream.AcceptedCount + Settings.OrdersBeforeFault);
                }
            }
        });

    [Fact]
    public Task Orders_settle_exactly_once_when_PostgreSQL_is_SIGKILLed_and_stays_down_for_at_least_20_seconds() =>
        UnderFaultAsync($"PostgreSQL SIGKILLed and down {Settings.PostgresOutage.TotalSeconds:0} s ({Settings.Repetitions}x)", Settings.OrdersPerSecond,
            async run =>
            {
                for (var outage = 1; outage <= Settings.Repetitions; outage++)
                {
                    var down = await run.MidBurstAsync(_drills.KillPostgresAsync);
                    await HoldAsync(down, Settings.PostgresOutage);
                    await _drills.StartAsync(FaultDrills.Postgres);
                    run.FaultEnded();
                    await _drills.WaitUntilHealthyAsync([FaultDrills.Postgres, .. DistributedAppFixture.Services]);
                    if (outage < Settings.Repetitions)
                    {
                        await run.Stream.WaitUntilAcceptedAsync(run.Stream.AcceptedCount + Settings.OrdersBeforeFault);
                    }
                }
            });

    [Fact]
    public Task Orders_settle_exactly_once_when_one_broker_at_a_time_goes_down() =>
        UnderFaultAsync($"each broker down in turn for {Settings.BrokerOutage.TotalSeconds:0} s ({Settings.Repetitions}x)", Settings.OrdersPerSecond,
            async run =>
            {
                for (var round = 1; round <= Settings.Repetitions; round++)
                {
                    for (var broker = 1; broker <= _drills.Kafka.BrokerCount; broker++)
                    {
                        var down = await run.MidBurstAsync(() => _drills.Kafka.SetBrokerDown(broker));
                        try
                        {
                            await HoldAsync(down, Settings.BrokerOutage);
                        }
                        finally
                        {
                            _drills.Kafka.SetBrokerUp(broker);
                        }
                    }
                }
            });

    [Fact]
    public Task Orders_settle_exactly_once_when_every_broker_is_down_for_at_least_20_seconds() =>
        UnderFaultAsync($"every broker down {Settings.AllBrokersOutage.TotalSeconds:0} s ({Settings.Repetitions}x)", Settings.OrdersPerSecond,
            async run =>
            {
                for (var outage = 1; outage <= Settings.Repetitions; outage++)
                {
                    var down = await run.MidBurstAsync(() =>
                    {
                        for (var broker = 1; broker <= _drills.Kafka.BrokerCount; broker++)
                        {
                            _drills.Kafka.SetBrokerDown(broker);
                        }
                    });
                    try
                    {
                        await HoldAsync(down, Settings.AllBrokersOutage);
                    }
                    finally
                    {
                        _drills.Kafka.SetAllBrokersUp();
                    }

                    if (outage < Settings.Repetitions)
                    {
                        await run.Stream.WaitUntilAcceptedAsync(run.Stream.AcceptedCount + Settings.OrdersBeforeFault);
                    }
                }
            });

    /// <summary>
    /// Replicas come and go one after another, at most two beside the one Aspire runs: each new replica joins, then
    /// the oldest leaves (gracefully and by crashing in turn). Every join and leave rebalances the group, and every
    /// rebalance revokes and reassigns the partitions of a replica that is still running with partitions paused.
    /// </summary>
    [Theory]
    [MemberData(nameof(ReplicatedServices))]
    public Task Orders_settle_exactly_once_when_replicas_join_and_leave_during_a_burst(string service) =>
        UnderFaultAsync($"{service} replicas joining and leaving {Settings.ReplicaCycles}x during a burst of {Settings.BurstOrdersPerSecond:0} orders/s",
            Settings.BurstOrdersPerSecond, async run =>
            {
                var replicas = new Queue<ServiceReplica>();
                var (rebalances, departures) = (0, 0);
                try
                {
                    for (var join = 1; join <= Settings.ReplicaCycles; join++)
                    {
                        var assignedBefore = Assignments(replicas);
                        var joining = await ServiceReplica.StartAsync(_drills, service, ReplicaSettings);
                        await joining.WaitUntilAssignedAsync();
                        rebalances += await ReassignedAsync(assignedBefore);
                        replicas.Enqueue(joining);
                        await HoldAsync(Stopwatch.StartNew(), Settings.ReplicaStay);
                        if (replicas.Count == 2)
                        {
                            rebalances += await LeaveAsync(replicas, crash: ++departures % 2 == 0);
                        }
                    }

                    while (replicas.Count > 0)
                    {
                        rebalances += await LeaveAsync(replicas, crash: ++departures % 2 == 0);
                    }
                }
                finally
                {
                    foreach (var replica in replicas)
                    {
                        await replica.DisposeAsync();
                    }
                }

                run.Audit.Note($"{Settings.ReplicaCycles} replicas joined and {departures} left ({departures / 2} by crashing) while orders poured in; " +
                               $"running replicas saw {rebalances} more rebalances");
            });

    [Fact]
    public Task Orders_settle_exactly_once_when_events_are_delivered_twice_and_poison_lands_on_every_topic() =>
        UnderFaultAsync($"every event delivered a second time (in {Settings.Repetitions + 1} rounds) and poison on every partition of every event topic",
            Settings.OrdersPerSecond, async run =>
            {
                using var replay = new EventReplay(fixture.KafkaCluster.BootstrapServers);
                var poison = await replay.InjectPoisonAsync(Topics.Partitions);
                run.Audit.ExpectPoison(poison);
                var copies = 0;
                for (var replayed = 1; replayed <= Settings.Repetitions; replayed++)
                {
                    copies += await replay.DeliverAgainAsync([.. run.Stream.Accepted.Select(o => o.OrderId)]);
                    await run.Stream.WaitUntilAcceptedAsync(run.Stream.AcceptedCount + Settings.OrdersBeforeFault);
                }

                copies += await replay.DeliverAgainAsync([.. run.Stream.Accepted.Select(o => o.OrderId)]);
                run.Audit.Note($"{copies} real events delivered a second time; {poison.Count} poison records written");
            });

    [Fact]
    public Task Orders_settle_exactly_once_when_the_broker_fails_produce_and_fetch_requests() =>
        UnderFaultAsync($"the broker failing produce and fetch requests for {Settings.RequestErrorsFor.TotalSeconds:0} s", Settings.OrdersPerSecond,
            async run =>
            {
                var failing = Stopwatch.StartNew();
                var pushed = 0;
                using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
                try
                {
                    while (failing.Elapsed < Settings.RequestErrorsFor && await pace.WaitForNextTickAsync())
                    {
                        _drills.Kafka.FailNextRequests(KafkaRequest.Produce, ProduceErrors);
                        _drills.Kafka.FailNextRequests(KafkaRequest.Fetch, FetchErrors);
                        pushed += ProduceErrors.Length + FetchErrors.Length;
                    }
                }
                finally
                {
                    _drills.Kafka.ClearRequestErrors(KafkaRequest.Produce);
                    _drills.Kafka.ClearRequestErrors(KafkaRequest.Fetch);
                }

                run.Audit.Note($"{pushed} request errors pushed (produce: {string.Join(", ", ProduceErrors)}; fetch: {string.Join(", ", FetchErrors)})");
            });

    /// <summary>
    /// The shape of every fault test: a healthy system, a stream of orders with events in flight, the fault, the end
    /// of the fault, then the audit of everything the stream placed.
    /// </summary>
    private async Task UnderFaultAsync(string fault, double ordersPerSecond, Func<FaultRun, Task> applyFault)
    {
        await _drills.RestoreAsync();
        await _drills.WaitUntilCaughtUpAsync(Settings.SettleDeadline);
        var test = $"{fault} [{Settings.Name} matrix]";
        var audit = SettlementAudit.Begin(fixture, _shop, test);
        await using var stream = await OrderStream.StartAsync(_shop, test, ordersPerSecond);
        await stream.WaitUntilAcceptedAsync(Settings.OrdersBeforeFault);
        var run = new FaultRun(stream, audit, Settings.OrdersInFlight);
        DateTime faultEnded;
        try
        {
            await applyFault(run);
            faultEnded = run.EndedAt ?? DateTime.UtcNow;
            await stream.StopAsync(faultEnded + Settings.SettleDeadline);
        }
        catch (TimeoutException ex)
        {
            // Something the fault waits for never happened (a restart, a rebalance): what the services logged last says why.
            var logs = new System.Text.StringBuilder(ex.Message);
            foreach (var service in DistributedAppFixture.Services)
            {
                logs.AppendLine().AppendLine($"Last lines logged by {service}:").AppendLine(await _drills.RecentLogAsync(service));
            }

            throw new TimeoutException(logs.ToString(), ex);
        }
        finally
        {
            await _drills.RestoreAsync();
        }

        await audit.VerifyAsync(stream, faultEnded, Settings.SettleDeadline, output);
    }

    /// <summary>The oldest replica leaves; returns once the group has given the remaining ones partitions again.</summary>
    private static async Task<int> LeaveAsync(Queue<ServiceReplica> replicas, bool crash)
    {
        await using var leaving = replicas.Dequeue();
        var assignedBefore = Assignments(replicas);
        if (crash)
        {
            await leaving.CrashAsync();
        }
        else
        {
            await leaving.LeaveAsync();
        }

        return await ReassignedAsync(assignedBefore);
    }

    /// <summary>How many assignments each running replica has had so far: taken before a join or leave is set off.</summary>
    private static List<(ServiceReplica Replica, int Assignments)> Assignments(IEnumerable<ServiceReplica> running) =>
        [.. running.Select(replica => (replica, replica.Assignments))];

    /// <summary>Waits until each replica has been assigned partitions again since then; returns how many replicas were.</summary>
    private static async Task<int> ReassignedAsync(List<(ServiceReplica Replica, int Assignments)> before)
    {
        foreach (var (replica, assignments) in before)
        {
            await replica.WaitUntilAssignedAsync(assignments + 1);
        }

        return before.Count;
    }

    /// <summary>Keeps a fault in place for its whole duration: how long an outage lasts, not a wait for something to happen.</summary>
    private static async Task HoldAsync(Stopwatch since, TimeSpan duration)
    {
        if (duration - since.Elapsed is { Ticks: > 0 } left)
        {
            await Task.Delay(left);
        }
    }

    private sealed class FaultRun(OrderStream stream, SettlementAudit audit, int burst)
    {
        public OrderStream Stream { get; } = stream;

        public SettlementAudit Audit { get; } = audit;

        /// <summary>When the last fault was taken away; the stream runs on until the fault's code returns.</summary>
        public DateTime? EndedAt { get; private set; }

        /// <summary>
        /// Marks the fault as taken away (a resource started again) while the stream keeps running through the
        /// recovery; without it the fault ends when the fault's code returns.
        /// </summary>
        public void FaultEnded() => EndedAt = DateTime.UtcNow;

        /// <summary>
        /// Strikes in the middle of a burst of orders: once half of the burst is accepted, while the saga's events for
        /// those orders are in flight and the other half is still being sent. Returns, when the whole burst has been
        /// sent, a stopwatch started the moment the strike was done.
        /// </summary>
        public async Task<Stopwatch> MidBurstAsync(Func<Task> strike)
        {
            var acceptedBefore = Stream.AcceptedCount;
            var sending = Stream.BurstAsync(burst);
            await Stream.WaitUntilAcceptedAsync(acceptedBefore + burst / 2);
            await strike();
            var sinceStrike = Stopwatch.StartNew();
            await sending;
            return sinceStrike;
        }

        public Task<Stopwatch> MidBurstAsync(Action strike) => MidBurstAsync(() =>
        {
            strike();
            return Task.CompletedTask;
        });
    }
}
