using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;

namespace ShopChoreography.Tests.AppModel;

internal static class ResourceEnvironment
{
    /// <summary>The environment a resource gets, as the manifest expressions publishing would write.</summary>
    public static ValueTask<Dictionary<string, string>> PublishedEnvironmentAsync(this IResource resource)
    {
        // Obsolete in favour of ExecutionConfigurationBuilder, which needs a full execution context;
        // this single call is what the Aspire docs still show for inspecting a model in tests.
#pragma warning disable CS0618
        return ((IResourceWithEnvironment)resource).GetEnvironmentVariableValuesAsync(DistributedApplicationOperation.Publish);
#pragma warning restore CS0618
    }
}
