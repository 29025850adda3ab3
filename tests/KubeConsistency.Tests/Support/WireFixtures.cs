namespace KubeConsistency.Tests;

/// <summary>
/// Locates the captured wire traffic (../shared/wire next to the folder holding KubeConsistency.sln), found by
/// walking up from the test assembly's directory. Tests that need it use <see cref="WireFactAttribute"/> and are
/// skipped with a clear message when it is absent.
/// </summary>
internal static class WireFixtures
{
    public const string SkipMessage = "Skipped: the wire fixtures (real kube-apiserver and kubectl traffic) are not here; expected ../shared/wire next to the folder containing KubeConsistency.sln.";

    private static readonly Lazy<string?> s_root = new(Locate);

    public static string? Root => s_root.Value;

    public static byte[] Bytes(string relativePath) => File.ReadAllBytes(PathOf(relativePath));

    public static string Text(string relativePath) => File.ReadAllText(PathOf(relativePath));

    public static string PathOf(string relativePath) =>
        Path.Combine(Root ?? throw new InvalidOperationException(SkipMessage), relativePath.Replace('/', Path.DirectorySeparatorChar));

    public static IEnumerable<string> Files(string folder, string pattern) =>
        Directory.EnumerateFiles(PathOf(folder), pattern).Select(Path.GetFileName).OrderBy(f => f, StringComparer.Ordinal)!;

    private static string? Locate()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "KubeConsistency.sln")))
            {
                var wire = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "wire"));
                return Directory.Exists(wire) ? wire : null;
            }
        }

        return null;
    }
}

/// <summary>A fact that needs the wire fixtures; skipped with a clear message when they are absent.</summary>
public sealed class WireFactAttribute : FactAttribute
{
    public WireFactAttribute()
    {
        if (WireFixtures.Root is null)
        {
            Skip = WireFixtures.SkipMessage;
        }
    }
}

/// <summary>A theory that needs the wire fixtures; skipped with a clear message when they are absent.</summary>
public sealed class WireTheoryAttribute : TheoryAttribute
{
    public WireTheoryAttribute()
    {
        if (WireFixtures.Root is null)
        {
            Skip = WireFixtures.SkipMessage;
        }
    }
}
