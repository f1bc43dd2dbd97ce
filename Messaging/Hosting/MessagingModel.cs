using ShopChoreography.Messaging.Inbox;
using ShopChoreography.Messaging.Outbox;

namespace Microsoft.EntityFrameworkCore;

public static class MessagingModel
{
    /// <summary>Adds the outbox and inbox tables to a service's model; its migrations then create them.</summary>
    public static ModelBuilder AddMessagingTables(this ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<OutboxMessage>(outbox =>
        {
            outbox.ToTable(OutboxMessage.Table);
            outbox.HasKey(m => m.Sequence);
            outbox.Property(m => m.Sequence).HasColumnName("sequence").UseIdentityAlwaysColumn();
            outbox.Property(m => m.Id).HasColumnName("id");
            outbox.HasIndex(m => m.Id).IsUnique();
            outbox.Property(m => m.Topic).HasColumnName("topic").HasMaxLength(249);
            outbox.Property(m => m.Key).HasColumnName("key").HasMaxLength(256);
            outbox.Property(m => m.Type).HasColumnName("type").HasMaxLength(256);
            outbox.Property(m => m.Source).HasColumnName("source").HasMaxLength(256);
            outbox.Property(m => m.Subject).HasColumnName("subject").HasMaxLength(256);
            outbox.Property(m => m.Time).HasColumnName("time");
            outbox.Property(m => m.Data).HasColumnName("data");
            outbox.Property(m => m.TraceParent).HasColumnName("traceparent").HasMaxLength(55);
            outbox.Property(m => m.TraceState).HasColumnName("tracestate").HasMaxLength(512);
            outbox.Property(m => m.SentAt).HasColumnName("sent_at");
            outbox.Property(m => m.CausedBy).HasColumnName("caused_by").HasMaxLength(256);
            outbox.Property(m => m.Healing).HasColumnName("healing");
            outbox.Property(m => m.ParkedAt).HasColumnName("parked_at");
            outbox.Property(m => m.ParkReason).HasColumnName("park_reason").HasMaxLength(1024);
            // The dispatcher's query: unsent rows in sequence order.
            outbox.HasIndex(m => m.Sequence).HasDatabaseName("ix_outbox_messages_pending").HasFilter("sent_at IS NULL AND parked_at IS NULL");
            outbox.HasIndex(m => m.CausedBy).HasDatabaseName("ix_outbox_messages_caused_by").HasFilter("caused_by IS NOT NULL");
            outbox.HasIndex(m => m.SentAt).HasDatabaseName("ix_outbox_messages_sent_at").HasFilter("sent_at IS NOT NULL");
        });

        modelBuilder.Entity<InboxMessage>(inbox =>
        {
            inbox.ToTable(InboxMessage.Table);
            inbox.HasKey(m => new { m.Consumer, m.Source, m.EventId });
            inbox.Property(m => m.Consumer).HasColumnName("consumer").HasMaxLength(128);
            inbox.Property(m => m.Source).HasColumnName("source").HasMaxLength(256);
            inbox.Property(m => m.EventId).HasColumnName("event_id").HasMaxLength(256);
            inbox.Property(m => m.Type).HasColumnName("type").HasMaxLength(256);
            inbox.Property(m => m.ReceivedAt).HasColumnName("received_at");
            inbox.HasIndex(m => m.ReceivedAt);
        });

        return modelBuilder;
    }
}
