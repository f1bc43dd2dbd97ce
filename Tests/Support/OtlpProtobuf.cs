using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace ShopChoreography.Tests.Support;

/// <summary>A span as a service exported it.</summary>
public sealed record ExportedSpan(
    string Service, string Scope, string TraceId, string SpanId, string ParentSpanId, string Name, int Kind,
    DateTimeOffset Start, IReadOnlyDictionary<string, string> Attributes)
{
    public const int ServerKind = 2;
    public const int ProducerKind = 4;
    public const int ConsumerKind = 5;

    public string? this[string attribute] => Attributes.GetValueOrDefault(attribute);

    public override string ToString() => $"{Service} {Name} ({Scope}) {SpanId} <- {ParentSpanId}";
}

/// <summary>A log record as a service exported it, its attributes holding its logging scopes' fields.</summary>
public sealed record ExportedLog(string Service, string Category, string TraceId, string Body, IReadOnlyDictionary<string, string> Attributes);

/// <summary>One data point of a metric: a gauge's or sum's value, or a histogram's sum, count and bucket boundaries.</summary>
public sealed record ExportedPoint(string Service, string Metric, DateTimeOffset Time, IReadOnlyDictionary<string, string> Attributes,
    double Value, ulong Count, IReadOnlyList<double>? Bounds = null);

/// <summary>
/// Reads the OTLP/HTTP protobuf export requests (opentelemetry-proto's trace, logs and metrics services), keeping only
/// the fields the tests look at. The wire format is small enough to read by hand; the generated classes are not
/// served to this project.
/// </summary>
public static class OtlpProtobuf
{
    public static List<ExportedSpan> ReadSpans(byte[] request)
    {
        var spans = new List<ExportedSpan>();
        // ExportTraceServiceRequest.resource_spans = 1 -> ResourceSpans { resource = 1, scope_spans = 2 }
        foreach (var (resource, scopes) in Resources(request))
        {
            foreach (var (scope, items) in scopes)
            {
                foreach (var item in items)
                {
                    spans.Add(ReadSpan(resource, scope, item));
                }
            }
        }

        return spans;
    }

    public static List<ExportedLog> ReadLogs(byte[] request)
    {
        var logs = new List<ExportedLog>();
        foreach (var (resource, scopes) in Resources(request))
        {
            foreach (var (scope, items) in scopes)
            {
                foreach (var item in items)
                {
                    // LogRecord { body = 5 (AnyValue), attributes = 6, trace_id = 9 }
                    string body = "", traceId = "";
                    var attributes = new Dictionary<string, string>();
                    foreach (var field in Fields(item))
                    {
                        switch (field.Number)
                        {
                            case 5: body = AnyValue(field.Bytes); break;
                            case 6: AddKeyValue(attributes, field.Bytes); break;
                            case 9: traceId = Convert.ToHexStringLower(field.Bytes); break;
                        }
                    }

                    logs.Add(new ExportedLog(resource, scope, traceId, body, attributes));
                }
            }
        }

        return logs;
    }

    public static List<ExportedPoint> ReadMetrics(byte[] request)
    {
        var points = new List<ExportedPoint>();
        foreach (var (resource, scopes) in Resources(request))
        {
            foreach (var (_, metrics) in scopes)
            {
                foreach (var metric in metrics)
                {
                    // Metric { name = 1, gauge = 5, sum = 7, histogram = 9 }; each holds data_points = 1.
                    var name = "";
                    foreach (var field in Fields(metric))
                    {
                        if (field.Number == 1)
                        {
                            name = Encoding.UTF8.GetString(field.Bytes);
                        }
                        else if (field.Number is 5 or 7 or 9)
                        {
                            foreach (var point in Fields(field.Bytes).Where(f => f.Number == 1))
                            {
                                points.Add(field.Number == 9 ? ReadHistogramPoint(resource, name, point.Bytes) : ReadNumberPoint(resource, name, point.Bytes));
                            }
                        }
                    }
                }
            }
        }

        return points;
    }

    /// <summary>The top level every OTLP request shares: resources, each with scopes, each with its items.</summary>
    private static IEnumerable<(string Service, List<(string Scope, List<byte[]> Items)> Scopes)> Resources(byte[] request)
    {
        foreach (var resourceItems in Fields(request).Where(f => f.Number == 1))
        {
            var service = "";
            var scopes = new List<(string, List<byte[]>)>();
            foreach (var field in Fields(resourceItems.Bytes))
            {
                if (field.Number == 1)
                {
                    // Resource { attributes = 1 }
                    var attributes = new Dictionary<string, string>();
                    foreach (var attribute in Fields(field.Bytes).Where(f => f.Number == 1))
                    {
                        AddKeyValue(attributes, attribute.Bytes);
                    }

                    service = attributes.GetValueOrDefault("service.name", "");
                }
                else if (field.Number == 2)
                {
                    // ScopeX { scope = 1 (InstrumentationScope { name = 1 }), items = 2 }
                    var scope = "";
                    var items = new List<byte[]>();
                    foreach (var scopeField in Fields(field.Bytes))
                    {
                        if (scopeField.Number == 1)
                        {
                            scope = Fields(scopeField.Bytes).Where(f => f.Number == 1).Select(f => Encoding.UTF8.GetString(f.Bytes)).FirstOrDefault() ?? "";
                        }
                        else if (scopeField.Number == 2)
                        {
                            items.Add(scopeField.Bytes);
                        }
                    }

                    scopes.Add((scope, items));
                }
            }

            yield return (service, scopes);
        }
    }

    private static ExportedSpan ReadSpan(string service, string scope, byte[] span)
    {
        // Span { trace_id = 1, span_id = 2, parent_span_id = 4, name = 5, kind = 6, start_time_unix_nano = 7, attributes = 9 }
        string traceId = "", spanId = "", parentSpanId = "", name = "";
        var kind = 0;
        ulong start = 0;
        var attributes = new Dictionary<string, string>();
        foreach (var field in Fields(span))
        {
            switch (field.Number)
            {
                case 1: traceId = Convert.ToHexStringLower(field.Bytes); break;
                case 2: spanId = Convert.ToHexStringLower(field.Bytes); break;
                case 4: parentSpanId = Convert.ToHexStringLower(field.Bytes); break;
                case 5: name = Encoding.UTF8.GetString(field.Bytes); break;
                case 6: kind = (int)field.Number64; break;
                case 7: start = field.Number64; break;
                case 9: AddKeyValue(attributes, field.Bytes); break;
            }
        }

        return new ExportedSpan(service, scope, traceId, spanId, parentSpanId, name, kind, FromUnixNanos(start), attributes);
    }

    private static ExportedPoint ReadNumberPoint(string service, string metric, byte[] point)
    {
        // NumberDataPoint { time_unix_nano = 3, as_double = 4, as_int = 6, attributes = 7 }
        ulong time = 0;
        double value = 0;
        var attributes = new Dictionary<string, string>();
        foreach (var field in Fields(point))
        {
            switch (field.Number)
            {
                case 3: time = field.Number64; break;
                case 4: value = BitConverter.UInt64BitsToDouble(field.Number64); break;
                case 6: value = (long)field.Number64; break;
                case 7: AddKeyValue(attributes, field.Bytes); break;
            }
        }

        return new ExportedPoint(service, metric, FromUnixNanos(time), attributes, value, 0);
    }

    private static ExportedPoint ReadHistogramPoint(string service, string metric, byte[] point)
    {
        // HistogramDataPoint { time_unix_nano = 3, count = 4, sum = 5, explicit_bounds = 7 (packed doubles), attributes = 9 }
        ulong time = 0, count = 0;
        double sum = 0;
        var bounds = new List<double>();
        var attributes = new Dictionary<string, string>();
        foreach (var field in Fields(point))
        {
            switch (field.Number)
            {
                case 3: time = field.Number64; break;
                case 4: count = field.Number64; break;
                case 5: sum = BitConverter.UInt64BitsToDouble(field.Number64); break;
                case 7: bounds.AddRange(MemoryMarshal.Cast<byte, double>(field.Bytes).ToArray()); break;
                case 9: AddKeyValue(attributes, field.Bytes); break;
            }
        }

        return new ExportedPoint(service, metric, FromUnixNanos(time), attributes, sum, count, bounds);
    }

    private static void AddKeyValue(Dictionary<string, string> attributes, byte[] keyValue)
    {
        // KeyValue { key = 1, value = 2 (AnyValue) }
        string key = "", value = "";
        foreach (var field in Fields(keyValue))
        {
            if (field.Number == 1)
            {
                key = Encoding.UTF8.GetString(field.Bytes);
            }
            else if (field.Number == 2)
            {
                value = AnyValue(field.Bytes);
            }
        }

        attributes[key] = value;
    }

    private static string AnyValue(byte[] anyValue)
    {
        // AnyValue { string_value = 1, bool_value = 2, int_value = 3, double_value = 4 }
        foreach (var field in Fields(anyValue))
        {
            return field.Number switch
            {
                1 => Encoding.UTF8.GetString(field.Bytes),
                2 => field.Number64 != 0 ? "true" : "false",
                3 => ((long)field.Number64).ToString(CultureInfo.InvariantCulture),
                4 => BitConverter.UInt64BitsToDouble(field.Number64).ToString(CultureInfo.InvariantCulture),
                _ => "",
            };
        }

        return "";
    }

    private static DateTimeOffset FromUnixNanos(ulong nanos) => DateTimeOffset.UnixEpoch.AddTicks((long)(nanos / 100));

    /// <summary>A field of a message: a number (varint or fixed) or the bytes of a length-delimited value.</summary>
    private readonly record struct Field(int Number, ulong Number64, byte[] Bytes);

    private static List<Field> Fields(byte[] message)
    {
        var fields = new List<Field>();
        var position = 0;
        while (position < message.Length)
        {
            var tag = Varint(message, ref position);
            var number = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0:
                    fields.Add(new Field(number, Varint(message, ref position), []));
                    break;
                case 1:
                    fields.Add(new Field(number, BinaryPrimitives.ReadUInt64LittleEndian(message.AsSpan(position, 8)), []));
                    position += 8;
                    break;
                case 2:
                    var length = (int)Varint(message, ref position);
                    fields.Add(new Field(number, 0, message.AsSpan(position, length).ToArray()));
                    position += length;
                    break;
                case 5:
                    fields.Add(new Field(number, BinaryPrimitives.ReadUInt32LittleEndian(message.AsSpan(position, 4)), []));
                    position += 4;
                    break;
                default:
                    throw new FormatException($"Unsupported protobuf wire type {tag & 7} at byte {position}.");
            }
        }

        return fields;
    }

    private static ulong Varint(byte[] message, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = message[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }
}
