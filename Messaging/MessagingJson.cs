using System.Text.Json;

namespace ShopChoreography.Messaging;

/// <summary>How events are written as CloudEvent data, and read back.</summary>
public static class MessagingJson
{
    /// <summary>
    /// camelCase. Incomplete data is refused rather than half-read: constructor parameters and <c>required</c>
    /// members must be present, and null is refused where the type says non-nullable.
    /// </summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        RespectRequiredConstructorParameters = true,
        RespectNullableAnnotations = true,
    };
}
