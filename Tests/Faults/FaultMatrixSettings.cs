namespace ShopChoreography.Tests.Faults;

/// <summary>
/// How hard the fault matrix pushes. CI runs the bounded matrix (a few minutes in all); <c>SHOP_FAULT_MATRIX=full</c>
/// runs longer outages, more orders and every fault several times.
/// </summary>
public sealed record FaultMatrixSettings
{
    public const string Variable = "SHOP_FAULT_MATRIX";

    public static readonly FaultMatrixSettings Bounded = new()
    {
        Name = "bounded",
        OrdersPerSecond = 15,
        OrdersBeforeFault = 20,
        OrdersInFlight = 60,
        Repetitions = 1,
        PostgresOutage = TimeSpan.FromSeconds(20),
        BrokerOutage = TimeSpan.FromSeconds(4),
        AllBrokersOutage = TimeSpan.FromSeconds(20),
        BurstOrdersPerSecond = 40,
        ReplicaCycles = 2,
        ReplicaStay = TimeSpan.FromSeconds(2),
        ReplicatedServices = ["payments"],
        RequestErrorsFor = TimeSpan.FromSeconds(10),
        SettleDeadline = TimeSpan.FromSeconds(60),
    };

    /// <summary>
    /// Heavier but still within what the 2-core reference machine drains (about 80 orders a second end to end):
    /// a stream faster than that would only measure the queue, not the fault.
    /// </summary>
    public static readonly FaultMatrixSettings Full = new()
    {
        Name = "full",
        OrdersPerSecond = 25,
        OrdersBeforeFault = 100,
        OrdersInFlight = 200,
        Repetitions = 3,
        PostgresOutage = TimeSpan.FromSeconds(45),
        BrokerOutage = TimeSpan.FromSeconds(10),
        AllBrokersOutage = TimeSpan.FromSeconds(45),
        BurstOrdersPerSecond = 50,
        ReplicaCycles = 6,
        ReplicaStay = TimeSpan.FromSeconds(4),
        ReplicatedServices = ["orders", "payments", "inventory"],
        RequestErrorsFor = TimeSpan.FromSeconds(45),
        SettleDeadline = TimeSpan.FromSeconds(180),
    };

    public static FaultMatrixSettings Current { get; } = Environment.GetEnvironmentVariable(Variable)?.Trim().ToLowerInvariant() switch
    {
        null or "" or "bounded" => Bounded,
        "full" => Full,
        var other => throw new InvalidOperationException($"{Variable} is '{other}'; expected 'full', 'bounded' or nothing."),
    };

    public required string Name { get; init; }

    /// <summary>The pace of the steady stream of orders that runs through every fault.</summary>
    public required double OrdersPerSecond { get; init; }

    /// <summary>Orders accepted before the first fault, so that events are in flight when it strikes.</summary>
    public required int OrdersBeforeFault { get; init; }

    /// <summary>Orders sent at once right before a crash or an outage, so that it strikes the saga mid-flight.</summary>
    public required int OrdersInFlight { get; init; }

    /// <summary>How many times each fault is applied within one test.</summary>
    public required int Repetitions { get; init; }

    /// <summary>How long PostgreSQL stays down (at least 20 s).</summary>
    public required TimeSpan PostgresOutage { get; init; }

    /// <summary>How long each broker stays down when they go down one at a time.</summary>
    public required TimeSpan BrokerOutage { get; init; }

    /// <summary>How long every broker stays down at once (at least 20 s).</summary>
    public required TimeSpan AllBrokersOutage { get; init; }

    /// <summary>The pace of the burst of orders while a second replica joins and leaves.</summary>
    public required double BurstOrdersPerSecond { get; init; }

    /// <summary>How many times the second replica joins and leaves.</summary>
    public required int ReplicaCycles { get; init; }

    /// <summary>How long the second replica stays once it owns partitions.</summary>
    public required TimeSpan ReplicaStay { get; init; }

    public required string[] ReplicatedServices { get; init; }

    /// <summary>How long the broker keeps failing produce and fetch requests.</summary>
    public required TimeSpan RequestErrorsFor { get; init; }

    /// <summary>How long after the last fault every accepted order must have settled.</summary>
    public required TimeSpan SettleDeadline { get; init; }
}
