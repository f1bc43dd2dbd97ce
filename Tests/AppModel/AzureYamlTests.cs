using YamlDotNet.RepresentationModel;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.AppModel;

/// <summary>
/// <c>azure.yaml</c> at the repository root is what lets <c>azd up</c> run in a fresh clone without <c>azd init</c>:
/// azd deploys the one service it names, the AppHost, to Container Apps from the AppHost's manifest.
/// </summary>
public sealed class AzureYamlTests
{
    [Fact]
    public void Azure_yaml_names_the_AppHost_as_its_one_service_hosted_on_Container_Apps()
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(File.ReadAllText(Path.Combine(Repository.Root, "azure.yaml"))));
        var root = (YamlMappingNode)yaml.Documents.Single().RootNode;

        var service = Assert.Single(((YamlMappingNode)root["services"]).Children);
        var settings = (YamlMappingNode)service.Value;
        Assert.Equal(("dotnet", "containerapp"), (settings["language"].ToString(), settings["host"].ToString()));
        Assert.Equal(Path.Combine(Repository.AppHostFolder, "AppHost.csproj"),
            Path.GetFullPath(Path.Combine(Repository.Root, settings["project"].ToString())));
    }
}
