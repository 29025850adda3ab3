using System.Text;
using System.Text.Json.Nodes;

namespace KubeConsistency.Tests.ApiServer;

/// <summary>
/// The captured kube-apiserver/kubectl traffic in <c>../shared/wire</c> (relative to the directory holding
/// KubeConsistency.sln). Tests that need it use <see cref="WireFactAttribute"/> and are skipped when it is absent.
/// </summary>
internal static class WireSamples
{
    public static string? Directory => WireFixtures.Root;

    public static string Path(string relative) => System.IO.Path.Combine(Directory ?? throw new InvalidOperationException(WireFixtures.SkipMessage), relative);

    public static string Text(string relative) => File.ReadAllText(Path(relative), Encoding.UTF8);

    public static JsonObject Json(string relative) => (JsonObject)JsonNode.Parse(Text(relative))!;

    public static string[] Lines(string relative) => Text(relative).Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
