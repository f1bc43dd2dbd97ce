using System.Net.Mime;
using System.Text;
using System.Text.Json;
using CloudNative.CloudEvents;
using CloudNative.CloudEvents.Extensions;
using CloudNative.CloudEvents.SystemTextJson;
using Confluent.Kafka;

namespace ShopChoreography.Messaging.CloudEvents;

/// <summary>
/// The CloudEvents Kafka protocol binding (CloudEvents 1.0) on top of CloudNative.CloudEvents, whose own Kafka
/// package is not available here. Sends binary content mode; reads binary and structured mode.
/// Data is carried as raw bytes in both directions: the caller owns its (JSON) serialization.
/// </summary>
public static class KafkaCloudEventBinding
{
    public const string ContentTypeHeader = "content-type";
    public const string HeaderPrefix = "ce_";
    private const string StructuredContentTypePrefix = "application/cloudevents";
    private const string BatchContentTypePrefix = "application/cloudevents-batch";

    /// <summary>The W3C trace context of the distributed tracing extension.</summary>
    public static readonly CloudEventAttribute TraceParentAttribute =
        CloudEventAttribute.CreateExtension("traceparent", CloudEventAttributeType.String);

    public static readonly CloudEventAttribute TraceStateAttribute =
        CloudEventAttribute.CreateExtension("tracestate", CloudEventAttributeType.String);

    /// <summary>
    /// <c>healing: true</c> marks an event sent again with its original id to heal a stuck saga: a consumer that
    /// already applied it answers by sending again what it published then.
    /// </summary>
    public static readonly CloudEventAttribute HealingAttribute =
        CloudEventAttribute.CreateExtension("healing", CloudEventAttributeType.Boolean);

    /// <summary>The extension attributes a consumer understands; others are kept as strings.</summary>
    public static readonly IReadOnlyList<CloudEventAttribute> ExtensionAttributes =
        [Partitioning.PartitionKeyAttribute, TraceParentAttribute, TraceStateAttribute, HealingAttribute];

    public static bool IsHealing(CloudEvent cloudEvent) => cloudEvent[HealingAttribute] is true;

    private static readonly JsonEventFormatter StructuredFormatter = new();

    /// <summary>
    /// Binary content mode: every attribute as a <c>ce_</c> header (UTF-8), <c>datacontenttype</c> as
    /// <c>content-type</c>, the data as the value, and the <c>partitionkey</c> extension as the record key
    /// (kept as <c>ce_partitionkey</c> too).
    /// </summary>
    public static Message<string?, byte[]?> ToKafkaMessage(CloudEvent cloudEvent)
    {
        cloudEvent.Validate();
        if (cloudEvent.Data is not (null or byte[]))
        {
            throw new ArgumentException("Binary content mode needs the event data as UTF-8 bytes.", nameof(cloudEvent));
        }

        // specversion is not among the populated attributes: it is the event's SpecVersion.
        var headers = new Headers { { HeaderPrefix + "specversion", Encoding.UTF8.GetBytes(cloudEvent.SpecVersion.VersionId) } };
        foreach (var (attribute, value) in cloudEvent.GetPopulatedAttributes())
        {
            var name = attribute == cloudEvent.SpecVersion.DataContentTypeAttribute
                ? ContentTypeHeader
                : HeaderPrefix + attribute.Name;
            headers.Add(name, Encoding.UTF8.GetBytes(attribute.Format(value)));
        }

        return new Message<string?, byte[]?>
        {
            Key = (string?)cloudEvent[Partitioning.PartitionKeyAttribute],
            Value = (byte[]?)cloudEvent.Data,
            Headers = headers,
        };
    }

    /// <summary>
    /// Reads a record as a CloudEvent, choosing the mode by the <c>content-type</c> header as the binding says
    /// (structured when it starts with <c>application/cloudevents</c>). Header names match case-insensitively.
    /// The result's Data is the event data as bytes, or null when the record has none.
    /// </summary>
    /// <exception cref="InvalidCloudEventException">The record is not a valid CloudEvent.</exception>
    public static CloudEvent ToCloudEvent(Message<string?, byte[]?> message)
    {
        var headers = message.Headers ?? [];
        var contentType = HeaderValue(headers, ContentTypeHeader);
        return contentType is not null && contentType.StartsWith(StructuredContentTypePrefix, StringComparison.OrdinalIgnoreCase)
            ? FromStructuredMode(message, contentType)
            : FromBinaryMode(message, headers, contentType);
    }

    private static CloudEvent FromBinaryMode(Message<string?, byte[]?> message, Headers headers, string? contentType)
    {
        var specVersionId = HeaderValue(headers, HeaderPrefix + "specversion")
            ?? throw new InvalidCloudEventException(
                "no ce_specversion header (binary mode) and the content-type is not application/cloudevents (structured mode)");
        var specVersion = CloudEventsSpecVersion.FromVersionId(specVersionId)
            ?? throw new InvalidCloudEventException($"unsupported specversion '{specVersionId}'");

        var cloudEvent = new CloudEvent(specVersion, ExtensionAttributes);
        foreach (var header in headers)
        {
            if (!header.Key.StartsWith(HeaderPrefix, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var attributeName = header.Key[HeaderPrefix.Length..].ToLowerInvariant();
            if (attributeName == "specversion")
            {
                continue;
            }

            var value = Utf8(header.GetValueBytes(), header.Key);
            try
            {
                cloudEvent.SetAttributeFromString(attributeName, value);
            }
            catch (ArgumentException ex)
            {
                throw new InvalidCloudEventException($"header '{header.Key}' has an invalid value '{value}': {FirstLine(ex.Message)}", ex);
            }
        }

        if (contentType is not null)
        {
            try
            {
                cloudEvent.DataContentType = contentType;
            }
            catch (ArgumentException ex)
            {
                throw new InvalidCloudEventException($"content-type '{contentType}' is not a valid media type: {FirstLine(ex.Message)}", ex);
            }
        }

        cloudEvent.Data = message.Value;
        return Validated(cloudEvent);
    }

    private static CloudEvent FromStructuredMode(Message<string?, byte[]?> message, string contentType)
    {
        if (contentType.StartsWith(BatchContentTypePrefix, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidCloudEventException("batched content mode is not part of the Kafka binding");
        }

        if (message.Value is not { Length: > 0 } body)
        {
            throw new InvalidCloudEventException("structured mode record without a value");
        }

        CloudEvent cloudEvent;
        try
        {
            cloudEvent = StructuredFormatter.DecodeStructuredModeMessage(body, new ContentType(contentType), ExtensionAttributes);
        }
        catch (Exception ex) when (ex is ArgumentException or JsonException or FormatException or InvalidOperationException)
        {
            throw new InvalidCloudEventException($"structured mode value cannot be decoded: {FirstLine(ex.Message)}", ex);
        }

        cloudEvent.Data = cloudEvent.Data switch
        {
            null => null,
            byte[] bytes => bytes, // data_base64
            JsonElement json => Encoding.UTF8.GetBytes(json.GetRawText()), // as written: re-encoding could throw on bad text
            string text => Encoding.UTF8.GetBytes(text),
            var other => throw new InvalidCloudEventException($"unsupported structured data of type {other.GetType().Name}"),
        };
        if (cloudEvent[Partitioning.PartitionKeyAttribute] is null && message.Key is not null)
        {
            cloudEvent[Partitioning.PartitionKeyAttribute] = message.Key;
        }

        return Validated(cloudEvent);
    }

    private static CloudEvent Validated(CloudEvent cloudEvent)
    {
        if (cloudEvent.IsValid)
        {
            return cloudEvent;
        }

        var missing = cloudEvent.SpecVersion.RequiredAttributes.Where(attribute => cloudEvent[attribute] is null).Select(a => a.Name);
        throw new InvalidCloudEventException($"missing required attribute(s): {string.Join(", ", missing)}");
    }

    private static string? HeaderValue(Headers headers, string name)
    {
        string? value = null;
        foreach (var header in headers)
        {
            if (string.Equals(header.Key, name, StringComparison.OrdinalIgnoreCase))
            {
                value = Utf8(header.GetValueBytes(), header.Key); // the last one wins, as with Headers.GetLastBytes
            }
        }

        return value;
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static string Utf8(byte[]? bytes, string headerName)
    {
        try
        {
            return bytes is null ? "" : StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException ex)
        {
            throw new InvalidCloudEventException($"header '{headerName}' is not UTF-8", ex);
        }
    }

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();
}
