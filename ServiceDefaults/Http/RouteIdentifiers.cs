using System.Globalization;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace ShopChoreography.ServiceDefaults.Http;

/// <summary>Identifiers carried in a path, such as <c>/accounts/{customerId}</c>.</summary>
public static class RouteIdentifiers
{
    /// <summary>
    /// Why the route value <paramref name="parameter"/> breaks <paramref name="rule"/> (which names the parameter in
    /// its answer); null when it keeps it. For a route whose only free text is that parameter.
    /// </summary>
    public static string? RouteValueProblem(this HttpRequest request, string parameter, Func<string?, string, string?> rule)
    {
        // Kestrel leaves percent-escapes that decode to no UTF-8 (%FF, or %ED%A0%80 for a lone surrogate) as they
        // are, so the route value reads "%FF", just as if the client had meant it by writing %25FF: only the raw
        // target tells the two apart.
        var rawTarget = request.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget ?? "";
        return PercentDecodesToUtf8(rawTarget.Split('?')[0])
            ? rule(request.RouteValues[parameter] as string, parameter)
            : $"{parameter} must be percent-encoded UTF-8: the path holds escapes that decode to no text.";
    }

    /// <summary>Kestrel refuses a request target holding anything but ASCII, so each character is one byte.</summary>
    private static bool PercentDecodesToUtf8(string rawPath)
    {
        var bytes = new byte[rawPath.Length];
        var length = 0;
        for (var i = 0; i < rawPath.Length; i++)
        {
            if (rawPath[i] == '%' && i + 2 < rawPath.Length &&
                byte.TryParse(rawPath.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var escaped))
            {
                bytes[length++] = escaped;
                i += 2;
            }
            else
            {
                bytes[length++] = (byte)rawPath[i];
            }
        }

        return Utf8.IsValid(bytes.AsSpan(0, length));
    }
}
