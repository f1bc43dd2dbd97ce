using System.ComponentModel.DataAnnotations;

namespace ShopChoreography.ServiceDefaults.Http;

/// <summary>An amount of money: greater than 0 (or at least 0) and at most <c>maximum</c>, in steps of <see cref="Step"/>.</summary>
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
}
