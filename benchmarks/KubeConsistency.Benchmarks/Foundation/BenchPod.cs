using System.Globalization;

namespace KubeConsistency.Benchmarks.Foundation;

// A small Pod-shaped model mimicking KubernetesClient's V1Pod / V1ObjectMeta / V1PodSpec / V1Container
// (property names as there, so ObjectMetadataAccessor<T>.Default compiles its getters for it).

/// <summary>A Pod-shaped object (KubernetesClient <c>V1Pod</c> shape).</summary>
public sealed class BenchPod
{
    public string? ApiVersion { get; set; }

    public string? Kind { get; set; }

    public BenchObjectMeta? Metadata { get; set; }

    public BenchPodSpec? Spec { get; set; }

    public override string ToString() => $"{Metadata?.NamespaceProperty}/{Metadata?.Name}@{Metadata?.ResourceVersion}";
}

/// <summary><c>V1ObjectMeta</c> shape.</summary>
public sealed class BenchObjectMeta
{
    public string? Name { get; set; }

    public string? NamespaceProperty { get; set; }

    public string? Uid { get; set; }

    public string? ResourceVersion { get; set; }

    public IDictionary<string, string>? Labels { get; set; }
}

/// <summary><c>V1PodSpec</c> shape (one container).</summary>
public sealed class BenchPodSpec
{
    public IList<BenchContainer>? Containers { get; set; }
}

/// <summary><c>V1Container</c> shape.</summary>
public sealed class BenchContainer
{
    public string? Name { get; set; }

    public string? Image { get; set; }
}

/// <summary>Builds pods outside measured regions.</summary>
public static class BenchPods
{
    /// <summary>Namespaces the pods are spread over.</summary>
    public const int Namespaces = 100;

    private static readonly string[] NamespaceNames = Enumerable.Range(0, Namespaces).Select(i => "namespace-" + i.ToString(CultureInfo.InvariantCulture)).ToArray();

    /// <summary>
    /// <paramref name="count"/> pods named <c>pod-{i}</c> in namespace <c>namespace-{i % 100}</c>, with resource versions
    /// <paramref name="firstResourceVersion"/> + i.
    /// </summary>
    public static BenchPod[] Create(int count, long firstResourceVersion = 1_000_000)
    {
        var pods = new BenchPod[count];
        for (var i = 0; i < count; i++)
        {
            var app = "app-" + (i % 50).ToString(CultureInfo.InvariantCulture);
            pods[i] = new BenchPod
            {
                ApiVersion = "v1",
                Kind = "Pod",
                Metadata = new BenchObjectMeta
                {
                    Name = "pod-" + i.ToString("D6", CultureInfo.InvariantCulture),
                    NamespaceProperty = NamespaceNames[i % Namespaces],
                    Uid = Guid.NewGuid().ToString(),
                    ResourceVersion = (firstResourceVersion + i).ToString(CultureInfo.InvariantCulture),
                    Labels = new Dictionary<string, string>(StringComparer.Ordinal)
                    {
                        ["app"] = app,
                        ["tier"] = "backend",
                        ["pod-template-hash"] = "7d9c5b" + (i % 1000).ToString("D4", CultureInfo.InvariantCulture),
                    },
                },
                Spec = new BenchPodSpec
                {
                    Containers = [new BenchContainer { Name = app, Image = "registry.example/" + app + ":1.0" }],
                },
            };
        }

        return pods;
    }

    /// <summary>
    /// New versions of <paramref name="pods"/> (new object and metadata, same key/UID/labels/spec) with resource
    /// version old + <paramref name="resourceVersionDelta"/>, as a watch MODIFIED event would deliver.
    /// </summary>
    public static BenchPod[] NextVersions(BenchPod[] pods, long resourceVersionDelta)
    {
        var next = new BenchPod[pods.Length];
        for (var i = 0; i < pods.Length; i++)
        {
            var m = pods[i].Metadata!;
            next[i] = new BenchPod
            {
                ApiVersion = pods[i].ApiVersion,
                Kind = pods[i].Kind,
                Metadata = new BenchObjectMeta
                {
                    Name = m.Name,
                    NamespaceProperty = m.NamespaceProperty,
                    Uid = m.Uid,
                    ResourceVersion = (long.Parse(m.ResourceVersion!, CultureInfo.InvariantCulture) + resourceVersionDelta).ToString(CultureInfo.InvariantCulture),
                    Labels = m.Labels,
                },
                Spec = pods[i].Spec,
            };
        }

        return next;
    }

    /// <summary>The cache keys (<c>namespace/name</c>) of <paramref name="pods"/>.</summary>
    public static string[] Keys(BenchPod[] pods) => pods.Select(p => p.Metadata!.NamespaceProperty + "/" + p.Metadata.Name).ToArray();

    /// <summary>An indexer with the namespace index, as informers create it.</summary>
    public static Cache.IIndexer<BenchPod> NewIndexer() => Cache.Store.Create(new Cache.StoreOptions<BenchPod>
    {
        Indexers = new Dictionary<string, Cache.IndexFunc<BenchPod>> { [Cache.Indexes.Namespace] = Cache.Indexes.ByNamespace<BenchPod>() },
        TrackResourceVersion = true,
    });

    /// <summary>
    /// Runs <paramref name="action"/> repeatedly for about <paramref name="duration"/>, pausing between runs so tiered
    /// compilation (100 ms call-counting delay, background tier-1 JIT) promotes the hot methods before measurement.
    /// Needed where a benchmark runs one invocation per iteration ([IterationSetup]) and the short job's three warmup
    /// iterations would otherwise leave tier-0 code in the measured iterations.
    /// </summary>
    public static void WarmUp(Action action, int milliseconds = 1500)
    {
        var until = Environment.TickCount64 + milliseconds;
        while (Environment.TickCount64 < until)
        {
            action();
            Thread.Sleep(5);
        }
    }

    /// <summary>Throws when <paramref name="condition"/> is false: benchmark self-checks run in setup/cleanup only.</summary>
    public static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException("benchmark self-check failed: " + what);
        }
    }
}
