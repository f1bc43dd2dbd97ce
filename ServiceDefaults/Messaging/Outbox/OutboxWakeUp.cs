using Microsoft.EntityFrameworkCore.Migrations;

namespace ShopChoreography.ServiceDefaults.Messaging.Outbox;

/// <summary>
/// The NOTIFY channel on which the leading dispatcher hears about rows it did not see commit in its own process: rows
/// committed on standby replicas (forwarded by their dispatchers) and rows marked to heal.
/// </summary>
public static class OutboxWakeUp
{
    public const string Channel = "shop_outbox";

    /// <summary>
    /// The trigger the outbox woke its dispatcher with until <c>OutboxWakesInProcess</c>: it put a NOTIFY in every
    /// writer's transaction, and PostgreSQL commits notifying transactions one at a time, server-wide, each holding a
    /// lock through its WAL flush. Kept for the migrations that add and drop it.
    /// </summary>
    private const string CreateTriggerSql = $"""
        CREATE OR REPLACE FUNCTION outbox_messages_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{Channel}', '');
            RETURN NULL;
        END $$;
        CREATE OR REPLACE TRIGGER outbox_messages_notify AFTER INSERT ON outbox_messages
            FOR EACH STATEMENT EXECUTE FUNCTION outbox_messages_notify();
        """;

    private const string DropTriggerSql = """
        DROP TRIGGER IF EXISTS outbox_messages_notify ON outbox_messages;
        DROP FUNCTION IF EXISTS outbox_messages_notify();
        """;

    public static void AddOutboxWakeUpTrigger(this MigrationBuilder migrationBuilder) => migrationBuilder.Sql(CreateTriggerSql);

    public static void DropOutboxWakeUpTrigger(this MigrationBuilder migrationBuilder) => migrationBuilder.Sql(DropTriggerSql);
}
