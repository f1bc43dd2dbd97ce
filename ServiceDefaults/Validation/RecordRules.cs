using System.Collections;
using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json;

namespace ShopChoreography.ServiceDefaults.Validation;

/// <summary>
/// Holds a record to the validation attributes on its properties: the limits it states once, which the API documents
/// and event schemas publish too. Each problem names its field by its JSON path (<c>items[0].sku</c>). The records in
/// a list are checked in turn, and the record's own rule (<see cref="IValidatableObject"/>) once every field is valid.
/// </summary>
public static class RecordRules
{
    private static readonly ConcurrentDictionary<Type, (PropertyInfo Property, string Name, ValidationAttribute[] Rules)[]> Properties = new();

    /// <summary>Every problem of <paramref name="record"/>, as (field, sentence naming the field); none when it is valid.</summary>
    public static List<(string Field, string Problem)> Problems(object record)
    {
        var problems = new List<(string, string)>();
        Check(record, "", problems);
        return problems;
    }

    /// <summary>
    /// Why <paramref name="value"/> breaks the rules of <typeparamref name="TRecord"/>'s <paramref name="property"/> (its
    /// JSON name), naming <paramref name="field"/>; null when it keeps them. For input read field by field.
    /// </summary>
    public static string? Problem<TRecord>(string property, object? value, string field) =>
        RulesOf(typeof(TRecord), property).Select(rule => ProblemOf(rule, value, field)).FirstOrDefault(problem => problem is not null);

    /// <summary>The rule of <typeparamref name="TRecord"/>'s <paramref name="property"/> (its JSON name), as a sentence naming <paramref name="field"/>.</summary>
    public static string Describe<TRecord>(string property, string field) => RulesOf(typeof(TRecord), property).First().FormatErrorMessage(field);

    private static IEnumerable<ValidationAttribute> RulesOf(Type record, string property) =>
        PropertiesOf(record).Single(p => p.Name == property).Rules;

    private static void Check(object record, string prefix, List<(string, string)> problems)
    {
        var before = problems.Count;
        foreach (var (property, name, rules) in PropertiesOf(record.GetType()))
        {
            var field = prefix + name;
            var value = property.GetValue(record);
            if (rules.Select(rule => ProblemOf(rule, value, field)).FirstOrDefault(problem => problem is not null) is { } problem)
            {
                problems.Add((field, problem));
            }
            else if (value is IEnumerable items and not string)
            {
                var index = 0;
                foreach (var item in items)
                {
                    var path = $"{field}[{index++}]";
                    if (item is null)
                    {
                        // The deserializer refuses a null list, but not a null element in it.
                        problems.Add((path, $"{path} is null."));
                    }
                    else if (PropertiesOf(item.GetType()).Length > 0)
                    {
                        Check(item, path + ".", problems);
                    }
                }
            }
        }

        if (problems.Count == before && record is IValidatableObject validatable)
        {
            foreach (var result in validatable.Validate(new ValidationContext(record)))
            {
                problems.Add((prefix + string.Join(",", result.MemberNames), result.ErrorMessage ?? ""));
            }
        }
    }

    private static string? ProblemOf(ValidationAttribute rule, object? value, string field) =>
        rule.GetValidationResult(value, new ValidationContext(value ?? field) { DisplayName = field })?.ErrorMessage;

    private static (PropertyInfo Property, string Name, ValidationAttribute[] Rules)[] PropertiesOf(Type type) =>
        Properties.GetOrAdd(type, record => record.IsPrimitive || record == typeof(string) || record == typeof(decimal) || record == typeof(Guid)
            ? []
            : [.. record.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(property => property.GetIndexParameters().Length == 0)
                .Select(property => (property, JsonNamingPolicy.CamelCase.ConvertName(property.Name),
                    property.GetCustomAttributes<ValidationAttribute>(inherit: true).ToArray()))]);
}
