using Microsoft.Extensions.Logging;

namespace ShopChoreography.Tests.Support;

public static class LoggedErrors
{
    /// <summary>What a host with fake logging logged at Error or above, as "category: message exception".</summary>
    public static IEnumerable<string> ErrorsLogged(this IServiceProvider services) =>
        services.GetFakeLogCollector().GetSnapshot()
            .Where(log => log.Level >= LogLevel.Error)
            .Select(log => $"{log.Category}: {log.Message} {log.Exception?.Message}");
}
