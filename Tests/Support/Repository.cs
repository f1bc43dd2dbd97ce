namespace ShopChoreography.Tests.Support;

/// <summary>Folders of this repository, found from the AppHost project the tests were built with.</summary>
public static class Repository
{
    public static readonly string AppHostFolder =
        Directory.Exists(Projects.AppHost.ProjectPath) ? Projects.AppHost.ProjectPath : Path.GetDirectoryName(Projects.AppHost.ProjectPath)!;

    public static readonly string Root = Path.GetFullPath(Path.Combine(AppHostFolder, ".."));
}
