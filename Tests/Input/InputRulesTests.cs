using System.Text.Json;
using System.Text.RegularExpressions;
using ShopChoreography.Contracts;
using ShopChoreography.Messaging;
using ShopChoreography.ServiceDefaults.Http;

namespace ShopChoreography.Tests.Input;

/// <summary>The rules every service applies to what it is given: identifier text, amounts, and the events' rules.</summary>
public sealed class InputRulesTests
{
    [Theory]
    [InlineData("c-1")]
    [InlineData("Ünïcödé 名前 🛒")]
    [InlineData("a b")]
    [InlineData("%FF")]
    public void Identifier_text_is_any_printable_text_of_1_to_64_characters(string text)
    {
        Assert.True(IdentifierText.IsValid(text));
        Assert.True(IdentifierText.IsValid(text.PadRight(IdentifierText.MaxLength, 'x')));
    }

    /// <summary>The text is written with C# escapes: xunit would mangle a lone surrogate in test data.</summary>
    [Theory]
    [InlineData("", "customerId must be 1 to 64 characters.")]
    [InlineData("  ", "customerId must be 1 to 64 characters.")]
    [InlineData(@"c-\u0000", "customerId must not contain control characters.")]
    [InlineData(@"c-\u001b", "customerId must not contain control characters.")]
    [InlineData(@"c-\u007f", "customerId must not contain control characters.")]
    [InlineData(@"c-\u0085", "customerId must not contain control characters.")]
    [InlineData(@"c-\ud800", "customerId must be valid Unicode text: it holds an unpaired surrogate.")]
    [InlineData(@"c-\udc00\ud800", "customerId must be valid Unicode text: it holds an unpaired surrogate.")]
    public void Other_text_is_no_identifier_and_the_problem_names_the_field(string escaped, string problem) =>
        Assert.Equal(problem, IdentifierText.Problem(Regex.Unescape(escaped), "customerId"));

    [Fact]
    public void An_identifier_over_64_characters_is_refused() =>
        Assert.Equal("sku must be 1 to 64 characters.", IdentifierText.Problem(new string('s', 65), "sku"));

    [Theory]
    [InlineData("5", 5.00)]
    [InlineData("5.1", 5.10)]
    [InlineData("5.10", 5.10)]
    [InlineData("100e-3", 0.10)]
    [InlineData("1E2", 100.00)]
    [InlineData("-0", 0.00)]
    [InlineData("12.340000", 12.34)]
    public void An_amount_has_at_most_2_decimal_places_however_it_is_written(string json, decimal amount)
    {
        using var document = JsonDocument.Parse(json);

        Assert.True(document.RootElement.TryGetAmount(out var read));
        Assert.Equal(amount, read);
        Assert.Equal(2, read.Scale);
    }

    [Theory]
    [InlineData("5.001")]
    [InlineData("1e-30")]
    [InlineData("5e-324")]
    [InlineData("1e-400")]
    [InlineData("0.000000000000000000000000000001")]
    [InlineData("5.000000000000000000000000000001")]
    [InlineData("1e400")]
    [InlineData("79228162514264337593543950336")]
    [InlineData("\"5.00\"")]
    [InlineData("null")]
    public void Anything_else_is_no_amount_even_what_a_decimal_would_round_to_one(string json)
    {
        using var document = JsonDocument.Parse(json);

        Assert.False(document.RootElement.TryGetAmount(out _));
    }

    [Fact]
    public void An_order_as_Orders_publishes_it_keeps_the_event_rules() =>
        EventValidation.RejectIfBroken(new OrderCreated(Guid.NewGuid(), "c-1", 1_000_000.02m,
            [new("SKU-1", 1000, 1000.00m), new("SKU-2", 2, 0.01m)]));

    public static TheoryData<OrderCreated, string> BrokenOrders => new()
    {
        { new(Guid.Empty, "c-1", 1.00m, [new("SKU-1", 1, 1.00m)]), "orderId is empty." },
        { new(Guid.NewGuid(), "c-\u0000", 1.00m, [new("SKU-1", 1, 1.00m)]), "customerId must not contain control characters." },
        { new(Guid.NewGuid(), "c-1", 1.00m, [new("SKU-\ud800", 1, 1.00m)]), "items[0].sku must be valid Unicode text: it holds an unpaired surrogate." },
        { new(Guid.NewGuid(), "c-1", 1.00m, [new("SKU-1", 0, 1.00m)]), "items[0].quantity must be between 1 and 1000." },
        { new(Guid.NewGuid(), "c-1", 1.00m, [new("SKU-1", 1, 1.001m)]), "items[0].unitPrice must be greater than 0 and at most 1000000, with at most 2 decimal places." },
        { new(Guid.NewGuid(), "c-1", 1.00m, []), "items must hold 1 to 100 lines." },
        { new(Guid.NewGuid(), "c-1", 1.00m, [null!]), "items[0] is null." },
        { new(Guid.NewGuid(), "c-1", 2.00m, [new("SKU-1", 1, 1.00m)]), "total is not the sum of the lines." },
        { new(Guid.NewGuid(), "c-1", 1e20m, [new("SKU-1", 1, 1.00m)]), "total must be greater than 0 and at most 100000000000, with at most 2 decimal places." },
    };

    [Theory]
    [MemberData(nameof(BrokenOrders))]
    public void An_event_breaking_the_rules_is_rejected_saying_which_rule(OrderCreated order, string problem)
    {
        var rejected = Assert.Throws<EventRejectedException>(() => EventValidation.RejectIfBroken(order));

        Assert.Contains(problem, rejected.Message);
    }
}
