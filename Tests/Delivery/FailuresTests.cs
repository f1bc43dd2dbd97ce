using System.Net.Sockets;
using Confluent.Kafka;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using ShopChoreography.Messaging;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Delivery;

public sealed class FailuresTests
{
    [Fact]
    public async Task A_refused_database_connection_seen_through_EF_Core_is_transient()
    {
        using var unused = new TcpListener(System.Net.IPAddress.Loopback, 0);
        unused.Start();
        var closedPort = ((System.Net.IPEndPoint)unused.LocalEndpoint).Port;
        unused.Stop();
        await using var db = new ProbeDbContext(new DbContextOptionsBuilder<ProbeDbContext>()
            .UseNpgsql($"Host=127.0.0.1;Port={closedPort};Username=x;Database=x;Timeout=2").Options);

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => db.Applied.AnyAsync());

        Assert.Equal(FailureKind.Transient, Failures.Classify(failure));
    }

    public static TheoryData<Exception, FailureKind> Causes => new()
    {
        { new InvalidOperationException("An exception has been raised that is likely due to a transient failure.",
            new NpgsqlException("Exception while reading from stream", new IOException("closed"))), FailureKind.Transient },
        { new NpgsqlException("Failed to connect", new SocketException((int)SocketError.ConnectionRefused)), FailureKind.Transient },
        { Postgres(PostgresErrorCodes.SerializationFailure), FailureKind.Transient },
        { Postgres(PostgresErrorCodes.DeadlockDetected), FailureKind.Transient },
        { Postgres(PostgresErrorCodes.AdminShutdown), FailureKind.Transient },
        { Postgres(PostgresErrorCodes.CannotConnectNow), FailureKind.Transient },
        { new DbUpdateException("save failed", Postgres(PostgresErrorCodes.SerializationFailure)), FailureKind.Transient },
        { new TimeoutException(), FailureKind.Transient },
        { new KafkaException(ErrorCode.BrokerNotAvailable), FailureKind.Transient },
        { new KafkaException(ErrorCode.Local_AllBrokersDown), FailureKind.Transient },
        { new AggregateException(new InvalidOperationException("first"), new KafkaException(ErrorCode.Local_Transport)), FailureKind.Transient },
        { Postgres(PostgresErrorCodes.CharacterNotInRepertoire), FailureKind.InvalidData },
        { new DbUpdateException("save failed", Postgres(PostgresErrorCodes.NumericValueOutOfRange)), FailureKind.InvalidData },
        { new KafkaException(new Error(ErrorCode.Local_Fatal, "fenced", isFatal: true)), FailureKind.Unexpected },
        { Postgres(PostgresErrorCodes.UniqueViolation), FailureKind.Unexpected },
        { new InvalidOperationException("a bug"), FailureKind.Unexpected },
        { new NullReferenceException(), FailureKind.Unexpected },
    };

    [Theory]
    [MemberData(nameof(Causes))]
    public void A_failure_is_classified_by_its_cause_not_by_the_type_that_reached_the_consumer(Exception failure, FailureKind expected) =>
        Assert.Equal(expected, Failures.Classify(failure));

    private static PostgresException Postgres(string sqlState) => new("message", "ERROR", "ERROR", sqlState);
}
