namespace KubeConsistency.Tests.Readme;

public sealed class ReadmeTests
{
    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "KubeConsistency.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("KubeConsistency.sln not found above " + AppContext.BaseDirectory);
    }

    private static string Normalize(IEnumerable<string> lines) => string.Join("\n", lines.Select(l => l.Trim()).Where(l => l.Length > 0));

    [Fact]
    public void ReadmeUsageExample_IsTheCompiledExample()
    {
        var root = RepositoryRoot();
        var source = File.ReadAllLines(Path.Combine(root, "tests", "KubeConsistency.Tests", "Readme", "ReadmeExample.cs"));
        var begin = Array.FindIndex(source, l => l.Contains("README-BEGIN", StringComparison.Ordinal));
        var end = Array.FindIndex(source, l => l.Contains("README-END", StringComparison.Ordinal));
        var example = Normalize(source[(begin + 1)..end]);

        var readme = File.ReadAllText(Path.Combine(root, "README.md"));
        var start = readme.IndexOf("<!-- usage-example -->", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md lacks the <!-- usage-example --> marker");
        var block = readme[start..].Split("```")[1];
        var blockLines = block.Split('\n').Skip(1).Where(l => !l.TrimStart().StartsWith("using ", StringComparison.Ordinal));
        Assert.Equal(example, Normalize(blockLines));
    }

    [Fact]
    public async Task ReadmeUsageExample_Runs_AndDetectsTheStaleCache()
    {
        var listed = new[] { TestObjects.Pod("default", "web-1", "1100") };
        var created = TestObjects.Pod("default", "web-2", "1300");
        var stale = await ReadmeExample.RunAsync(listed, "1100", created);
        Assert.NotNull(stale); // the store is at the bookmark RV 1200, the write was at 1300
        Assert.Equal("1200", stale.ReadResourceVersion);
        Assert.Equal("1300", stale.WroteResourceVersion);
    }
}
