using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ShopChoreography.ServiceDefaults.Messaging.Consumers;
using ShopChoreography.ServiceDefaults.Messaging.DeadLetters;

namespace ShopChoreography.ServiceDefaults.Messaging;

/// <summary>The operator endpoints of the messaging core: dead letters, and pausing or resuming consumption.</summary>
internal static class MessagingOperationsApi
{
    /// <summary>Maps the endpoints where the service uses messaging and has not turned them off.</summary>
    public static IEndpointRouteBuilder MapMessagingOperations(this IEndpointRouteBuilder app)
    {
        var services = app.ServiceProvider;
        if (!services.GetRequiredService<IServiceProviderIsService>().IsService(typeof(DeadLetterReplay)) ||
            !services.GetRequiredService<IOptions<MessagingOptions>>().Value.Operations.MapEndpoints)
        {
            return app;
        }

        app.MapDeadLetterOperations();
        if (services.GetRequiredService<EventHandlers>().Any)
        {
            app.MapConsumptionOperations();
        }

        return app;
    }
}
