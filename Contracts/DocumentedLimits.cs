using System.ComponentModel.DataAnnotations;

namespace ShopChoreography.Contracts;

// The limits of the rules (IdentifierText, OrderLimits, EventRules), stated on the records that carry them so the API
// documents and the event schemas publish them. Nothing validates through these attributes: the rules themselves do.

/// <summary>Identifier text (<see cref="IdentifierText"/>): 1 to <see cref="IdentifierText.MaxLength"/> characters by default.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class IdentifierAttribute : StringLengthAttribute
{
    public IdentifierAttribute(int maxLength = IdentifierText.MaxLength) : base(maxLength) => MinimumLength = 1;
}

/// <summary>The quantity of a line: 1 to <see cref="OrderLimits.MaxQuantity"/>.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class QuantityAttribute() : RangeAttribute(1, OrderLimits.MaxQuantity);

/// <summary>The lines of an order: 1 to <see cref="OrderLimits.MaxItems"/>.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class LinesAttribute() : LengthAttribute(1, OrderLimits.MaxItems);
