using System.Text.RegularExpressions;
using ShopChoreography.Contracts;
using ShopChoreography.Messaging;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Architecture;

/// <summary>
/// The layout docs/architecture.md draws: Messaging knows nothing of the saga, its folders depend on each other one
/// way, and the contract is written in one place.
/// </summary>
public sealed partial class ProjectStructureTests
{
    private static readonly string MessagingFolder = Path.Combine(Repository.Root, "Messaging");

    [Fact]
    public void Messaging_knows_nothing_of_the_saga_and_references_no_Contracts()
    {
        Assert.DoesNotContain(typeof(MessagingOptions).Assembly.GetReferencedAssemblies(), reference => reference.Name == typeof(Topics).Assembly.GetName().Name);
        Assert.DoesNotContain("Contracts.csproj", File.ReadAllText(Path.Combine(MessagingFolder, "Messaging.csproj")), StringComparison.Ordinal);
        Assert.DoesNotContain(SourceFiles(MessagingFolder), file => File.ReadAllText(file).Contains("ShopChoreography.Contracts", StringComparison.Ordinal));
    }

    [Fact]
    public void Messaging_folders_depend_on_each_other_one_way()
    {
        var graph = FolderGraph();

        var cycle = graph.Keys.Select(folder => CycleFrom(folder, graph, [])).FirstOrDefault(found => found is not null);

        Assert.True(cycle is null, $"The Messaging folders depend on each other in a circle: {string.Join(" -> ", cycle ?? [])}. " +
            $"Graph: {string.Join("; ", graph.Select(edge => $"{edge.Key} -> {string.Join(", ", edge.Value.Order())}"))}");
    }

    [Fact]
    public void Each_topic_name_and_event_type_is_written_once_outside_the_tests_in_Contracts()
    {
        var sources = new[] { "AppHost", "Benchmarks", "Contracts", "Inventory", "Messaging", "Orders", "Payments", "ServiceDefaults" }
            .SelectMany(project => SourceFiles(Path.Combine(Repository.Root, project)))
            .Select(file => (File: Path.GetRelativePath(Repository.Root, file), Text: File.ReadAllText(file)))
            .ToList();
        var names = Topics.All.Concat(typeof(OrderCreated).Assembly.GetTypes()
            .Where(type => type.IsDefined(typeof(CloudEventTypeAttribute), inherit: false)).Select(EventTypes.TypeOf));

        foreach (var name in names)
        {
            var writtenIn = sources.Where(source => source.Text.Contains($"\"{name}\"", StringComparison.Ordinal)).Select(source => source.File).ToList();
            Assert.True(writtenIn.Count == 1 && writtenIn[0].StartsWith("Contracts", StringComparison.Ordinal),
                $"\"{name}\" is written in: {string.Join(", ", writtenIn)}");
        }
    }

    /// <summary>Each folder of Messaging (the project's root is <c>.</c>) and the folders whose types its code names.</summary>
    private static Dictionary<string, HashSet<string>> FolderGraph()
    {
        var files = SourceFiles(MessagingFolder)
            .Select(file => (Folder: Path.GetRelativePath(MessagingFolder, Path.GetDirectoryName(file)!), Code: CodeOf(File.ReadAllText(file))))
            .ToList();
        var declaredIn = new Dictionary<string, string>();
        foreach (var (folder, code) in files)
        {
            foreach (Match declaration in TypeDeclaration().Matches(code))
            {
                declaredIn[declaration.Groups["name"].Value] = folder;
            }
        }

        var graph = files.Select(file => file.Folder).Distinct().ToDictionary(folder => folder, _ => new HashSet<string>());
        foreach (var (folder, code) in files)
        {
            foreach (Match word in Word().Matches(code))
            {
                if (declaredIn.TryGetValue(word.Value, out var other) && other != folder)
                {
                    graph[folder].Add(other);
                }
            }
        }

        return graph;
    }

    private static List<string>? CycleFrom(string folder, Dictionary<string, HashSet<string>> graph, List<string> path)
    {
        if (path.Contains(folder))
        {
            return [.. path.SkipWhile(step => step != folder), folder];
        }

        foreach (var next in graph[folder])
        {
            if (CycleFrom(next, graph, [.. path, folder]) is { } cycle)
            {
                return cycle;
            }
        }

        return null;
    }

    /// <summary>The code without comments, strings and using directives, which name types without depending on them.</summary>
    private static string CodeOf(string source) => Usings().Replace(Strings().Replace(Comments().Replace(source, ""), "\"\""), "");

    private static IEnumerable<string> SourceFiles(string folder) =>
        Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories)
            .Where(file => !file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    [GeneratedRegex(@"\b(?:class|record|struct|interface|enum)\s+(?<name>[A-Z]\w*)")]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"\b[A-Z]\w*\b")]
    private static partial Regex Word();

    [GeneratedRegex(@"//.*")]
    private static partial Regex Comments();

    [GeneratedRegex("\"(?:[^\"\\\\\\n]|\\\\.)*\"")]
    private static partial Regex Strings();

    [GeneratedRegex(@"^using [^;]+;", RegexOptions.Multiline)]
    private static partial Regex Usings();
}
