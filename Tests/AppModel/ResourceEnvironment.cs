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

    /// <summary>
    /// The environment a resource gets when the app runs, before any endpoint is allocated: each value as its manifest
    /// expression (<c>{kafka.bindings.tcp.port}</c>), so a test sees what the orchestrator would fill in.
    /// </summary>
    public static async Task<Dictionary<string, string>> RunEnvironmentAsync(this IResource resource)
    {
        var context = new EnvironmentCallbackContext(new DistributedApplicationExecutionContext(DistributedApplicationOperation.Run), resource);
        foreach (var callback in resource.Annotations.OfType<EnvironmentCallbackAnnotation>())
        {
            await callback.Callback(context);
        }

        return context.EnvironmentVariables.ToDictionary(variable => variable.Key, variable => variable.Value switch
        {
            string text => text,
            IManifestExpressionProvider expression => expression.ValueExpression,
            var other => other.ToString() ?? "",
        });
    }
}
