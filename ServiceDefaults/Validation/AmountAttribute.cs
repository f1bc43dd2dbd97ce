using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace ShopChoreography.ServiceDefaults.Validation;

/// <summary>
/// An amount of money: greater than 0 (or at least 0, with <see cref="AllowsZero"/>) and at most <c>maximum</c>, with
/// at most 2 decimal places. As a range it shows in the API documents and event schemas, with <see cref="Step"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class AmountAttribute : RangeAttribute
{
    /// <summary>Amounts have at most 2 decimal places.</summary>
    public const decimal Step = 0.01m;

    public AmountAttribute(double maximum) : base(0, maximum) => MinimumIsExclusive = true;

    public bool AllowsZero
    {
        get => !MinimumIsExclusive;
        init => MinimumIsExclusive = !value;
    }

    private decimal Max => Convert.ToDecimal(Maximum, CultureInfo.InvariantCulture);

    public override bool IsValid(object? value) =>
        value is decimal amount && (AllowsZero ? amount >= 0 : amount > 0) && amount <= Max && decimal.Round(amount, 2) == amount;

    public override string FormatErrorMessage(string name) => AllowsZero
        ? $"{name} must be between 0 and {Max} with at most 2 decimal places."
        : $"{name} must be greater than 0 and at most {Max}, with at most 2 decimal places.";
}
