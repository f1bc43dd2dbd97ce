using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace ShopChoreography.ServiceDefaults.Http;

/// <summary>
/// Reads a JSON request body that an endpoint validates field by field, so that a bad request can be told about every
/// bad field at once, rather than binding it to a type.
/// </summary>
public static class JsonRequestBody
{
    /// <summary>The field a problem with the body as a whole is reported under.</summary>
    public const string Field = "body";

    /// <summary>Two values for one property would leave it to chance which one counts.</summary>
    private static readonly JsonDocumentOptions Options = new() { AllowDuplicateProperties = false };

    /// <summary>The body as one JSON object, or why it is not one.</summary>
    public static async Task<(JsonDocument? Body, string? Problem)> ReadObjectAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, Options, cancellationToken);
        }
        catch (JsonException ex)
        {
            return (null, $"The body must be one JSON object with no property given twice: {ex.Message}");
        }
        catch (InvalidOperationException)
        {
            // Looking for duplicates unescapes every property name, which fails on one holding an escaped lone surrogate.
            return (null, "The body must be valid Unicode: a property name holds an unpaired surrogate.");
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            return (null, "The body must be a JSON object.");
        }

        return (document, null);
    }

    /// <summary>
    /// The text of a JSON string, or null when no string can hold it faithfully: its bytes are not UTF-8, or it
    /// escapes a lone surrogate.
    /// </summary>
    public static string? GetUnicodeText(this JsonElement value)
    {
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// A number with at most 2 decimal places, read exactly and with a scale of 2 (so 5 and 5.00 are the same amount).
    /// The decimal places are counted in the JSON text, since a decimal rounds what it cannot hold: 1e-30 would read
    /// as 0, and 5.000000000000000000000000000001 as 5.
    /// </summary>
    public static bool TryGetAmount(this JsonElement value, out decimal amount)
    {
        amount = 0;
        if (value.ValueKind != JsonValueKind.Number || DecimalPlaces(value.GetRawText()) > 2 || !value.TryGetDecimal(out var read))
        {
            return false;
        }

        amount = decimal.Round(read, 2) + 0.00m;
        return true;
    }

    /// <summary>The decimal places of a JSON number's value: 5.10 has 1, 100e-3 has 1, 1e-30 has 30, 1E2 has none.</summary>
    private static long DecimalPlaces(string number)
    {
        var exponentAt = number.IndexOfAny(['e', 'E']);
        var mantissa = exponentAt < 0 ? number : number[..exponentAt];
        if (!int.TryParse(exponentAt < 0 ? "0" : number[(exponentAt + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture,
                out var exponent) || Math.Abs(exponent) > 1000)
        {
            return long.MaxValue; // an exponent far beyond any amount's
        }

        var pointAt = mantissa.IndexOf('.');
        var fractionDigits = pointAt < 0 ? 0 : mantissa.Length - pointAt - 1;
        var digits = mantissa.Replace("-", "").Replace(".", "");
        var trailingZeros = digits.Length - digits.TrimEnd('0').Length;
        return trailingZeros == digits.Length ? 0 : Math.Max(0, fractionDigits - trailingZeros - exponent);
    }
}
