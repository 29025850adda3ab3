using System.Text;
using System.Text.Json.Nodes;

namespace KubeConsistency.Tests.ApiServer;

/// <summary>
/// The captured kube-apiserver/kubectl traffic in <c>../shared/wire</c> (relative to the directory holding
/// KubeConsistency.sln). Tests that need it use <see cref="WireFactAttribute"/> and are skipped when it is absent.
/// </summary>
internal static class WireSamples
{
    private static readonly Lazy<string?> s_directory = new(Locate);

    public static string? Directory => s_directory.Value;

    private static string? Locate()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "KubeConsistency.sln")))
            {
                var wire = System.IO.Path.GetFullPath(System.IO.Path.Combine(dir.FullName, "..", "shared", "wire"));
                return System.IO.Directory.Exists(wire) ? wire : null;
            }
        }

        return null;
    }

    public static string Path(string relative) => System.IO.Path.Combine(Directory ?? throw new InvalidOperationException("wire samples not found"), relative);

    public static string Text(string relative) => File.ReadAllText(Path(relative), Encoding.UTF8);

    public static JsonObject Json(string relative) => (JsonObject)JsonNode.Parse(Text(relative))!;

    public static string[] Lines(string relative) => Text(relative).Split('\n', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>A fact that needs the wire samples; skipped with a clear message when <c>../shared/wire</c> is missing.</summary>
public sealed class WireFactAttribute : FactAttribute
{
    public WireFactAttribute()
    {
        if (WireSamples.Directory is null)
        {
            Skip = "Wire samples not found: expected ../shared/wire next to the directory containing KubeConsistency.sln.";
        }
    }
}
