using System.Text;
using ShopChoreography.Contracts;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Operations;

/// <summary>The spans of one order's trace, as the services exported them, and the checks every such trace passes.</summary>
public sealed class OrderTrace
{
    public const string MessagingScope = "ShopChoreography.Messaging";
    public const string DatabaseScope = "Npgsql";

    /// <summary>Which services consume each topic: every event on it gets a process span in each of them, handled or skipped.</summary>
    public static readonly Dictionary<string, string[]> Consumers = new()
    {
        [Topics.OrdersEvents] = ["payments"],
        [Topics.PaymentsEvents] = ["orders", "inventory"],
        [Topics.InventoryEvents] = ["orders", "payments"],
    };

    private OrderTrace(string traceId, List<ExportedSpan> spans)
    {
        TraceId = traceId;
        Spans = spans;
    }

    public string TraceId { get; }

    public List<ExportedSpan> Spans { get; }

    public IEnumerable<ExportedSpan> Publishes => Spans.Where(s => s.Scope == MessagingScope && s.Kind == ExportedSpan.ProducerKind);

    /// <summary>
    /// Waits until the order's trace holds a publish span for each of <paramref name="publishedEvents"/> and a process
    /// span for each of their consumers, then returns every span of that trace.
    /// </summary>
    public static async Task<OrderTrace> WaitForAsync(OtlpReceiver receiver, Guid orderId, int publishedEvents)
    {
        var key = orderId.ToString();
        var expectedProcesses = 0;
        return await Poller.UntilAsync(() =>
            {
                var keyed = receiver.Spans.Where(s => s.Scope == MessagingScope && s["messaging.kafka.message.key"] == key).ToList();
                var traceIds = keyed.Select(s => s.TraceId).Distinct().ToList();
                Assert.True(traceIds.Count <= 1, $"The messaging spans of order {orderId} are in {traceIds.Count} traces: {string.Join(", ", traceIds)}");
                var publishes = keyed.Where(s => s.Kind == ExportedSpan.ProducerKind).ToList();
                expectedProcesses = publishes.Sum(p => Consumers[p["messaging.destination.name"]!].Length);
                var trace = new OrderTrace(traceIds.SingleOrDefault() ?? "", receiver.Spans.Where(s => traceIds.Contains(s.TraceId)).ToList());
                return Task.FromResult(trace);
            },
            trace => trace.Publishes.Count() == publishedEvents &&
                     trace.Spans.Count(s => s.Scope == MessagingScope && s.Kind == ExportedSpan.ConsumerKind) == expectedProcesses,
            $"the trace of order {orderId} to hold {publishedEvents} publish spans and their process spans", TimeSpan.FromSeconds(60));
    }

    /// <summary>Every span's parent is in the trace, except the one root: the request that placed the order.</summary>
    public void AssertOneRootAndEveryParentPresent()
    {
        var ids = Spans.Select(s => s.SpanId).ToHashSet();
        var roots = Spans.Where(s => !ids.Contains(s.ParentSpanId)).ToList();
        var root = Assert.Single(roots);
        Assert.Equal(("orders", "POST /orders/", ExportedSpan.ServerKind), (root.Service, root.Name, root.Kind));
    }

    /// <summary>
    /// The trace as a tree, one line per span: the request and the messaging spans with their event types, each marked
    /// <c>+db</c> when it has database spans of its own; children in a fixed order, so equal traces render equal.
    /// </summary>
    public string Render()
    {
        var children = Spans.ToLookup(s => s.ParentSpanId);
        var text = new StringBuilder();
        var root = Spans.Single(s => s.Name == "POST /orders/");
        Render(root, 0);
        return text.ToString();

        void Render(ExportedSpan span, int depth)
        {
            var database = children[span.SpanId].Any(c => c.Scope == DatabaseScope) ? " +db" : "";
            text.Append(' ', depth * 2).Append($"{span.Service}: {span.Name} {span["cloudevents.event_type"]}".TrimEnd()).Append(database).Append('\n');
            foreach (var child in children[span.SpanId].Where(c => c.Scope != DatabaseScope)
                         .OrderBy(c => c.Service, StringComparer.Ordinal).ThenBy(c => c.Name, StringComparer.Ordinal))
            {
                Render(child, depth + 1);
            }
        }
    }
}
