using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ShopChoreography.Messaging;
using ShopChoreography.Messaging.Consumers;
using ShopChoreography.Messaging.DeadLetters;
using ShopChoreography.Messaging.Operations;

namespace Microsoft.AspNetCore.Builder;

/// <summary>The operator endpoints of the messaging core: dead letters, and pausing or resuming consumption.</summary>
public static class MessagingOperationsApi
{
    /// <summary>The group the operator endpoints are listed under in the API documents.</summary>
    public const string OperationsTag = "Operations";

    /// <summary>
    /// Maps <c>/operations/dead-letters</c> (list) and <c>/operations/dead-letters/replay</c>, and, for a service that
    /// consumes, <c>/operations/consumption</c> (state, pause, resume), unless <c>Messaging:Operations:MapEndpoints</c>
    /// is false.
    /// </summary>
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
