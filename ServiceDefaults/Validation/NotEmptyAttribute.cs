using System.ComponentModel.DataAnnotations;

namespace ShopChoreography.ServiceDefaults.Validation;

/// <summary>An id that must be given: <see cref="Guid.Empty"/> is none.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class NotEmptyAttribute : ValidationAttribute
{
    public override bool IsValid(object? value) => value is not Guid id || id != Guid.Empty;

    public override string FormatErrorMessage(string name) => $"{name} is empty.";
}
