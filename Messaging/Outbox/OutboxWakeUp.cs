namespace ShopChoreography.Messaging.Outbox;

/// <summary>
/// The NOTIFY channel on which the leading dispatcher hears about rows it did not see commit in its own process: rows
/// committed on standby replicas (forwarded by their dispatchers) and rows marked to heal.
/// </summary>
public static class OutboxWakeUp
{
    public const string Channel = "shop_outbox";
}
