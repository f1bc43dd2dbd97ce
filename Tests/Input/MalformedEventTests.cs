using System.Globalization;
using System.Text;
using Confluent.Kafka;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Input;

/// <summary>
/// Every malformed record on a topic is dead-lettered by every service that consumes the topic, on its own
/// <c>&lt;service&gt;.dlq</c> with the reason, and the partition moves on: a valid order placed afterwards completes.
/// </summary>
[Trait("Category", "Distributed")]
[Collection(DistributedAppCollection.Name)]
public sealed class MalformedEventTests(DistributedAppFixture fixture) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>The services consuming each topic, and the event type on it that all of them handle.</summary>
    private static readonly Dictionary<string, (string[] Consumers, string Type)> Topics = new()
    {
        ["orders.events"] = (["payments"], "shop.orders.order-created.v1"),
        ["payments.events"] = (["orders", "inventory"], "shop.payments.payment-succeeded.v1"),
        ["inventory.events"] = (["orders", "payments"], "shop.inventory.inventory-reservation-failed.v1"),
    };

    private readonly Shop _shop = new(fixture);

    public void Dispose() => _shop.Dispose();

    [Fact]
    public async Task Every_malformed_record_is_dead_lettered_by_every_consumer_and_a_valid_order_still_completes()
    {
        var records = Topics.Keys.SelectMany(MalformedRecords).ToList();

        await ProduceOnEveryPartitionAsync(records);

        await WaitUntilDeadLetteredAsync(records);
        await AssertAValidOrderCompletesAsync();
    }

    /// <summary>
    /// In structured mode the binding used to write the data back out as bytes, and a lone surrogate made that write
    /// throw outside its error handling, which stopped the partition's worker until a rebalance.
    /// </summary>
    [Fact]
    public async Task A_structured_mode_record_with_a_lone_surrogate_in_its_data_is_dead_lettered_and_its_partition_moves_on()
    {
        var key = Guid.NewGuid().ToString();
        var structured = new MalformedRecord("structured mode, lone surrogate in the data", "orders.events", new Message<string?, byte[]?>
        {
            Key = key,
            Value = Encoding.UTF8.GetBytes($$"""
                {"specversion": "1.0", "id": "{{Guid.NewGuid()}}", "source": "/tests", "type": "shop.orders.order-created.v1",
                 "datacontenttype": "application/json", "data": {"orderId": "{{key}}", "customerId": "c-\ud800"} }
                """),
            Headers = new Headers { { "content-type", Encoding.UTF8.GetBytes("application/cloudevents+json") } },
        });

        await ProduceOnEveryPartitionAsync([structured]);

        await WaitUntilDeadLetteredAsync([structured]);
        await AssertAValidOrderCompletesAsync();
    }

    /// <summary>Its events pass through partitions that each hold a malformed record before them.</summary>
    private async Task AssertAValidOrderCompletesAsync()
    {
        var (customer, sku) = (Shop.Unique("c"), Shop.Unique("sku"));
        await _shop.SetBalanceAsync(customer, 10.00m);
        await _shop.SetStockAsync(sku, 1);
        var orderId = await _shop.PlaceOrderAsync(customer, (sku, 1, 2.50m));
        Assert.Equal("Completed", (await _shop.WaitUntilSettledAsync(orderId, Patience)).Status);
    }

    public sealed record MalformedRecord(string What, string Topic, Message<string?, byte[]?> Message)
    {
        public string Key => Message.Key!;

        public override string ToString() => $"{What} on {Topic} (key {Key})";
    }

    /// <summary>
    /// Records that are not CloudEvents, or carry bad attributes, and CloudEvents of the type every consumer of the
    /// topic handles whose data does not parse, has the wrong types, or breaks the rules: text that is no identifier,
    /// amounts and quantities out of range, missing lines.
    /// </summary>
    private static IEnumerable<MalformedRecord> MalformedRecords(string topic)
    {
        MalformedRecord Envelope(string what, Func<Dictionary<string, byte[]>, Dictionary<string, byte[]>> headers, string? contentType = null,
            string? value = null)
        {
            var key = Guid.NewGuid().ToString();
            var message = new Message<string?, byte[]?>
            {
                Key = key,
                Value = value is null ? Data(topic, key) : Encoding.UTF8.GetBytes(value),
                Headers = [],
            };
            foreach (var (name, bytes) in headers(CloudEventHeaders(topic, key)))
            {
                message.Headers.Add(name, bytes);
            }

            if (contentType is not null)
            {
                message.Headers.Remove("content-type");
                message.Headers.Add("content-type", Encoding.UTF8.GetBytes(contentType));
            }

            return new MalformedRecord(what, topic, message);
        }

        MalformedRecord WithData(string what, Func<string, byte[]?> data)
        {
            var key = Guid.NewGuid().ToString();
            var message = new Message<string?, byte[]?> { Key = key, Value = data(key), Headers = [] };
            foreach (var (name, bytes) in CloudEventHeaders(topic, key))
            {
                message.Headers.Add(name, bytes);
            }

            return new MalformedRecord(what, topic, message);
        }

        static Dictionary<string, byte[]> Without(Dictionary<string, byte[]> headers, string name)
        {
            headers.Remove(name);
            return headers;
        }

        static Dictionary<string, byte[]> With(Dictionary<string, byte[]> headers, string name, byte[] value)
        {
            headers[name] = value;
            return headers;
        }

        yield return Envelope("no CloudEvent headers", headers => new() { ["content-type"] = Utf8("application/json") });
        yield return Envelope("an unknown specversion", headers => With(headers, "ce_specversion", Utf8("0.1")));
        yield return Envelope("no ce_id", headers => Without(headers, "ce_id"));
        yield return Envelope("no ce_type", headers => Without(headers, "ce_type"));
        yield return Envelope("a ce_type that is not UTF-8", headers => With(headers, "ce_type", [0xFF, 0x73]));
        yield return Envelope("a ce_id holding an encoded lone surrogate", headers => With(headers, "ce_id", [0x61, 0xED, 0xA0, 0x80]));
        yield return Envelope("a ce_id holding U+0000", headers => With(headers, "ce_id", [0x61, 0x00, 0x62]));
        yield return Envelope("a ce_time that is no timestamp", headers => With(headers, "ce_time", Utf8("yesterday")));
        yield return Envelope("structured mode, a value that is not JSON", headers => new(), "application/cloudevents+json", "{ not json");
        yield return Envelope("structured mode, a lone surrogate in ce_id", headers => new(), "application/cloudevents+json",
            $$"""{"specversion": "1.0", "id": "\ud800", "source": "/tests", "type": "{{Topics[topic].Type}}", "data": {} }""");

        yield return WithData("no data", _ => null);
        yield return WithData("data that is not JSON", _ => Utf8("{\"orderId\": "));
        yield return WithData("data that is JSON null", _ => Utf8("null"));
        yield return WithData("data that is an array", _ => Utf8("[]"));
        yield return WithData("an orderId that is not a UUID", _ => Data(topic, "order-1"));
        yield return WithData("an empty orderId", _ => Data(topic, Guid.Empty.ToString()));
        yield return WithData("no items", key => Data(topic, key, items: "[]"));
        yield return WithData("a null line", key => Data(topic, key, items: "[null]"));
        yield return WithData("items that are an object", key => Data(topic, key, items: """{"sku": "SKU-1", "quantity": 1}"""));

        var text = topic == "inventory.events" ? "reason" : "customerId";
        yield return WithData($"a {text} holding U+0000", key => Data(topic, key, text: Utf8("\"c-\\u0000\"")));
        yield return WithData($"a {text} holding a control character", key => Data(topic, key, text: Utf8("\"c-\\u001b\"")));
        yield return WithData($"a {text} holding a lone surrogate", key => Data(topic, key, text: Utf8("\"c-\\ud800\"")));
        yield return WithData($"a {text} with bytes that are not UTF-8", key => Data(topic, key, text: [.. Utf8("\"c-"), 0xFF, .. Utf8("\"")]));
        yield return WithData($"an empty {text}", key => Data(topic, key, text: Utf8("\"\"")));
        yield return WithData($"a {text} over 64 characters", key => Data(topic, key, text: Utf8($"\"{new string('c', 65)}\"")));
        yield return WithData($"a {text} that is a number", key => Data(topic, key, text: Utf8("42")));

        yield return WithData("a sku holding U+0000", key => Data(topic, key, sku: Utf8("\"SKU-\\u0000\"")));
        yield return WithData("a sku holding a lone surrogate", key => Data(topic, key, sku: Utf8("\"SKU-\\udc00\"")));
        yield return WithData("a sku with an overlong NUL", key => Data(topic, key, sku: [.. Utf8("\"SKU-"), 0xC0, 0x80, .. Utf8("\"")]));
        yield return WithData("an empty sku", key => Data(topic, key, sku: Utf8("\"\"")));
        yield return WithData("a quantity of 0", key => Data(topic, key, quantity: "0"));
        yield return WithData("a negative quantity", key => Data(topic, key, quantity: "-1"));
        yield return WithData("a huge quantity", key => Data(topic, key, quantity: "2147483647"));
        yield return WithData("a quantity beyond a 32-bit integer", key => Data(topic, key, quantity: "2147483648"));
        yield return WithData("a fractional quantity", key => Data(topic, key, quantity: "1.5"));
        yield return WithData("a quantity that is an object", key => Data(topic, key, quantity: "{}"));

        if (topic != "inventory.events")
        {
            yield return WithData("a negative amount", key => Data(topic, key, amount: "-5.00"));
            yield return WithData("an amount of 0", key => Data(topic, key, amount: "0"));
            yield return WithData("a huge amount", key => Data(topic, key, amount: "100000000000000000000"));
            yield return WithData("an amount beyond a decimal", key => Data(topic, key, amount: "1e400"));
            yield return WithData("an amount with 3 decimals", key => Data(topic, key, amount: "5.001"));
            yield return WithData("an amount that is true", key => Data(topic, key, amount: "true"));
        }
    }

    private static Dictionary<string, byte[]> CloudEventHeaders(string topic, string key) => new()
    {
        ["ce_specversion"] = Utf8("1.0"),
        ["ce_id"] = Utf8(Guid.NewGuid().ToString()),
        ["ce_source"] = Utf8("/tests"),
        ["ce_type"] = Utf8(Topics[topic].Type),
        ["ce_time"] = Utf8(DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture)),
        ["ce_subject"] = Utf8(key),
        ["ce_partitionkey"] = Utf8(key),
        ["content-type"] = Utf8("application/json"),
    };

    /// <summary>
    /// The data of the event all consumers of the topic handle, valid unless a part is given: parts are raw JSON
    /// tokens, so they can hold what no string can (bytes that are not UTF-8). <paramref name="text"/> is the
    /// customerId, or the reason on inventory.events.
    /// </summary>
    private static byte[] Data(string topic, string orderId, byte[]? text = null, byte[]? sku = null, string quantity = "1",
        string amount = "2.50", string? items = null)
    {
        text ??= Utf8(topic == "inventory.events" ? "\"out-of-stock\"" : "\"c-1\"");
        var line = Concat(Utf8("{\"sku\": "), sku ?? Utf8("\"SKU-1\""), Utf8($", \"quantity\": {quantity}"),
            Utf8(topic == "orders.events" ? $", \"unitPrice\": {amount}}}" : "}"));
        var lines = items is null ? Concat(Utf8("["), line, Utf8("]")) : Utf8(items);
        return topic switch
        {
            "orders.events" => Concat(Utf8($"{{\"orderId\": \"{orderId}\", \"customerId\": "), text, Utf8($", \"total\": {amount}, \"items\": "), lines, Utf8("}")),
            "payments.events" => Concat(Utf8($"{{\"orderId\": \"{orderId}\", \"customerId\": "), text, Utf8($", \"amount\": {amount}, \"items\": "), lines, Utf8("}")),
            _ => Concat(Utf8($"{{\"orderId\": \"{orderId}\", \"reason\": "), text, Utf8(", \"items\": "), lines, Utf8("}")),
        };
    }

    /// <summary>Round-robin over the partitions, so every partition of every topic holds a malformed record.</summary>
    private async Task ProduceOnEveryPartitionAsync(IReadOnlyList<MalformedRecord> records)
    {
        var bootstrapServers = await fixture.ConnectionStringAsync("kafka");
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
        using var producer = new ProducerBuilder<string?, byte[]?>(new ProducerConfig { BootstrapServers = bootstrapServers, EnableIdempotence = true }).Build();
        foreach (var topic in records.GroupBy(record => record.Topic, (name, onTopic) => (Name: name, Records: onTopic.ToList())))
        {
            var partitions = admin.GetMetadata(topic.Name, TimeSpan.FromSeconds(10)).Topics.Single().Partitions.Count;
            for (var i = 0; i < Math.Max(topic.Records.Count, partitions); i++)
            {
                await producer.ProduceAsync(new TopicPartition(topic.Name, i % partitions), topic.Records[i % topic.Records.Count].Message);
            }
        }
    }

    /// <summary>Waits until each consumer of each record's topic has dead-lettered it: same key, value and headers, and a reason.</summary>
    private async Task WaitUntilDeadLetteredAsync(IReadOnlyList<MalformedRecord> records)
    {
        var bootstrapServers = await fixture.ConnectionStringAsync("kafka");
        var expected = records.SelectMany(record => Topics[record.Topic].Consumers.Select(consumer => (Consumer: consumer, Record: record))).ToList();
        await Poller.UntilAsync(() =>
        {
            var deadLetters = expected.Select(e => e.Consumer).Distinct().ToDictionary(consumer => consumer,
                consumer => TopicReader.ReadUntil(bootstrapServers, $"{consumer}.dlq", _ => true, atEnd: true));
            var missing = expected.Where(e => !deadLetters[e.Consumer].Any(deadLetter => IsDeadLetterOf(deadLetter, e.Record)))
                .Select(e => $"{e.Consumer} did not dead-letter {e.Record}");
            return Task.FromResult(string.Join(Environment.NewLine, missing));
        }, missing => missing.Length == 0, "every consumer to dead-letter every malformed record", Patience);
    }

    private static bool IsDeadLetterOf(ConsumeResult<string?, byte[]?> deadLetter, MalformedRecord record) =>
        deadLetter.Message.Key == record.Key
        && deadLetter.Header("dlq-original-topic") == record.Topic
        && !string.IsNullOrEmpty(deadLetter.Header("dlq-reason"))
        && (deadLetter.Message.Value ?? []).SequenceEqual(record.Message.Value ?? [])
        && record.Message.Headers.All(header =>
            deadLetter.Message.Headers.Any(copy => copy.Key == header.Key && copy.GetValueBytes().SequenceEqual(header.GetValueBytes())));

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(part => part)];
}
