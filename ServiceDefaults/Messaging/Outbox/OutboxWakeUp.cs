using Microsoft.EntityFrameworkCore.Migrations;

namespace ShopChoreography.ServiceDefaults.Messaging.Outbox;

/// <summary>
/// Wakes the dispatcher as soon as outbox rows commit: a statement trigger on the outbox table sends a PostgreSQL
/// NOTIFY, which the server delivers only when (and if) the inserting transaction commits, once per transaction.
/// Being part of the insert, it costs the writer no round trip of its own.
/// </summary>
public static class OutboxWakeUp
{
    public const string Channel = "shop_outbox";

    public const string CreateTriggerSql = $"""
        CREATE OR REPLACE FUNCTION outbox_messages_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{Channel}', '');
            RETURN NULL;
        END $$;
        CREATE OR REPLACE TRIGGER outbox_messages_notify AFTER INSERT ON outbox_messages
            FOR EACH STATEMENT EXECUTE FUNCTION outbox_messages_notify();
        """;

    public const string DropTriggerSql = """
        DROP TRIGGER IF EXISTS outbox_messages_notify ON outbox_messages;
        DROP FUNCTION IF EXISTS outbox_messages_notify();
        """;

    /// <summary>For a service's migration: EF Core's model has no triggers, so the migration adds it in SQL.</summary>
    public static void AddOutboxWakeUpTrigger(this MigrationBuilder migrationBuilder) => migrationBuilder.Sql(CreateTriggerSql);

    public static void DropOutboxWakeUpTrigger(this MigrationBuilder migrationBuilder) => migrationBuilder.Sql(DropTriggerSql);
}
