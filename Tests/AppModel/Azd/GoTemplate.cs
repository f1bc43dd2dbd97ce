using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace ShopChoreography.Tests.AppModel.Azd;

/// <summary>
/// What azd does with a container app template before deploying it: Go's text/template with
/// <c>missingkey=error</c>, the data <c>.Env</c> and <c>.Image</c>, and the functions <c>securedParameter</c>,
/// <c>parameter</c>, <c>parameterWithDefault</c> and <c>targetPortOrDefault</c>. This renders the subset our templates
/// and azd's resolved manifest values use: those calls, <c>.Env.NAME</c>, <c>.Image</c>, whitespace trimming
/// (<c>{{-</c>, <c>-}}</c>) and <c>if eq (index .Env "NAME") "value"</c> … <c>else</c> … <c>end</c>. Anything else is an
/// error, so a template cannot quietly use a construct this check does not understand.
/// </summary>
public static partial class GoTemplate
{
    public sealed record Data(
        IReadOnlyDictionary<string, string> Env, string Image, IReadOnlyDictionary<string, string> Parameters, int PublishedPort);

    public static string Render(string template, Data data)
    {
        var output = new StringBuilder();
        var emitting = new Stack<(bool Active, bool Taken)>();
        bool Active() => emitting.All(frame => frame.Active);

        foreach (var (text, action) in Tokenize(template))
        {
            if (action is null)
            {
                if (Active())
                {
                    output.Append(text);
                }

                continue;
            }

            if (IfEquals().Match(action) is { Success: true } condition)
            {
                var holds = Active() && Index(data, condition.Groups["key"].Value) == condition.Groups["value"].Value;
                emitting.Push((holds, holds));
            }
            else if (action == "else")
            {
                var (_, taken) = emitting.Count > 0 ? emitting.Pop() : throw new FormatException("'else' without 'if'");
                emitting.Push((!taken, true));
            }
            else if (action == "end")
            {
                _ = emitting.Count > 0 ? emitting.Pop() : throw new FormatException("'end' without 'if'");
            }
            else if (Active())
            {
                output.Append(Evaluate(action, data));
            }
        }

        return emitting.Count == 0 ? output.ToString() : throw new FormatException("'if' without 'end'");
    }

    private static string Index(Data data, string key) => data.Env.TryGetValue(key, out var value) ? value : "";

    private static string Evaluate(string action, Data data)
    {
        if (action == ".Image")
        {
            return data.Image;
        }

        if (action.StartsWith(".Env.", StringComparison.Ordinal))
        {
            var key = action[".Env.".Length..];
            return data.Env.TryGetValue(key, out var value) ? value : throw new FormatException($"map has no entry for key \"{key}\"");
        }

        if (Call().Match(action) is { Success: true } call)
        {
            var arguments = call.Groups["argument"].Captures.Select(capture => capture.Value).ToList();
            string Parameter(string name) => data.Parameters.TryGetValue(name, out var value) ? value : throw new FormatException($"parameter {name} not found");
            return (call.Groups["function"].Value, arguments.Count) switch
            {
                ("securedParameter" or "parameter", 1) => Parameter(Unquote(arguments[0])),
                ("parameterWithDefault", 2) => data.Parameters.GetValueOrDefault(Unquote(arguments[0]), Unquote(arguments[1])),
                ("targetPortOrDefault", 1) => data.PublishedPort != 0
                    ? data.PublishedPort.ToString(CultureInfo.InvariantCulture)
                    : int.Parse(arguments[0], CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture),
                _ => throw new FormatException($"function call not understood: {action}"),
            };
        }

        throw new FormatException($"action not understood: {{{{ {action} }}}}");
    }

    private static string Unquote(string argument) =>
        argument.Length >= 2 && argument[0] == '"' && argument[^1] == '"' ? argument[1..^1] : throw new FormatException($"not a string: {argument}");

    /// <summary>Text and actions, with <c>{{-</c> and <c>-}}</c> trimming the whitespace next to them.</summary>
    private static IEnumerable<(string Text, string? Action)> Tokenize(string template)
    {
        var pieces = new List<(string Text, string? Action)>();
        var position = 0;
        var trimNext = false;
        while (position < template.Length)
        {
            var open = template.IndexOf("{{", position, StringComparison.Ordinal);
            var text = open < 0 ? template[position..] : template[position..open];
            if (trimNext)
            {
                text = text.TrimStart();
            }

            if (open < 0)
            {
                pieces.Add((text, null));
                break;
            }

            var close = template.IndexOf("}}", open + 2, StringComparison.Ordinal);
            if (close < 0)
            {
                throw new FormatException($"unclosed action at {open}");
            }

            var action = template[(open + 2)..close];
            if (action.StartsWith("- ", StringComparison.Ordinal))
            {
                text = text.TrimEnd();
                action = action[1..];
            }

            trimNext = action.EndsWith(" -", StringComparison.Ordinal);
            if (trimNext)
            {
                action = action[..^1];
            }

            pieces.Add((text, null));
            pieces.Add(("", action.Trim()));
            position = close + 2;
        }

        return pieces;
    }

    [GeneratedRegex("""^if eq \(index \.Env "(?<key>[A-Za-z0-9_]+)"\) "(?<value>[^"]*)"$""")]
    private static partial Regex IfEquals();

    [GeneratedRegex("""^(?<function>[A-Za-z]+)(?:\s+(?<argument>"[^"]*"|\d+))+$""")]
    private static partial Regex Call();
}
