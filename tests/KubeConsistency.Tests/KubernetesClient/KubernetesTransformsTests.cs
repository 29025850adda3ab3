using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using KubeConsistency.Client;
using KubeConsistency.Informers;
using KubeConsistency.KubernetesClient;

namespace KubeConsistency.Tests.KubernetesClient;

/// <summary>The built-in memory transforms (issue 13; docs/upstream-after-1.36.md §4) on an informer against the embedded server.</summary>
public sealed class KubernetesTransformsTests
{
    private const string LastApplied = KubernetesTransforms.LastAppliedConfigurationAnnotation;
    private static readonly TimeSpan Guard = KubernetesClientHarness.Guard;

    [Fact]
    public async Task The_cache_transform_drops_managed_fields_and_last_applied_configuration_and_then_runs_the_callers_own()
    {
        await using var h = await KubernetesClientHarness.StartAsync(o => o.RecordManagedFields = true);
        var served = await h.Client.CoreV1.CreateNamespacedPodAsync(Pod("web", new() { [LastApplied] = "{\"big\":\"manifest\"}", ["keep"] = "me" }), "default");
        await h.Client.CoreV1.CreateNamespacedPodAsync(Pod("only-last-applied", new() { [LastApplied] = "{}" }), "default");
        Assert.NotEmpty(served.Metadata.ManagedFields);
        var seen = new List<string>();
        var informer = h.Client.CreateInformer<V1Pod>(
            new KubernetesResourceOptions { Namespace = "default" },
            new SharedIndexInformerOptions<V1Pod>
            {
                Transform = KubernetesTransforms.ForCache<V1Pod>(pod =>
                {
                    // The caller's transform runs last, on the stripped object.
                    lock (seen)
                    {
                        seen.Add($"{pod.Metadata.Name}:{pod.Metadata.ManagedFields is null}");
                    }

                    return pod;
                }),
            });
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync().WaitAsync(Guard);

        Assert.True(informer.Indexer.TryGetByKey("default/web", out var web));
        Assert.Null(web.Metadata.ManagedFields);
        Assert.Equal(new Dictionary<string, string> { ["keep"] = "me" }, web.Metadata.Annotations);
        Assert.True(informer.Indexer.TryGetByKey("default/only-last-applied", out var bare));
        Assert.Null(bare.Metadata.Annotations);
        Assert.Equal(served.Metadata.ResourceVersion, web.Metadata.ResourceVersion);
        Assert.Equal(KubernetesJson.Serialize(served.Spec), KubernetesJson.Serialize(web.Spec));

        // Watch events go through it too.
        var later = await h.Client.CoreV1.CreateNamespacedPodAsync(Pod("later", new() { [LastApplied] = "{}" }), "default");
        await informer.WaitForStoreResourceVersionAsync(later.Metadata.ResourceVersion).WaitAsync(Guard);
        Assert.True(informer.Indexer.TryGetByKey("default/later", out var watched));
        Assert.Null(watched.Metadata.ManagedFields);
        Assert.Null(watched.Metadata.Annotations);
        lock (seen)
        {
            Assert.Equal(["later:True", "only-last-applied:True", "web:True"], seen.Order(StringComparer.Ordinal));
        }

        await stop.CancelAsync();
        await run.WaitAsync(Guard);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public async Task Over_http_every_listed_object_is_transformed_once_whether_listed_or_watch_listed(bool watchList, bool fromFactory)
    {
        await using var h = await KubernetesClientHarness.StartAsync(o => o.RecordManagedFields = true);
        for (var i = 0; i < 3; i++)
        {
            await h.Client.CoreV1.CreateNamespacedPodAsync(Pod("p" + i, new() { ["k"] = "v" }), "default");
        }

        // The informer's source streams its lists, so the reflector transforms each item as it is decoded.
        Assert.IsAssignableFrom<IStreamingListWatch<V1Pod>>(h.Client.Resource<V1Pod>());
        var calls = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var transform = KubernetesTransforms.ForCache<V1Pod>(pod =>
        {
            calls.AddOrUpdate(pod.Metadata.Name, 1, static (_, n) => n + 1);
            return pod;
        });
        var resource = new KubernetesResourceOptions { Namespace = "default" };
        await using var factory = new SharedInformerFactory();
        var informer = fromFactory
            ? factory.GetOrAdd<V1Pod>(h.Client, resource, o => o with { UseWatchList = watchList, Transform = transform })
            : h.Client.CreateInformer(resource, new SharedIndexInformerOptions<V1Pod> { UseWatchList = watchList, Transform = transform });
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync().WaitAsync(Guard);

        Assert.Equal(watchList ? 1 : 0, informer.Statistics.WatchLists);
        Assert.Equal(["p0:1", "p1:1", "p2:1"], calls.Select(c => $"{c.Key}:{c.Value}").Order(StringComparer.Ordinal));
        Assert.All(informer.Indexer.List(), pod => Assert.Null(pod.Metadata.ManagedFields));

        await stop.CancelAsync();
        await run.WaitAsync(Guard);
    }

    [Fact]
    public async Task Skipping_managed_fields_while_decoding_gives_kubernetes_clients_objects_without_them()
    {
        await using var h = await KubernetesClientHarness.StartAsync(o => o.RecordManagedFields = true);
        await h.Client.CoreV1.CreateNamespacedPodAsync(Pod("a", new() { ["x"] = "y" }), "default");
        await h.Client.CoreV1.CreateNamespacedPodAsync(Pod("b", new() { ["x"] = "y" }), "default");
        var informer = h.Client.CreateInformer<V1Pod>(new KubernetesResourceOptions { Namespace = "default", SkipManagedFields = true, DeduplicateValues = true });
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync().WaitAsync(Guard);

        var read = await h.Client.CoreV1.ReadNamespacedPodAsync("a", "default");
        Assert.NotEmpty(read.Metadata.ManagedFields);
        Assert.True(informer.Indexer.TryGetByKey("default/a", out var a));
        Assert.True(informer.Indexer.TryGetByKey("default/b", out var b));
        Assert.Null(a.Metadata.ManagedFields);
        read.Metadata.ManagedFields = null;
        Assert.Equal(KubernetesJson.Serialize(read), KubernetesJson.Serialize(a));

        // Deduplicated: equal short values are one instance.
        Assert.Same(a.Metadata.NamespaceProperty, b.Metadata.NamespaceProperty);
        Assert.Same(a.Spec.Containers[0].Image, b.Spec.Containers[0].Image);

        // Decoding without sharing is untouched (each option set is shared process-wide).
        var plain = h.Client.CreateInformer<V1Pod>(new KubernetesResourceOptions { Namespace = "default", DeduplicateValues = false });
        var plainRun = plain.RunAsync(stop.Token);
        await plain.WaitForSyncAsync().WaitAsync(Guard);
        Assert.True(plain.Indexer.TryGetByKey("default/a", out var full));
        Assert.NotEmpty(full.Metadata.ManagedFields);
        Assert.NotSame(full.Metadata.NamespaceProperty, a.Metadata.NamespaceProperty);

        await stop.CancelAsync();
        await Task.WhenAll(run, plainRun).WaitAsync(Guard);
    }

    [Fact]
    public void Each_transform_alone_leaves_the_rest_of_the_metadata_alone()
    {
        V1Pod New() => new()
        {
            Metadata = new V1ObjectMeta
            {
                Name = "p",
                Annotations = new Dictionary<string, string> { [LastApplied] = "{}", ["a"] = "b" },
                ManagedFields = [new V1ManagedFieldsEntry { Manager = "kubectl" }],
            },
        };

        var stripped = KubernetesTransforms.StripManagedFields<V1Pod>()(New());
        Assert.Null(stripped.Metadata.ManagedFields);
        Assert.Equal(2, stripped.Metadata.Annotations.Count);

        var dropped = KubernetesTransforms.DropLastAppliedConfiguration<V1Pod>()(New());
        Assert.Single(dropped.Metadata.ManagedFields);
        Assert.Equal(new Dictionary<string, string> { ["a"] = "b" }, dropped.Metadata.Annotations);

        // Objects without metadata pass through.
        var none = new V1Pod();
        Assert.Same(none, KubernetesTransforms.ForCache<V1Pod>()(none));
    }

    [Fact]
    public void Informers_with_a_transform_that_discards_managed_fields_decode_without_them_and_nothing_else_changes()
    {
        Assert.True(KubernetesTransforms.DiscardsManagedFields(KubernetesTransforms.StripManagedFields<V1Pod>()));
        Assert.True(KubernetesTransforms.DiscardsManagedFields(KubernetesTransforms.ForCache<V1Pod>()));
        Assert.True(KubernetesTransforms.DiscardsManagedFields(KubernetesTransforms.ForCache<PartialObjectMetadata>(p => p)));
        Assert.False(KubernetesTransforms.DiscardsManagedFields(KubernetesTransforms.DropLastAppliedConfiguration<V1Pod>()));
        Assert.False(KubernetesTransforms.DiscardsManagedFields(null));
        Assert.False(KubernetesTransforms.DiscardsManagedFields((Func<V1Pod, V1Pod>)(p => p)));

        // A composition may run the caller's code before the strip, which could read the managed fields: decoded as asked.
        Assert.False(KubernetesTransforms.DiscardsManagedFields(ObjectTransforms.Compose<V1Pod>(p => p, KubernetesTransforms.StripManagedFields<V1Pod>())));

        var given = new KubernetesResourceOptions
        {
            Namespace = "ns",
            LabelSelector = "app=web",
            FieldSelector = "spec.nodeName=n1",
            FieldManager = "me",
            Namespaced = true,
            Resource = GroupVersionResource.Pods,
            Kind = "Pod",
            DeduplicateValues = false,
        };
        var decoded = KubernetesClientExtensions.DecodingFor(given, KubernetesTransforms.ForCache<V1Pod>())!;
        Assert.True(decoded.SkipManagedFields);
        foreach (var property in typeof(KubernetesResourceOptions).GetProperties().Where(p => p.Name != nameof(KubernetesResourceOptions.SkipManagedFields)))
        {
            Assert.Equal(property.GetValue(given), property.GetValue(decoded));
        }

        Assert.Same(given, KubernetesClientExtensions.DecodingFor(given, KubernetesTransforms.DropLastAppliedConfiguration<V1Pod>()));
        Assert.Null(KubernetesClientExtensions.DecodingFor(null, null));
        Assert.True(KubernetesClientExtensions.DecodingFor(null, KubernetesTransforms.StripManagedFields<V1Pod>())!.SkipManagedFields);
    }

    [Fact]
    public void Compose_runs_in_order_skips_nulls_and_is_null_when_empty()
    {
        Assert.Null(ObjectTransforms.Compose<string>());
        Assert.Null(ObjectTransforms.Compose<string>(null, null));
        Func<string, string> a = s => s + "a";
        Assert.Same(a, ObjectTransforms.Compose(null, a));
        Assert.Equal("xab", ObjectTransforms.Compose<string>(a, null, s => s + "b")!("x"));
    }

    private static V1Pod Pod(string name, Dictionary<string, string> annotations) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, Annotations = annotations },
        Spec = new V1PodSpec { Containers = [new V1Container { Name = "c", Image = "busybox:1.36" }] },
    };
}
