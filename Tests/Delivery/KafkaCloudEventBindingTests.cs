using System.Text;
using System.Text.Json.Nodes;
using CloudNative.CloudEvents;
using CloudNative.CloudEvents.Extensions;
using Confluent.Kafka;
using ShopChoreography.Messaging.CloudEvents;

namespace ShopChoreography.Tests.Delivery;

public sealed class KafkaCloudEventBindingTests
{
    private const string StructuredJson = "application/cloudevents+json; charset=utf-8";
    private const string TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    private static readonly DateTimeOffset Time = new(2025, 3, 14, 9, 26, 53, 120, TimeSpan.FromHours(2));

    [Fact]
    public void Binary_mode_round_trip_keeps_every_attribute_and_the_data_bytes()
    {
        var data = Encoding.UTF8.GetBytes("""{"orderId":"o-42"}""");

        var message = KafkaCloudEventBinding.ToKafkaMessage(FullEvent(data));
        var read = KafkaCloudEventBinding.ToCloudEvent(message);

        Assert.Equal(CloudEventsSpecVersion.V1_0, read.SpecVersion);
        Assert.Equal("evt-1", read.Id);
        Assert.Equal(new Uri("/orders", UriKind.RelativeOrAbsolute), read.Source);
        Assert.Equal("shop.order.placed", read.Type);
        Assert.Equal(Time, read.Time);
        Assert.Equal("orders/o-42", read.Subject);
        Assert.Equal("application/json", read.DataContentType);
        Assert.Equal("o-42", read[Partitioning.PartitionKeyAttribute]);
        Assert.Equal(TraceParent, read[KafkaCloudEventBinding.TraceParentAttribute]);
        Assert.Equal(data, Assert.IsType<byte[]>(read.Data));
    }

    [Fact]
    public void Binary_mode_writes_ce_headers_as_UTF8_content_type_for_datacontenttype_and_the_partition_key_as_record_key()
    {
        var data = Encoding.UTF8.GetBytes("""{"orderId":"o-42"}""");

        var message = KafkaCloudEventBinding.ToKafkaMessage(FullEvent(data));

        Assert.Equal("o-42", message.Key);
        Assert.Same(data, message.Value);
        var expected = new Dictionary<string, string>
        {
            ["ce_specversion"] = "1.0",
            ["ce_id"] = "evt-1",
            ["ce_source"] = "/orders",
            ["ce_type"] = "shop.order.placed",
            ["ce_time"] = "2025-03-14T09:26:53.120+02:00",
            ["ce_subject"] = "orders/o-42",
            ["content-type"] = "application/json",
            ["ce_partitionkey"] = "o-42",
            ["ce_traceparent"] = TraceParent,
        };
        var actual = message.Headers.ToDictionary(h => h.Key, h => Encoding.UTF8.GetString(h.GetValueBytes()));
        Assert.Equal(expected.OrderBy(p => p.Key), actual.OrderBy(p => p.Key));
        Assert.False(message.Headers.TryGetLastBytes("ce_datacontenttype", out _));
    }

    [Fact]
    public void Binary_mode_without_data_or_partition_key_has_a_null_value_and_a_null_key()
    {
        var message = KafkaCloudEventBinding.ToKafkaMessage(MinimalEvent());

        Assert.Null(message.Key);
        Assert.Null(message.Value);
        Assert.False(message.Headers.TryGetLastBytes("content-type", out _));
        Assert.Null(KafkaCloudEventBinding.ToCloudEvent(message).Data);
    }

    [Fact]
    public void ToKafkaMessage_refuses_an_event_missing_id_and_source_with_InvalidOperationException()
    {
        var cloudEvent = new CloudEvent { Type = "shop.order.placed" };

        var error = Assert.Throws<InvalidOperationException>(() => KafkaCloudEventBinding.ToKafkaMessage(cloudEvent));

        Assert.Contains("id, source", error.Message);
    }

    [Fact]
    public void ToKafkaMessage_refuses_data_that_is_not_a_byte_array_with_ArgumentException()
    {
        var cloudEvent = MinimalEvent();
        cloudEvent.Data = """{"orderId":"o-42"}""";

        var error = Assert.Throws<ArgumentException>(() => KafkaCloudEventBinding.ToKafkaMessage(cloudEvent));

        Assert.Equal("cloudEvent", error.ParamName);
    }

    [Fact]
    public void Binary_mode_header_names_match_case_insensitively()
    {
        var message = Record([1, 2, 3], ("CE_SPECVERSION", "1.0"), ("CE_ID", "evt-1"), ("Ce_Source", "/orders"),
            ("CE_TYPE", "shop.order.placed"), ("Content-Type", "application/json"));

        var read = KafkaCloudEventBinding.ToCloudEvent(message);

        Assert.Equal("evt-1", read.Id);
        Assert.Equal("/orders", read.Source!.OriginalString);
        Assert.Equal("shop.order.placed", read.Type);
        Assert.Equal("application/json", read.DataContentType);
        Assert.Equal(new byte[] { 1, 2, 3 }, read.Data);
    }

    [Fact]
    public void Binary_mode_keeps_an_unknown_extension_header_as_a_string_extension_attribute()
    {
        var read = KafkaCloudEventBinding.ToCloudEvent(Record(null, [.. Required(), ("ce_myext", "hello")]));

        Assert.Equal("hello", read["myext"]);
        var attribute = read.GetAttribute("myext");
        Assert.NotNull(attribute);
        Assert.True(attribute.IsExtension);
        Assert.Equal(CloudEventAttributeType.String, attribute.Type);
    }

    [Fact]
    public void Binary_mode_record_with_a_null_value_has_null_data_and_no_partition_key_without_a_ce_partitionkey_header()
    {
        var message = Record(null, Required());
        message.Key = "o-42";

        var read = KafkaCloudEventBinding.ToCloudEvent(message);

        Assert.Null(read.Data);
        Assert.Null(read[Partitioning.PartitionKeyAttribute]);
    }

    [Theory]
    [InlineData("application/json; profile=\"application/cloudevents\"")]
    [InlineData("application/vnd.shop.cloudevents+json")]
    public void A_content_type_that_only_contains_cloudevents_after_the_start_is_binary_mode(string contentType)
    {
        var read = KafkaCloudEventBinding.ToCloudEvent(Record([7], [.. Required(), ("content-type", contentType)]));

        Assert.Equal("evt-1", read.Id);
        Assert.Equal(contentType, read.DataContentType);
        Assert.Equal(new byte[] { 7 }, read.Data);
    }

    [Fact]
    public void A_plain_Kafka_record_without_ce_specversion_nor_structured_content_type_is_invalid()
    {
        var message = Record(Encoding.UTF8.GetBytes("{}"), ("content-type", "application/json"), ("ce_id", "evt-1"));

        var error = Assert.Throws<InvalidCloudEventException>(() => KafkaCloudEventBinding.ToCloudEvent(message));

        Assert.Equal(
            "no ce_specversion header (binary mode) and the content-type is not application/cloudevents (structured mode)",
            error.Reason);
    }

    [Fact]
    public void An_unknown_specversion_is_invalid()
    {
        var message = Record(null, ("ce_specversion", "0.9"), ("ce_id", "evt-1"), ("ce_source", "/orders"), ("ce_type", "t"));

        var error = Assert.Throws<InvalidCloudEventException>(() => KafkaCloudEventBinding.ToCloudEvent(message));

        Assert.Equal("unsupported specversion '0.9'", error.Reason);
    }

    [Theory]
    [InlineData("ce_id", "id")]
    [InlineData("ce_type", "type")]
    [InlineData("ce_source", "source")]
    public void A_binary_record_missing_a_required_attribute_is_invalid_naming_it(string header, string attribute)
    {
        var message = Record(null, Required().Where(h => h.Name != header).ToArray());

        var error = Assert.Throws<InvalidCloudEventException>(() => KafkaCloudEventBinding.ToCloudEvent(message));

        Assert.Equal($"missing required attribute(s): {attribute}", error.Reason);
    }

    [Fact]
    public void A_bad_ce_time_value_is_invalid_naming_the_header_and_value()
    {
        var message = Record(null, [.. Required(), ("ce_time", "yesterday")]);

        var error = Assert.Throws<InvalidCloudEventException>(() => KafkaCloudEventBinding.ToCloudEvent(message));

        Assert.StartsWith("header 'ce_time' has an invalid value 'yesterday'", error.Reason);
        Assert.IsType<ArgumentException>(error.InnerException);
    }

    [Fact]
    public void An_empty_ce_id_is_refused_by_the_library_and_reported_as_invalid()
    {
        var message = Record(null, ("ce_specversion", "1.0"), ("ce_id", ""), ("ce_source", "/orders"), ("ce_type", "t"));

        var error = Assert.Throws<InvalidCloudEventException>(() => KafkaCloudEventBinding.ToCloudEvent(message));

        Assert.StartsWith("header 'ce_id' has an invalid value ''", error.Reason);
        Assert.Contains("non-empty", error.Reason);
    }

    [Theory]
    [InlineData("ce_data")]
    [InlineData("ce_")]
    [InlineData("ce_my-ext")]
    public void A_ce_header_that_cannot_name_an_attribute_is_invalid(string header)
    {
        var message = Record(null, [.. Required(), (header, "x")]);

        var error = Assert.Throws<InvalidCloudEventException>(() => KafkaCloudEventBinding.ToCloudEvent(message));

        Assert.StartsWith($"header '{header}' has an invalid value 'x'", error.Reason);
    }

    [Theory]
    [InlineData("ce_id")]
    [InlineData("ce_specversion")]
    [InlineData("content-type")]
    public void A_header_value_that_is_not_UTF8_is_invalid(string header)
    {
        var message = Record(null, Required().Where(h => h.Name != header).ToArray());
        message.Headers.Add(header, [0xC3, 0x28]);

        var error = Assert.Throws<InvalidCloudEventException>(() => KafkaCloudEventBinding.ToCloudEvent(message));

        Assert.Equal($"header '{header}' is not UTF-8", error.Reason);
    }

    // Per the contract, any invalid record must surface as InvalidCloudEventException.
    [Theory]
    [InlineData("")]
    [InlineData("not a content type")]
    [InlineData("application/json; x=application/cloudevents")]
    public void A_binary_record_with_a_malformed_content_type_is_invalid_rather_than_an_ArgumentException(string contentType)
    {
        var message = Record(null, [.. Required(), ("content-type", contentType)]);

        var invalid = Assert.IsType<InvalidCloudEventException>(Xunit.Record.Exception(() => KafkaCloudEventBinding.ToCloudEvent(message)));
        Assert.Contains("content-type", invalid.Reason);
    }

    [Fact]
    public void Structured_mode_decodes_the_JSON_envelope_with_attributes_and_data_as_UTF8_JSON_bytes()
    {
        var envelope = """
            {"specversion":"1.0","id":"evt-1","source":"/orders","type":"shop.order.placed",
             "time":"2025-03-14T09:26:53.120+02:00","subject":"orders/o-42","datacontenttype":"application/json",
             "partitionkey":"o-42","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
             "data":{"orderId":"o-42"}}
            """;

        var read = KafkaCloudEventBinding.ToCloudEvent(Record(Encoding.UTF8.GetBytes(envelope), ("content-type", StructuredJson)));

        Assert.Equal(CloudEventsSpecVersion.V1_0, read.SpecVersion);
        Assert.Equal("evt-1", read.Id);
        Assert.Equal("/orders", read.Source!.OriginalString);
        Assert.Equal("shop.order.placed", read.Type);
        Assert.Equal(Time, read.Time);
        Assert.Equal("orders/o-42", read.Subject);
        Assert.Equal("application/json", read.DataContentType);
        Assert.Equal("o-42", read[Partitioning.PartitionKeyAttribute]);
        Assert.Equal(TraceParent, read[KafkaCloudEventBinding.TraceParentAttribute]);
        var data = Assert.IsType<byte[]>(read.Data);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"orderId":"o-42"}"""), JsonNode.Parse(data)));
    }

    [Fact]
    public void Structured_mode_data_base64_gives_the_raw_bytes()
    {
        var read = KafkaCloudEventBinding.ToCloudEvent(Record(Envelope("\"data_base64\":\"AAH/\""), ("content-type", StructuredJson)));

        Assert.Equal(new byte[] { 0x00, 0x01, 0xFF }, read.Data);
    }

    [Fact]
    public void Structured_mode_takes_the_record_key_as_partition_key_when_the_envelope_has_none()
    {
        var message = Record(Envelope(), ("Content-Type", "Application/CloudEvents+JSON"));
        message.Key = "o-42";

        var read = KafkaCloudEventBinding.ToCloudEvent(message);

        Assert.Equal("o-42", read[Partitioning.PartitionKeyAttribute]);
        Assert.Null(read.Data);
    }

    [Fact]
    public void Structured_mode_keeps_the_envelope_partition_key_over_the_record_key()
    {
        var message = Record(Envelope("\"partitionkey\":\"from-envelope\""), ("content-type", StructuredJson));
        message.Key = "from-key";

        Assert.Equal("from-envelope", KafkaCloudEventBinding.ToCloudEvent(message)[Partitioning.PartitionKeyAttribute]);
    }

    [Theory]
    [InlineData("""{"specversion":"1.0","id":""", "structured mode value cannot be decoded: ")]
    [InlineData("""{"specversion":"1.0","source":"/orders","type":"t"}""", "missing required attributes: id")]
    [InlineData("""{"specversion":"0.9","id":"evt-1","source":"/orders","type":"t"}""", "'0.9'")]
    [InlineData("""[1]""", "structured mode value cannot be decoded: ")]
    [InlineData("""{"specversion":"1.0","id":"evt-1","source":"/orders","type":"t","data":1,"data_base64":"AA=="}""", "both 'data' and 'data_base64'")]
    public void A_structured_record_with_a_value_that_is_not_a_CloudEvent_is_invalid(string value, string reasonPart)
    {
        var message = Record(Encoding.UTF8.GetBytes(value), ("content-type", StructuredJson));

        var error = Assert.Throws<InvalidCloudEventException>(() => KafkaCloudEventBinding.ToCloudEvent(message));

        Assert.StartsWith("structured mode value cannot be decoded: ", error.Reason);
        Assert.Contains(reasonPart, error.Reason);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(new byte[0])]
    public void A_structured_record_without_a_value_is_invalid(byte[]? value)
    {
        var message = Record(value, ("content-type", StructuredJson));

        var error = Assert.Throws<InvalidCloudEventException>(() => KafkaCloudEventBinding.ToCloudEvent(message));

        Assert.Equal("structured mode record without a value", error.Reason);
    }

    [Fact]
    public void The_batched_content_type_is_refused()
    {
        var message = Record([(byte)'[', .. Envelope(), (byte)']'], ("content-type", "application/cloudevents-batch+json"));

        var error = Assert.Throws<InvalidCloudEventException>(() => KafkaCloudEventBinding.ToCloudEvent(message));

        Assert.Equal("batched content mode is not part of the Kafka binding", error.Reason);
    }

    private static CloudEvent MinimalEvent() => new()
    {
        Id = "evt-1",
        Source = new Uri("/orders", UriKind.RelativeOrAbsolute),
        Type = "shop.order.placed",
    };

    private static CloudEvent FullEvent(byte[] data)
    {
        var cloudEvent = MinimalEvent();
        cloudEvent.Time = Time;
        cloudEvent.Subject = "orders/o-42";
        cloudEvent.DataContentType = "application/json";
        cloudEvent[Partitioning.PartitionKeyAttribute] = "o-42";
        cloudEvent[KafkaCloudEventBinding.TraceParentAttribute] = TraceParent;
        cloudEvent.Data = data;
        return cloudEvent;
    }

    private static (string Name, string Value)[] Required() =>
        [("ce_specversion", "1.0"), ("ce_id", "evt-1"), ("ce_source", "/orders"), ("ce_type", "shop.order.placed")];

    private static Message<string?, byte[]?> Record(byte[]? value, params (string Name, string Value)[] headers)
    {
        var kafkaHeaders = new Headers();
        foreach (var (name, headerValue) in headers)
        {
            kafkaHeaders.Add(name, Encoding.UTF8.GetBytes(headerValue));
        }

        return new Message<string?, byte[]?> { Value = value, Headers = kafkaHeaders };
    }

    private static byte[] Envelope(string member = "") => Encoding.UTF8.GetBytes(
        "{\"specversion\":\"1.0\",\"id\":\"evt-1\",\"source\":\"/orders\",\"type\":\"t\"" + (member.Length > 0 ? "," + member : "") + "}");
}
