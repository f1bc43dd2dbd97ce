using System.Globalization;
using System.Net;
using System.Text;
using CsCheck;

namespace ShopChoreography.Tests.Input;

/// <summary>A request a service must refuse, and the answer it must get: the status and the fields its problem names.</summary>
/// <param name="Marker">Text in the identifier the request would store, for looking up a row that must not exist.</param>
public sealed record BadRequest(string What, string Path, string? ContentType, byte[] Body, HttpStatusCode Status, string[] Fields, string Marker)
{
    public override string ToString() =>
        $"{What}: {Path} [{ContentType ?? "no content type"}] {Printable(Body)} -> {(int)Status} naming [{string.Join(", ", Fields)}]";

    private static string Printable(byte[] body) =>
        string.Concat(body.Take(400).Select(b => b is >= 0x20 and < 0x7F ? ((char)b).ToString() : $"\\x{b:X2}"))
        + (body.Length > 400 ? $"... ({body.Length} bytes)" : "");
}

/// <summary>
/// Generators of bad requests for the three write endpoints. The bodies are bytes, not text, because some bad input
/// (bytes that are not UTF-8) has no string form. Every generated request is bad in a way the generator knows, so it
/// also knows the answer: which field the problem details must name.
/// </summary>
public static class BadRequests
{
    public const string JsonContentType = "application/json";

    /// <summary><c>POST /orders</c> with one bad field, a broken body, or a body that is not JSON.</summary>
    public static Gen<BadRequest> PlaceOrder => Gen.Frequency(
        (3, OrderWithOneBadField()),
        (2, BrokenBody("/orders", ValidOrderMembers, "")),
        (1, NotJson("/orders", ValidOrderMembers, "")));

    /// <summary><c>PUT /accounts/{customerId}</c> with a bad customer id, a bad balance, a broken body, or one that is not JSON.</summary>
    public static Gen<BadRequest> SetBalance => PutWithOneBadPart("/accounts", "customerId", "balance", ValidMoney(1_000_000_000m),
        BadMoney(0m, minIsAllowed: true, 1_000_000_000m));

    /// <summary><c>PUT /stock/{sku}</c> with a bad SKU, a bad available count, a broken body, or one that is not JSON.</summary>
    public static Gen<BadRequest> SetStock => PutWithOneBadPart("/stock", "sku", "available", Gen.Int[0, 1_000_000_000].Select(Number),
        BadWholeNumber(0, 1_000_000_000));

    // ---- Values -------------------------------------------------------------------------------------------------

    private static readonly Gen<string> Letters = Gen.Char['a', 'z'].Array[0, 6].Select(chars => new string(chars));

    private static readonly Gen<string> ValidIdentifier = Gen.Guid.Select(id => $"id-{id:N}");

    private static readonly Gen<int> ValidQuantity = Gen.Int[1, 1000];

    /// <summary>
    /// Characters no identifier may hold, in each form JSON can carry them: control characters as escapes and as raw
    /// UTF-8, lone or reversed surrogates as escapes, and bytes that are not UTF-8 at all (a stray continuation byte,
    /// a truncated sequence, an overlong NUL, an encoded surrogate, a code point beyond U+10FFFF).
    /// </summary>
    private static readonly Gen<byte[]> UnusableCharacters = Gen.OneOf(
        Gen.OneOf(Gen.Int[0x00, 0x1F], Gen.Const(0x7F), Gen.Int[0x80, 0x9F]).Select(c => Utf8($"\\u{c:x4}")),
        Gen.OneOf("\\t", "\\n", "\\r", "\\b", "\\f").Select(Utf8),
        Gen.Int[0x80, 0x9F].Select(c => Utf8(((char)c).ToString())),
        Gen.Int[0xD800, 0xDFFF].Select(surrogate => Utf8($"\\u{surrogate:X4}")),
        Gen.Const(Utf8("\\udc00\\ud800")),
        Gen.OneOf<byte[]>([0x80], [0xFF], [0xFE], [0xC3], [0xE2, 0x82], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80]));

    /// <summary>A string token that is no identifier: unusable characters, blank, empty or too long.</summary>
    private static readonly Gen<byte[]> BadIdentifierString = Gen.Frequency(
        (6, from before in Letters from bad in UnusableCharacters from after in Letters
            select Concat(Utf8($"\"id-{before}"), bad, Utf8($"{after}\""))),
        (1, Gen.OneOf("\"\"", "\"   \"").Select(Utf8)),
        (1, Gen.Int[65, 300].Select(length => Utf8($"\"{new string('x', length)}\""))));

    /// <summary>Any JSON value, up to a few levels deep, written as text; object keys never repeat.</summary>
    private static Gen<string> JsonValue(int depth)
    {
        var scalar = Gen.OneOf(
            Gen.OneOf("null", "true", "false", "\"\"", "\"text\"", "\"\\ud800\"", "\"\\u0000\"", "\"2\""),
            Gen.Int.Select(Number),
            Gen.Double.Where(double.IsFinite).Select(d => d.ToString("R", CultureInfo.InvariantCulture)),
            Gen.OneOf("1e400", "-1e400", "1e-400", "5e-324", "99999999999999999999999999999999", "-0", "0.5"));
        if (depth == 0)
        {
            return scalar;
        }

        var array = JsonValue(depth - 1).Array[0, 3].Select(items => $"[{string.Join(",", items)}]");
        var obj = Gen.Select(Letters.Array[0, 3], JsonValue(depth - 1).Array[3], (keys, values) =>
            "{" + string.Join(",", keys.Distinct().Select((key, i) => $"\"{key}\":{values[i]}")) + "}");
        return Gen.Frequency((4, scalar), (1, array), (1, obj));
    }

    private static Gen<byte[]> JsonValueWhere(Func<string, bool> kind) => JsonValue(3).Where(kind).Select(Utf8);

    private static bool IsString(string json) => json.StartsWith('"');

    private static bool IsNumber(string json) => json[0] is '-' or (>= '0' and <= '9');

    private static Gen<byte[]> BadIdentifier => Gen.Frequency(
        (8, BadIdentifierString),
        (3, JsonValueWhere(json => !IsString(json))));

    /// <summary>A whole number outside [min, max], a fraction, huge or tiny, or not a number at all.</summary>
    private static Gen<byte[]> BadWholeNumber(long min, long max) => Gen.Frequency(
        (2, Gen.Long[min - 1_000_000, min - 1].Select(n => n.ToString(CultureInfo.InvariantCulture))),
        (2, Gen.Long[max + 1, max + 1_000_000_000_000].Select(n => n.ToString(CultureInfo.InvariantCulture))),
        (2, from whole in Gen.Int[0, 1000] from fraction in Gen.Int[1, 99] select $"{whole}.{fraction:00}"),
        (2, Gen.OneOf("2147483648", "-2147483649", "9223372036854775808", "1e400", "-1e400", "1e-400", "5e-324", "1e-7", "-1e-30")),
        (3, JsonValue(3).Where(json => !IsNumber(json))))
        .Select(Utf8);

    /// <summary>An amount outside its range, with more than 2 decimals (however written), huge or tiny, or not a number.</summary>
    private static Gen<byte[]> BadMoney(decimal min, bool minIsAllowed, decimal max) => Gen.Frequency(
        (2, from whole in Gen.Int[0, 1000] from zeros in Gen.Int[2, 40] from last in Gen.Int[1, 9]
            select $"{whole}.{new string('0', zeros)}{last}"),
        (2, from mantissa in Gen.Int[1, 999].Where(m => m % 10 != 0) from exponent in Gen.Int[3, 400]
            select $"{mantissa}e-{exponent}"),
        (2, Gen.Int[1, 1_000_000].Select(cents => $"{min - cents / 100m:0.00}")),
        (2, Gen.Long[1, 100_000_000].Select(cents => $"{max + cents / 100m:0.00}")),
        (1, Gen.OneOf(minIsAllowed ? new[] { "1e29", "1e400", "-1e400" } : ["0", "0.00", "-0", "1e29", "1e400"])),
        (1, Gen.OneOf("79228162514264337593543950336", "1E+30", "5e-324", "1e-400")),
        (3, JsonValue(3).Where(json => !IsNumber(json))))
        .Select(Utf8);

    private static Gen<string> ValidMoney(decimal max) =>
        Gen.Long[0, (long)(max * 100)].Select(cents => (cents / 100m).ToString("0.00", CultureInfo.InvariantCulture));

    // ---- POST /orders -------------------------------------------------------------------------------------------

    private static Gen<Member[]> ValidLine =>
        from sku in ValidIdentifier
        from quantity in ValidQuantity
        from price in ValidMoney(1_000_000m).Where(price => price != "0.00")
        select new Member[] { new("sku", JsonText(sku)), new("quantity", Utf8(Number(quantity))), new("unitPrice", Utf8(price)) };

    private static Gen<Member[]> ValidOrderMembers =>
        from customerId in ValidIdentifier
        from lines in ValidLine.Array[1, 3]
        select new Member[] { new("customerId", JsonText(customerId)), new("items", JsonArray(lines.Select(JsonObject))) };

    /// <summary>A valid order but for one field: bad, of the wrong type, null or left out.</summary>
    private static Gen<BadRequest> OrderWithOneBadField() =>
        from customerId in ValidIdentifier
        from lines in ValidLine.Array[1, 3]
        from line in Gen.Int[0, lines.Length - 1]
        from target in Gen.OneOf("customerId", "items", "line", "sku", "quantity", "unitPrice")
        from bad in target switch
        {
            "customerId" or "sku" => BadIdentifier,
            "items" => Gen.OneOf(Gen.Const(Utf8("[]")), Gen.Const(JsonArray(Enumerable.Repeat(JsonObject(lines[0]), 101))),
                JsonValueWhere(json => !json.StartsWith('['))),
            "line" => JsonValueWhere(json => !json.StartsWith('{')),
            "quantity" => BadWholeNumber(1, 1000),
            _ => BadMoney(0m, minIsAllowed: false, 1_000_000m),
        }
        from leftOut in Gen.Frequency((9, Gen.Const(false)), (1, Gen.Const(true)))
        let value = leftOut && target != "line" ? null : bad
        let items = lines.Select((members, i) => i != line ? JsonObject(members) : target switch
        {
            "line" => value!,
            "sku" or "quantity" or "unitPrice" => JsonObject(Replace(members, target, value)),
            _ => JsonObject(members),
        })
        let body = JsonObject(Replace([new("customerId", JsonText(customerId)), new("items", JsonArray(items))], target, value))
        let field = target switch
        {
            "customerId" or "items" => target,
            "line" => $"items[{line}]",
            _ => $"items[{line}].{target}",
        }
        select new BadRequest($"order with a bad {field}", "/orders", JsonContentType, body, HttpStatusCode.BadRequest, [field], customerId);

    // ---- PUT /accounts/{customerId}, PUT /stock/{sku} -----------------------------------------------------------

    private static Gen<BadRequest> PutWithOneBadPart(string resource, string idField, string valueField, Gen<string> validValue,
        Gen<byte[]> badValue)
    {
        var validBody = validValue.Select(value => new Member[] { new(valueField, Utf8(value)) });
        var badId =
            from id in ValidIdentifier
            from bad in BadPathText
            from body in validBody
            select new BadRequest($"bad {idField} in the path", $"{resource}/{id}{bad}", JsonContentType, JsonObject(body),
                HttpStatusCode.BadRequest, [idField], id);
        var badBodyValue =
            from id in ValidIdentifier
            from bad in badValue
            from leftOut in Gen.Frequency((9, Gen.Const(false)), (1, Gen.Const(true)))
            select new BadRequest($"bad {valueField}", $"{resource}/{id}", JsonContentType,
                JsonObject([new(valueField, leftOut ? null : bad)]), HttpStatusCode.BadRequest, [valueField], id);
        var idGen = ValidIdentifier;
        return Gen.Frequency(
            (2, badId),
            (2, badBodyValue),
            (2, from id in idGen from request in BrokenBody($"{resource}/{id}", validBody, id) select request),
            (1, from id in idGen from request in NotJson($"{resource}/{id}", validBody, id) select request));
    }

    /// <summary>
    /// What follows a valid identifier in a path to spoil it, percent-encoded as a client sends it: control
    /// characters (but NUL, which Kestrel refuses itself), escapes that are not UTF-8, or enough to be too long.
    /// </summary>
    private static readonly Gen<string> BadPathText = Gen.OneOf(
        Gen.OneOf(Gen.Int[0x01, 0x1F], Gen.Const(0x7F)).Select(c => $"%{c:X2}"),
        Gen.Int[0x80, 0x9F].Select(c => $"%C2%{c:X2}"),
        Gen.OneOf("%80", "%FF", "%C3", "%E2%82", "%C0%80", "%ED%A0%80", "%ED%B0%80", "%F4%90%80%80"),
        Gen.Int[62, 200].Select(length => new string('x', length)));

    // ---- Broken bodies and bodies that are not JSON -------------------------------------------------------------

    /// <summary>
    /// A body that is not one well-formed JSON object: empty, cut short, trailing junk, random bytes, another kind of
    /// value, a property given twice, nesting deeper than the parser's 64 levels, a raw control character in a string.
    /// </summary>
    private static Gen<BadRequest> BrokenBody(string path, Gen<Member[]> validMembers, string marker)
    {
        var broken = Gen.OneOf(
            Gen.OneOf("", "   ", "\r\n").Select(Utf8),
            from members in validMembers
            let body = JsonObject(members)
            from length in Gen.Int[1, body.Length - 1]
            select body[..length],
            from members in validMembers from junk in Gen.OneOf("}", "x", ",", "{}", "[", "\"")
            select Concat(JsonObject(members), Utf8(junk)),
            from bytes in Gen.Byte.Array[1, 64].Where(bytes => bytes[0] is not ((byte)'{' or (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or 0xEF))
            select bytes,
            JsonValueWhere(json => !json.StartsWith('{')),
            from members in validMembers
            from twice in Gen.Int[0, members.Length - 1]
            from spelling in Gen.OneOf(members[twice].Name, EscapedFirstLetter(members[twice].Name))
            select JsonObject([.. members, new Member(spelling, members[twice].Value)]),
            from members in validMembers
            from depth in Gen.Int[65, 3000]
            from open in Gen.OneOf("[", "{\"a\":")
            select JsonObject([.. members, new Member("nested", Utf8(string.Concat(Enumerable.Repeat(open, depth)) + "1"
                + new string(open == "[" ? ']' : '}', depth)))]),
            from members in validMembers from control in Gen.Int[0x00, 0x1F]
            select JsonObject([.. members, new Member("note", Concat(Utf8("\"a"), [(byte)control], Utf8("b\"")))]),
            from members in validMembers
            select Utf8(Encoding.UTF8.GetString(JsonObject(members)).Replace('"', '\'')));
        return broken.Select(body => new BadRequest("broken body", path, JsonContentType, body, HttpStatusCode.BadRequest, ["body"], marker));
    }

    /// <summary>A valid body sent as something other than JSON, or with no content type at all.</summary>
    private static Gen<BadRequest> NotJson(string path, Gen<Member[]> validMembers, string marker) =>
        from members in validMembers
        from contentType in Gen.OneOf<string?>(null, "text/plain", "text/html; charset=utf-8", "application/xml", "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=b", "application/octet-stream", "application/javascript", "application/json-seq", "json")
        select new BadRequest("not JSON", path, contentType, JsonObject(members), HttpStatusCode.UnsupportedMediaType, [], marker);

    // ---- JSON as bytes ------------------------------------------------------------------------------------------

    /// <summary>A member of a JSON object; a null value leaves it out.</summary>
    private sealed record Member(string Name, byte[]? Value);

    private static Member[] Replace(Member[] members, string name, byte[]? value) =>
        [.. members.Select(member => member.Name == name ? member with { Value = value } : member)];

    private static byte[] JsonObject(IEnumerable<Member> members) =>
        Concat([Utf8("{"), .. members.Where(m => m.Value is not null).Select((m, i) => Concat(Utf8($"{(i > 0 ? ", " : "")}\"{m.Name}\": "), m.Value!)), Utf8("}")]);

    private static byte[] JsonArray(IEnumerable<byte[]> items) =>
        Concat([Utf8("["), .. items.Select((item, i) => i > 0 ? Concat(Utf8(", "), item) : item), Utf8("]")]);

    private static byte[] JsonText(string text) => Utf8($"\"{text}\"");

    private static string EscapedFirstLetter(string name) => $"\\u{(int)name[0]:x4}{name[1..]}";

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(part => part)];
}
