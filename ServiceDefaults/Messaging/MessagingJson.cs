using System.Text.Json;

namespace ShopChoreography.ServiceDefaults.Messaging;

internal static class MessagingJson
{
    /// <summary>camelCase; C# <c>required</c> members must be present, so incomplete data is refused.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
