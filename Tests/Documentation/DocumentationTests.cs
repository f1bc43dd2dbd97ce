using System.Text.RegularExpressions;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Documentation;

/// <summary>The README is the front door and <c>docs/</c> holds the depth: every link between them leads somewhere.</summary>
public sealed partial class DocumentationTests
{
    private const int MaxReadmeLines = 300;

    public static TheoryData<string> Pages()
    {
        var pages = new TheoryData<string> { "README.md", Path.Combine("Tests", "README.md") };
        foreach (var page in Directory.EnumerateFiles(Path.Combine(Repository.Root, "docs"), "*.md", SearchOption.AllDirectories).Order())
        {
            pages.Add(Path.GetRelativePath(Repository.Root, page));
        }

        return pages;
    }

    [Fact]
    public void The_README_is_a_front_door_of_at_most_300_lines() =>
        Assert.InRange(File.ReadAllLines(Path.Combine(Repository.Root, "README.md")).Length, 1, MaxReadmeLines);

    [Theory]
    [MemberData(nameof(Pages))]
    public void Every_relative_link_of_a_page_leads_to_a_file_and_heading_that_exist(string page)
    {
        var path = Path.Combine(Repository.Root, page);
        var broken = new List<string>();
        foreach (Match link in MarkdownLink().Matches(StripCode(File.ReadAllText(path))))
        {
            var target = link.Groups["target"].Value;
            if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
            {
                continue;
            }

            var (file, anchor) = target.Split('#', 2) is [var f, var a] ? (f, a) : (target, null);
            var linked = file.Length == 0 ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, Uri.UnescapeDataString(file)));
            if (!File.Exists(linked) && !Directory.Exists(linked))
            {
                broken.Add($"{target}: no such file");
            }
            else if (anchor is not null && File.Exists(linked) && !Anchors(linked).Contains(anchor))
            {
                broken.Add($"{target}: no such heading");
            }
        }

        Assert.True(broken.Count == 0, $"{page}: {string.Join("; ", broken)}");
    }

    /// <summary>GitHub's anchors: a heading lower-cased, punctuation dropped, spaces as hyphens.</summary>
    private static HashSet<string> Anchors(string page) =>
        [.. File.ReadLines(page).Where(line => line.StartsWith('#'))
            .Select(line => Punctuation().Replace(line.TrimStart('#').Trim().ToLowerInvariant(), "").Replace(' ', '-'))];

    private static string StripCode(string markdown) => InlineCode().Replace(FencedCode().Replace(markdown, ""), "");

    [GeneratedRegex(@"\[[^\]]*\]\((?<target>[^)\s]+)\)")]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"[^\p{L}\p{N} _-]")]
    private static partial Regex Punctuation();

    [GeneratedRegex(@"^```.*?^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex FencedCode();

    [GeneratedRegex(@"`[^`\n]*`")]
    private static partial Regex InlineCode();
}
