using System.Text.Json;
using System.Text.Json.Serialization;
using KubeConsistency.Client;
using KubeConsistency.Http;

namespace KubeConsistency.Tests.Client;

/// <summary>A Pod shaped like KubernetesClient's V1Pod (enough of it for the tests).</summary>
public sealed class TestPod
{
    public string? ApiVersion { get; set; }

    public string? Kind { get; set; }

    public TestObjectMeta? Metadata { get; set; }

    public TestPodSpec? Spec { get; set; }

    public JsonElement? Status { get; set; }
}

public sealed class TestObjectMeta
{
    public string? Name { get; set; }

    public string? GenerateName { get; set; }

    public string? Namespace { get; set; }

    public string? Uid { get; set; }

    public string? ResourceVersion { get; set; }

    public string? DeletionTimestamp { get; set; }

    public Dictionary<string, string>? Labels { get; set; }

    public Dictionary<string, string>? Annotations { get; set; }
}

public sealed class TestPodSpec
{
    public List<TestContainer>? Containers { get; set; }
}

public sealed class TestContainer
{
    public string? Name { get; set; }

    public string? Image { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(TestPod))]
internal sealed partial class TestJsonContext : JsonSerializerContext
{
}

internal static class Clients
{
    public static ResourceClientOptions<TestPod> Pods(string? ns = "wire", string? kind = "Pod") => new()
    {
        Resource = GroupVersionResource.Pods,
        Kind = kind,
        Namespace = ns,
    };

    public static KubernetesConnection Connect(LoopbackServer server, TimeProvider? time = null, int maxRetries = 10) =>
        KubernetesConnection.ForServer(server.BaseUri, new KubernetesConnectionOptions
        {
            TimeProvider = time ?? TimeProvider.System,
            MaxRetries = maxRetries,
        });

    public static async Task<List<WatchEvent<T>>> CollectAsync<T>(IAsyncEnumerable<WatchEvent<T>> events)
    {
        var list = new List<WatchEvent<T>>();
        await foreach (var e in events)
        {
            list.Add(e);
        }

        return list;
    }

    /// <summary>A guard against hangs: fails the test rather than waiting forever.</summary>
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
}
