using System.Buffers;
using System.Text;

namespace ShopChoreography.Contracts;

/// <summary>
/// What a customer id or a SKU may be, wherever it arrives (a request body, a path, an event): 1 to 64 characters,
/// not all white space, no control characters and no unpaired surrogates. PostgreSQL cannot store U+0000 and a lone
/// surrogate has no UTF-8 form, so such text could not be stored or published as it was given.
/// </summary>
public static class IdentifierText
{
    public const int MaxLength = 64;

    /// <summary>Why <paramref name="text"/> is not an identifier, as a sentence naming <paramref name="field"/>; null when it is one.</summary>
    public static string? Problem(string? text, string field) => Problem(text, field, MaxLength);

    /// <inheritdoc cref="Problem(string?, string)"/>
    public static string? Problem(string? text, string field, int maxLength) => text switch
    {
        null => $"{field} is required.",
        _ when string.IsNullOrWhiteSpace(text) || text.Length > maxLength => $"{field} must be 1 to {maxLength} characters.",
        _ when text.Any(char.IsControl) => $"{field} must not contain control characters.",
        _ when !IsWellFormed(text) => $"{field} must be valid Unicode text: it holds an unpaired surrogate.",
        _ => null,
    };

    public static bool IsValid(string? text) => Problem(text, "") is null;

    private static bool IsWellFormed(ReadOnlySpan<char> text)
    {
        while (!text.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(text, out _, out var consumed) != OperationStatus.Done)
            {
                return false;
            }

            text = text[consumed..];
        }

        return true;
    }
}
