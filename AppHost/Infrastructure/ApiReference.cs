namespace ShopChoreography.AppHost.Infrastructure;

public static class ApiReference
{
    public const string DisplayText = "API reference";

    /// <summary>Where ServiceDefaults serves every service's reference UI (its <c>ApiDocuments.ReferencePath</c>).</summary>
    public const string Path = "/scalar";

    /// <summary>Links the service's API reference from the dashboard, beside its endpoint's own URL.</summary>
    public static IResourceBuilder<ProjectResource> WithApiReference(this IResourceBuilder<ProjectResource> service) =>
        service.WithUrlForEndpoint("http", _ => new ResourceUrlAnnotation { Url = Path, DisplayText = DisplayText });
}
