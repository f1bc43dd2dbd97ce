namespace ShopChoreography.AppHost.Infrastructure;

public static class ServiceIngress
{
    /// <summary>
    /// The service's HTTP endpoints are reachable from outside the deployment (Azure Container Apps' external ingress);
    /// the others stay internal to the environment. Published, its operator endpoints (<c>/operations/...</c>) are turned off: they
    /// carry no authentication of their own and must never sit on public ingress (operators use an internal service's).
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithPublicHttpEndpoints(this IResourceBuilder<ProjectResource> service)
    {
        service.WithExternalHttpEndpoints();
        if (service.ApplicationBuilder.ExecutionContext.IsPublishMode)
        {
            service.WithEnvironment("Messaging__Operations__MapEndpoints", "false");
        }

        return service;
    }
}
