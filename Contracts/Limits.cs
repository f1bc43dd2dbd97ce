using System.ComponentModel.DataAnnotations;

namespace ShopChoreography.Contracts;

// The limits of the contract, stated once on the records that carry them. They validate what arrives (requests, through
// RecordRules, and every consumed event, in the messaging core), and the API documents and the event schemas publish
// them (StringLength, Length and Range are what both generators read).

/// <summary>Identifier text (<see cref="IdentifierText"/>): 1 to <see cref="IdentifierText.MaxLength"/> printable characters.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class IdentifierAttribute : StringLengthAttribute
{
    public IdentifierAttribute() : base(IdentifierText.MaxLength) => MinimumLength = 1;

    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext) =>
        IdentifierText.Problem(value as string, validationContext.DisplayName) is { } problem ? new ValidationResult(problem) : ValidationResult.Success;
}

/// <summary>The quantity of a line: 1 to <see cref="OrderLimits.MaxQuantity"/>.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class QuantityAttribute() : RangeAttribute(1, OrderLimits.MaxQuantity)
{
    public override string FormatErrorMessage(string name) => $"{name} must be between 1 and {OrderLimits.MaxQuantity}.";
}

/// <summary>The lines of an order: 1 to <see cref="OrderLimits.MaxItems"/>.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class LinesAttribute() : LengthAttribute(1, OrderLimits.MaxItems)
{
    public override string FormatErrorMessage(string name) => $"{name} must hold 1 to {OrderLimits.MaxItems} lines.";
}
