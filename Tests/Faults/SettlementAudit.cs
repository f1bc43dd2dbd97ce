extern alias Benchmarks;

using System.Net.Http.Json;
using System.Text;
using Benchmarks::ShopChoreography.Benchmarks.Saga;
using Confluent.Kafka;
using ShopChoreography.Contracts;
using ShopChoreography.Messaging;
using ShopChoreography.Tests.Support;
using Xunit.Abstractions;

namespace ShopChoreography.Tests.Faults;

/// <summary>
/// What every fault must leave intact, checked exactly, through the services' public APIs and the topics:
/// every accepted order settles within the deadline, as its kind dictates, charged, reserved and refunded once at most;
/// money and stock are conserved to the cent and the unit; and nothing but the test's own poison is dead-lettered.
/// Prints what happened to the orders and how long the system took to settle them after the fault ended.
/// </summary>
public sealed class SettlementAudit
{
    private const int Parallelism = 8;
    private const int ExamplesShown = 12;
    private static readonly string[] DeadLetterTopics = [Topics.OrdersDeadLetters, Topics.PaymentsDeadLetters, Topics.InventoryDeadLetters];

    private readonly Shop _shop;
    private readonly string _bootstrapServers;
    private readonly string _fault;
    private readonly Dictionary<TopicPartition, long> _deadLettersBefore;
    private readonly List<InjectedPoison> _poison = [];
    private readonly List<string> _notes = [];

    private SettlementAudit(Shop shop, string bootstrapServers, string fault, Dictionary<TopicPartition, long> deadLettersBefore)
    {
        _shop = shop;
        _bootstrapServers = bootstrapServers;
        _fault = fault;
        _deadLettersBefore = deadLettersBefore;
    }

    /// <summary>
    /// Starts the audit before the orders and the fault: marks where the dead-letter topics end now. The fault names
    /// the test: it is the owner its order stream registers its orders under.
    /// </summary>
    public static SettlementAudit Begin(DistributedAppFixture fixture, Shop shop, string fault)
    {
        var bootstrapServers = fixture.KafkaCluster.BootstrapServers;
        var ends = ReadDeadLetters(bootstrapServers)
            .GroupBy(record => record.TopicPartition)
            .ToDictionary(partition => partition.Key, partition => partition.Max(record => record.Offset.Value) + 1);
        return new SettlementAudit(shop, bootstrapServers, fault, ends);
    }

    /// <summary>Poison the test wrote: each consumer of its topic must dead-letter it exactly once.</summary>
    public void ExpectPoison(IEnumerable<InjectedPoison> poison) => _poison.AddRange(poison);

    /// <summary>A line for the report about what the fault did (how many events were duplicated, rebalances seen...).</summary>
    public void Note(string line) => _notes.Add(line);

    /// <summary>
    /// Waits until every order the stream placed has settled or the deadline (counted from the end of the last
    /// fault) passes, then checks every invariant, prints the report, and fails naming each violation.
    /// </summary>
    public async Task VerifyAsync(OrderStream stream, DateTime faultEnded, TimeSpan settleDeadline, ITestOutputHelper output)
    {
        var orders = stream.Accepted.Select(order => new OrderProgress(order)).ToList();
        var remaining = faultEnded + settleDeadline - DateTime.UtcNow;
        try
        {
            await Poller.UntilAsync(async () =>
            {
                await Parallel.ForEachAsync(orders.Where(o => o.SettledAt is null), new ParallelOptions { MaxDegreeOfParallelism = Parallelism },
                    async (order, _) => await ProbeAsync(order));
                return orders.Count(o => o.SettledAt is null);
            }, unsettled => unsettled == 0, "every accepted order to settle", remaining > TimeSpan.Zero ? remaining : TimeSpan.FromSeconds(1));
        }
        catch (TimeoutException)
        {
            // The orders still unsettled are the lost ones: reported below, each with the state it is stuck in.
        }

        await Parallel.ForEachAsync(orders, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (order, _) => await ReadFinalAsync(order));
        var violations = new Violations();
        foreach (var unanswered in stream.Unanswered)
        {
            violations.Add("Orders whose POST was never answered (whether they exist is unknown)",
                $"Idempotency-Key {unanswered.IdempotencyKey} ({unanswered.Kind}, {unanswered.CustomerId}): {unanswered.LastFailure}");
        }

        CheckOrders(orders, violations);
        await CheckMoneyAndStockAsync(stream, orders, violations);
        var validDeadLetters = await CheckDeadLettersAsync(violations);

        var settled = orders.Where(o => o.SettledAt is not null).ToList();
        var appliedTwice = orders.Count(o => o.AppliedTwice);
        var settleTime = settled.Count == orders.Count && settled.Count > 0
            ? $"{(settled.Max(o => o.SettledAt!.Value) - faultEnded).TotalSeconds:0.0} s"
            : $"never: {orders.Count - settled.Count} orders did not settle within {settleDeadline.TotalSeconds:0} s";
        var report = new StringBuilder()
            .AppendLine($"Fault: {_fault}")
            .AppendLine($"  orders accepted                  {orders.Count} (sent {stream.Sent}; {stream.AcceptedOnRetry} accepted only on a retry with the same Idempotency-Key; {stream.Unanswered.Count} never answered)")
            .AppendLine($"  orders settled                   {settled.Count} ({string.Join(", ", settled.GroupBy(o => o.Final?.Status).Select(g => $"{g.Count()} {g.Key}"))})")
            .AppendLine($"  orders lost                      {orders.Count - settled.Count}")
            .AppendLine($"  orders applied twice             {appliedTwice}")
            .AppendLine($"  valid events dead-lettered       {validDeadLetters}")
            .AppendLine($"  end of last fault -> last order settled: {settleTime}");
        foreach (var note in _notes)
        {
            report.AppendLine($"  {note}");
        }

        output.WriteLine(report.ToString());
        if (violations.Any)
        {
            Assert.Fail($"{report}{Environment.NewLine}{violations}");
        }
    }

    /// <summary>Settled: terminal, and every service shows the outcome (payment, timeline with each event of the saga).</summary>
    private async Task ProbeAsync(OrderProgress order)
    {
        try
        {
            order.Final = await _shop.GetOrderAsync(order.Placed.OrderId);
            if (order.Final is null || OrderOutcome.Of(order.Final.Status, order.Final.CancellationReason) is not { } outcome)
            {
                return;
            }

            order.Payment = await _shop.GetPaymentAsync(order.Placed.OrderId);
            if (order.Payment?.Status != outcome.Payment)
            {
                return;
            }

            order.Timeline = await TimelineAsync(order.Placed.OrderId);
            if (order.Timeline.Count >= outcome.Events.Count)
            {
                order.SettledAt = DateTime.UtcNow;
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            order.LastProbeFailure = ex.Message;
        }
    }

    private async Task ReadFinalAsync(OrderProgress order)
    {
        try
        {
            var id = order.Placed.OrderId;
            order.Final = await _shop.GetOrderAsync(id);
            order.Payment = await _shop.GetPaymentAsync(id);
            order.Reservation = await _shop.GetReservationAsync(id);
            order.Timeline = await TimelineAsync(id);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            order.LastProbeFailure = ex.Message;
        }
    }

    private async Task<List<TimelineEntry>> TimelineAsync(Guid orderId) =>
        await _shop.Orders.GetFromJsonAsync<List<TimelineEntry>>($"/orders/{orderId}/timeline") ?? [];

    private static void CheckOrders(List<OrderProgress> orders, Violations violations)
    {
        foreach (var order in orders)
        {
            var placed = order.Placed;
            var expected = OrderOutcome.For(placed.Kind);
            if (order.SettledAt is null)
            {
                violations.Add("Accepted orders that did not settle (lost)", order.Describe());
                continue;
            }

            var final = order.Final!;
            if ((final.Status, final.CancellationReason) != (expected.Status, expected.Reason))
            {
                violations.Add("Orders that settled other than their kind dictates",
                    $"{order.Describe()}: expected {expected.Status} {expected.Reason}");
            }

            var outcome = OrderOutcome.Of(final.Status, final.CancellationReason)!;
            if (order.Payment is not { } payment || payment.Status != outcome.Payment || payment.Amount != placed.Body.Total)
            {
                violations.Add("Payments that do not match their order",
                    $"{order.Describe()}: expected payment {outcome.Payment} {placed.Body.Total}");
            }

            if (order.Reservation?.Status != outcome.Reservation
                || (outcome == OrderOutcome.Completed && !ReservesExactly(order.Reservation!, placed)))
            {
                violations.Add("Reservations that do not match their order",
                    $"{order.Describe()}: expected reservation {outcome.Reservation ?? "none"}{(outcome == OrderOutcome.Completed ? $" of {Lines(placed.Body.Items)}" : "")}");
            }

            var types = order.Timeline!.Select(e => e.Type).Order().ToList();
            if (!types.SequenceEqual(outcome.Events.Order()))
            {
                violations.Add(order.AppliedTwice ? "Orders with a saga step applied twice" : "Orders whose timeline misses a step",
                    $"{order.Describe()}: expected one each of {string.Join(", ", outcome.Events.Select(Short))}");
            }
        }
    }

    /// <summary>Money and stock conserved: what the Completed orders took from each account and reserved of each SKU, and nothing else.</summary>
    private async Task CheckMoneyAndStockAsync(OrderStream stream, List<OrderProgress> orders, Violations violations)
    {
        var completed = orders.Where(o => o.Final?.Status == OrderStatuses.Completed).Select(o => o.Placed.Body);
        foreach (var discrepancy in await stream.Mix.AuditAsync(_shop.Payments, _shop.Inventory, completed))
        {
            violations.Add(discrepancy.Invariant, discrepancy.Detail);
        }
    }

    /// <summary>
    /// Reads what was dead-lettered since the audit began: the expected poison exactly once per consumer, and no valid
    /// event. Returns how many valid events of this test's orders were dead-lettered.
    /// </summary>
    private async Task<int> CheckDeadLettersAsync(Violations violations)
    {
        var expected = _poison.SelectMany(p => p.Consumers.Select(consumer => (p, Topic: MessagingOptions.DeadLetterTopicOf(consumer), Consumer: consumer))).ToList();
        List<ConsumeResult<string?, byte[]?>> deadLetters = [];
        try
        {
            // Poison is dead-lettered as its partition reaches it; give the last of it a moment after the orders settled.
            deadLetters = await Poller.UntilAsync(() => Task.FromResult(ReadDeadLetters(_bootstrapServers).Where(IsNew).ToList()),
                letters => expected.All(e => letters.Any(l => l.Topic == e.Topic && l.Header(EventReplay.PoisonHeader) == e.p.Id)),
                "every poison record to be dead-lettered by each of its consumers", TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            deadLetters = [.. ReadDeadLetters(_bootstrapServers).Where(IsNew)];
        }

        foreach (var (poison, topic, consumer) in expected)
        {
            var letters = deadLetters.Where(l => l.Header(EventReplay.PoisonHeader) == poison.Id && l.Topic == topic).ToList();
            if (letters is not [var letter]
                || string.IsNullOrWhiteSpace(letter.Header("dlq-reason"))
                || letter.Header("dlq-consumer") != consumer
                || letter.Header("dlq-original-topic") != poison.Topic
                || letter.Header("dlq-original-partition") != poison.Partition.ToString(System.Globalization.CultureInfo.InvariantCulture)
                || letter.Header("dlq-original-offset") != poison.Offset.ToString(System.Globalization.CultureInfo.InvariantCulture))
            {
                violations.Add("Poison not dead-lettered exactly once by each of its consumers",
                    $"{poison} reached {topic} {letters.Count} time(s){string.Concat(letters.Select(l => $"; {Describe(l)}"))}");
            }
        }

        if (_poison.Count > 0)
        {
            try
            {
                await Poller.UntilAsync(() => EventReplay.ConsumersNotPastAsync(_bootstrapServers, _poison), notPast => notPast.Length == 0,
                    "every consumer group to commit past the poison records it consumes", TimeSpan.FromSeconds(30));
            }
            catch (TimeoutException ex)
            {
                violations.Add("Partitions that did not move on past poison", ex.Message);
            }
        }

        var poisonIds = _poison.Select(p => p.Id).ToHashSet();
        var valid = 0;
        foreach (var letter in deadLetters)
        {
            if (letter.Header(EventReplay.PoisonHeader) is { } poisonId)
            {
                if (!poisonIds.Contains(poisonId))
                {
                    _notes.Add($"ignored: poison of another test dead-lettered late: {Describe(letter)}");
                }
                else if (!expected.Any(e => e.p.Id == poisonId && e.Topic == letter.Topic))
                {
                    violations.Add("Poison dead-lettered by a service that does not consume its topic", Describe(letter));
                }

                continue;
            }

            var owner = Guid.TryParse(letter.Message.Key, out var orderId) ? OrderStream.OwnerOf(orderId) : null;
            if (owner is not null && owner != _fault)
            {
                _notes.Add($"ignored: a valid event of an order of {owner} dead-lettered late: {Describe(letter)}");
                continue;
            }

            valid++;
            violations.Add("Valid events dead-lettered", Describe(letter));
        }

        return valid;
    }

    private bool IsNew(ConsumeResult<string?, byte[]?> record) =>
        record.Offset.Value >= _deadLettersBefore.GetValueOrDefault(record.TopicPartition, 0);

    private static List<ConsumeResult<string?, byte[]?>> ReadDeadLetters(string bootstrapServers) =>
        [.. DeadLetterTopics.SelectMany(topic => TopicReader.ReadUntil(bootstrapServers, topic, _ => true, TimeSpan.FromSeconds(60), atEnd: true))];

    private static string Describe(ConsumeResult<string?, byte[]?> letter) =>
        $"{letter.Topic}[{letter.Partition.Value}]@{letter.Offset.Value}: {letter.Header("ce_type") ?? "(no ce_type)"} " +
        $"key {letter.Message.Key ?? "(none)"} from {letter.Header("dlq-original-topic")}[{letter.Header("dlq-original-partition")}]@{letter.Header("dlq-original-offset")} " +
        $"by {letter.Header("dlq-consumer")} after {letter.Header("dlq-attempts")} attempt(s), {letter.Header("dlq-exception-type")}: {letter.Header("dlq-reason")}";

    private static bool ReservesExactly(ReservationView reservation, PlacedOrder order) =>
        reservation.Lines.OrderBy(l => l.Sku, StringComparer.Ordinal).Select(l => (l.Sku, l.Quantity))
            .SequenceEqual(order.Body.Items.OrderBy(i => i.Sku, StringComparer.Ordinal).Select(i => (i.Sku, i.Quantity)));

    private static string Lines(IEnumerable<OrderLine> items) => string.Join(" + ", items.Select(i => $"{i.Quantity} {i.Sku}"));

    private static string Short(string eventType) => eventType.Split('.')[^2];

    private sealed class OrderProgress(PlacedOrder placed)
    {
        public PlacedOrder Placed { get; } = placed;

        public DateTime? SettledAt { get; set; }

        public OrderView? Final { get; set; }

        public PaymentView? Payment { get; set; }

        public ReservationView? Reservation { get; set; }

        public List<TimelineEntry>? Timeline { get; set; }

        public string? LastProbeFailure { get; set; }

        /// <summary>A step of the saga shows more than once in the order's story.</summary>
        public bool AppliedTwice => Timeline?.GroupBy(e => e.Type).Any(type => type.Count() > 1) == true;

        public string Describe() =>
            $"{Placed.OrderId} ({Placed.Kind}, {Placed.Body.CustomerId}, {Lines(Placed.Body.Items)}, total {Placed.Body.Total}): " +
            $"order {(Final is null ? "not found" : $"{Final.Status}{(Final.CancellationReason is { } reason ? $" ({reason})" : "")}")}, " +
            $"payment {(Payment is null ? "none" : $"{Payment.Status} {Payment.Amount}")}, " +
            $"reservation {Reservation?.Status ?? "none"}, " +
            $"timeline [{string.Join(", ", Timeline?.Select(e => Short(e.Type)) ?? [])}]" +
            (LastProbeFailure is null ? "" : $", last read failed: {LastProbeFailure}");
    }

    /// <summary>Violations grouped by invariant, a few examples each, so a failure says what broke and where.</summary>
    private sealed class Violations
    {
        private readonly Dictionary<string, List<string>> _byInvariant = [];

        public bool Any => _byInvariant.Count > 0;

        public void Add(string invariant, string example)
        {
            lock (_byInvariant)
            {
                (_byInvariant.TryGetValue(invariant, out var examples) ? examples : _byInvariant[invariant] = []).Add(example);
            }
        }

        public override string ToString()
        {
            var text = new StringBuilder();
            foreach (var (invariant, examples) in _byInvariant)
            {
                text.AppendLine($"{invariant}: {examples.Count}");
                foreach (var example in examples.Take(ExamplesShown))
                {
                    text.AppendLine($"  - {example}");
                }

                if (examples.Count > ExamplesShown)
                {
                    text.AppendLine($"  ... and {examples.Count - ExamplesShown} more");
                }
            }

            return text.ToString();
        }
    }
}
