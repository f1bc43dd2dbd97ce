using System.Net.Sockets;
using Confluent.Kafka;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace ShopChoreography.Messaging;

public enum FailureKind
{
    /// <summary>The infrastructure is unavailable or contended (lost connection, timeout, deadlock): wait and try again.</summary>
    Transient,

    /// <summary>The data itself can never be stored (PostgreSQL data exceptions, text it cannot encode): no retry helps.</summary>
    InvalidData,

    /// <summary>Anything else: retried within a budget, as long as the infrastructure answers.</summary>
    Unexpected,
}

/// <summary>
/// Classifies a failure by what caused it, not by the type that reached us: EF Core reports a lost connection as an
/// <see cref="InvalidOperationException"/> ("likely due to a transient failure") around the <see cref="NpgsqlException"/>,
/// and Npgsql wraps socket errors, so every inner exception is looked at.
/// </summary>
public static class Failures
{
    private static readonly HashSet<string> TransientSqlStates =
    [
        PostgresErrorCodes.SerializationFailure, PostgresErrorCodes.DeadlockDetected, PostgresErrorCodes.LockNotAvailable,
        PostgresErrorCodes.AdminShutdown, PostgresErrorCodes.CrashShutdown, PostgresErrorCodes.CannotConnectNow,
        PostgresErrorCodes.TooManyConnections, PostgresErrorCodes.QueryCanceled,
    ];

    private static readonly HashSet<ErrorCode> TransientKafkaErrors =
    [
        ErrorCode.Local_Transport, ErrorCode.Local_AllBrokersDown, ErrorCode.Local_TimedOut, ErrorCode.Local_MsgTimedOut,
        ErrorCode.Local_TimedOutQueue, ErrorCode.Local_WaitCoord, ErrorCode.Local_Retry, ErrorCode.Local_Outdated,
        ErrorCode.BrokerNotAvailable, ErrorCode.LeaderNotAvailable, ErrorCode.NotLeaderForPartition, ErrorCode.RequestTimedOut,
        ErrorCode.NetworkException, ErrorCode.NotEnoughReplicas, ErrorCode.NotEnoughReplicasAfterAppend,
        ErrorCode.NotCoordinatorForGroup, ErrorCode.GroupLoadInProgress, ErrorCode.GroupCoordinatorNotAvailable,
        ErrorCode.KafkaStorageError, ErrorCode.FencedLeaderEpoch, ErrorCode.UnknownLeaderEpoch, ErrorCode.OffsetNotAvailable,
        ErrorCode.ThrottlingQuotaExceeded,
    ];

    public static FailureKind Classify(Exception exception)
    {
        foreach (var cause in CausesOf(exception))
        {
            if (IsTransientCause(cause))
            {
                return FailureKind.Transient;
            }

            if (IsInvalidDataCause(cause))
            {
                return FailureKind.InvalidData;
            }
        }

        return FailureKind.Unexpected;
    }

    public static bool IsTransient(Exception exception) => Classify(exception) == FailureKind.Transient;

    private static bool IsTransientCause(Exception cause) => cause switch
    {
        PostgresException postgres => postgres.IsTransient || TransientSqlStates.Contains(postgres.SqlState)
                                      || postgres.SqlState.StartsWith("08", StringComparison.Ordinal), // connection exceptions
        NpgsqlException npgsql => npgsql.IsTransient,
        DbUpdateConcurrencyException => true,
        KafkaException kafka => !kafka.Error.IsFatal && TransientKafkaErrors.Contains(kafka.Error.Code),
        TimeoutException or SocketException or IOException => true,
        _ => false,
    };

    /// <summary>Class 22 is PostgreSQL's "data exception" (bad encoding, value out of range, invalid text).</summary>
    private static bool IsInvalidDataCause(Exception cause) => cause switch
    {
        PostgresException postgres => postgres.SqlState.StartsWith("22", StringComparison.Ordinal),
        System.Text.EncoderFallbackException or System.Text.DecoderFallbackException => true,
        _ => false,
    };

    private static IEnumerable<Exception> CausesOf(Exception exception)
    {
        var pending = new Stack<Exception>([exception]);
        while (pending.TryPop(out var cause))
        {
            yield return cause;
            if (cause is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions)
                {
                    pending.Push(inner);
                }
            }
            else if (cause.InnerException is { } inner)
            {
                pending.Push(inner);
            }
        }
    }
}
