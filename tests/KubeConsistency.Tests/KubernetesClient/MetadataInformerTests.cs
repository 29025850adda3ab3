using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using KubeConsistency.Cache;
using KubeConsistency.Consistency;
using KubeConsistency.Informers;
using KubeConsistency.KubernetesClient;
using KubeConsistency.Testing;

namespace KubeConsistency.Tests.KubernetesClient;

/// <summary>
/// Metadata-only informers (client-go's metadatainformer) over an <see cref="IKubernetes"/> against the embedded server:
/// sync, updates and deletes, the store resource version, a full informer of the same resource next to it, the cache
/// transforms, and the consistency layer.
/// </summary>
public sealed class MetadataInformerTests
{
    private const string Ns = "default";
    private static readonly TimeSpan Guard = KubernetesClientHarness.Guard;
    private static readonly NamespacedName Owner = new(Ns, "owner");

    [Fact]
    public async Task A_metadata_informer_of_pods_syncs_1000_pods_and_follows_updates_and_deletes()
    {
        await using var h = await KubernetesClientHarness.StartAsync();
        for (var i = 0; i < 1000; i++)
        {
            h.Server.Objects.Create(ApiResourceDefinition.Pods, PodJson($"p{i:D4}", i % 10));
        }

        var synced = h.Server.CurrentResourceVersion;
        var informer = h.Client.CreateMetadataInformer(GroupVersionResource.Pods, new KubernetesResourceOptions { Namespace = Ns, Kind = "Pod" });
        var deleted = new TaskCompletionSource<PartialObjectMetadata>(TaskCreationOptions.RunContinuationsAsynchronously);
        informer.AddEventHandler(new ResourceEventHandler<PartialObjectMetadata>
        {
            OnDelete = obj => deleted.TrySetResult(DeletedFinalStateUnknown.Unwrap<PartialObjectMetadata>(obj)!),
        });
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync().WaitAsync(Guard);

        var cached = informer.Indexer.List();
        Assert.Equal(1000, cached.Count);
        Assert.All(cached, p =>
        {
            Assert.Equal((PartialObjectMetadata.KubeKind, PartialObjectMetadata.KubeApiVersion), (p.Kind, p.ApiVersion));
            Assert.False(string.IsNullOrEmpty(p.Metadata?.Uid));
        });
        Assert.True(informer.Indexer.TryGetByKey($"{Ns}/p0042", out var p42));
        Assert.Equal("2", p42.Metadata!.Labels!["shard"]);
        Assert.Equal(synced, informer.Indexer.LastStoreSyncResourceVersion);

        // Requests went out as metadata requests: the server counted no full-object bytes we could check, so check the verb count.
        Assert.True(h.Server.Faults.GetRequestCount("watch", "", "pods") + h.Server.Faults.GetRequestCount("list", "", "pods") >= 1);

        var patched = await h.Client.CoreV1.PatchNamespacedPodAsync(new V1Patch("""{"metadata":{"labels":{"shard":"x"}}}""", V1Patch.PatchType.MergePatch), "p0042", Ns);
        await informer.WaitForStoreResourceVersionAsync(patched.Metadata.ResourceVersion).WaitAsync(Guard);
        Assert.True(informer.Indexer.TryGetByKey($"{Ns}/p0042", out var relabelled));
        Assert.Equal("x", relabelled.Metadata!.Labels!["shard"]);
        Assert.Equal(patched.Metadata.ResourceVersion, relabelled.Metadata.ResourceVersion);

        var gone = await h.Client.CoreV1.DeleteNamespacedPodAsync("p0007", Ns, gracePeriodSeconds: 0);
        Assert.Equal("p0007", (await deleted.Task.WaitAsync(Guard)).Metadata!.Name);
        await informer.WaitForStoreResourceVersionAsync(h.Server.CurrentResourceVersion).WaitAsync(Guard);
        Assert.False(informer.Indexer.TryGetByKey($"{Ns}/p0007", out _));
        Assert.Equal(999, informer.Indexer.Count);
        Assert.True(long.Parse(informer.Indexer.LastStoreSyncResourceVersion, System.Globalization.CultureInfo.InvariantCulture)
            >= long.Parse(gone.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture));

        await stop.CancelAsync();
        await run.WaitAsync(Guard);
    }

    [Fact]
    public async Task A_metadata_informer_and_a_full_pod_informer_are_two_informers_on_one_factory()
    {
        await using var h = await KubernetesClientHarness.StartAsync();
        h.Server.Objects.Create(ApiResourceDefinition.Pods, PodJson("web", 1, lastApplied: true));
        await using var factory = new SharedInformerFactory();
        var resource = new KubernetesResourceOptions { Namespace = Ns, Kind = "Pod", SkipManagedFields = true };
        var full = factory.GetOrAdd<V1Pod>(h.Client, resource);
        var metadata = factory.GetOrAddMetadata(h.Client, GroupVersionResource.Pods, resource, o => o with { Transform = KubernetesTransforms.ForCache<PartialObjectMetadata>() });
        Assert.NotSame((object)full, metadata);
        Assert.Same(metadata, factory.GetOrAddMetadata(h.Client, GroupVersionResource.Pods, resource));
        Assert.Same(full, factory.GetOrAdd<V1Pod>(h.Client, resource));

        factory.Start();
        await factory.WaitForCacheSyncAsync().WaitAsync(Guard);

        Assert.True(full.Indexer.TryGetByKey($"{Ns}/web", out var pod));
        Assert.True(metadata.Indexer.TryGetByKey($"{Ns}/web", out var meta));
        Assert.Equal("busybox:1.36", pod.Spec.Containers[0].Image);
        Assert.Equal(pod.Metadata.Uid, meta.Metadata!.Uid);
        Assert.Equal(PartialObjectMetadata.KubeKind, meta.Kind);

        // SkipManagedFields and the cache transform apply to the metadata informer as to any model.
        Assert.Null(meta.Metadata.ManagedFields);
        Assert.True(pod.Metadata.Annotations.ContainsKey(KubernetesTransforms.LastAppliedConfigurationAnnotation));
        Assert.False(meta.Metadata.Annotations?.ContainsKey(KubernetesTransforms.LastAppliedConfigurationAnnotation) ?? false);
        Assert.Equal("kept", meta.Metadata.Annotations!["note"]);

        // Both follow the same write to the same store RV.
        var patched = await h.Client.CoreV1.PatchNamespacedPodAsync(new V1Patch("""{"metadata":{"labels":{"v":"2"}}}""", V1Patch.PatchType.MergePatch), "web", Ns);
        await Task.WhenAll(full.WaitForStoreResourceVersionAsync(patched.Metadata.ResourceVersion), metadata.WaitForStoreResourceVersionAsync(patched.Metadata.ResourceVersion)).WaitAsync(Guard);
        Assert.True(metadata.Indexer.TryGetByKey($"{Ns}/web", out var updated));
        Assert.Equal("2", updated.Metadata!.Labels!["v"]);
    }

    [Fact]
    public async Task A_write_recorded_in_a_scope_gates_EnsureReady_until_the_metadata_informer_has_applied_it()
    {
        await using var h = await KubernetesClientHarness.StartAsync(o => o.BookmarkInterval = TimeSpan.FromMilliseconds(100));
        h.Server.Objects.Create(ApiResourceDefinition.Pods, PodJson("p", 0));
        var pods = h.Client.CreateMetadataInformer(GroupVersionResource.Pods, new KubernetesResourceOptions { Namespace = Ns });
        using var stop = new CancellationTokenSource();
        var run = pods.RunAsync(stop.Token);
        await pods.WaitForSyncAsync().WaitAsync(Guard);
        var consistency = ConsistencyStore.Create([new(GroupResource.Pods, pods.Indexer)]);

        // The pod watch lags, so the informer has not applied the write when EnsureReady runs. The write is a
        // metadata-only patch: it goes through the same client pipeline, so the recording handler sees it.
        h.Server.Faults.SetWatchDelay("", "pods", TimeSpan.FromSeconds(1));
        PartialObjectMetadata written;
        using (WriteScope.Begin(consistency, Owner, "uid-1"))
        {
            written = await h.Client.MetadataResource(GroupVersionResource.Pods).PatchAsync(Ns, "p", Encoding.UTF8.GetBytes("""{"metadata":{"labels":{"seen":"no"}}}"""));
        }

        Assert.Equal(PartialObjectMetadata.KubeKind, written.Kind);
        var stale = consistency.EnsureReady(Owner);
        Assert.NotNull(stale);
        Assert.Equal(GroupResource.Pods, stale.GroupResource);
        Assert.Equal(written.Metadata!.ResourceVersion, stale.WroteResourceVersion);

        h.Server.Faults.SetWatchDelay("", "pods", TimeSpan.Zero);
        await pods.WaitForStoreResourceVersionAsync(written.Metadata.ResourceVersion).WaitAsync(Guard);
        Assert.Null(consistency.EnsureReady(Owner));
        Assert.True(pods.Indexer.TryGetByKey($"{Ns}/p", out var cached));
        Assert.Equal("no", cached.Metadata!.Labels!["seen"]);

        await stop.CancelAsync();
        await run.WaitAsync(Guard);
    }

    [Fact]
    public async Task A_metadata_client_refuses_create_and_update_and_a_conflicting_resource()
    {
        await using var h = await KubernetesClientHarness.StartAsync();
        var client = h.Client.MetadataResource(GroupVersionResource.Pods, new KubernetesResourceOptions { Namespace = Ns });
        var obj = new PartialObjectMetadata { Metadata = new V1ObjectMeta { Name = "x", NamespaceProperty = Ns } };
        await Assert.ThrowsAsync<NotSupportedException>(async () => await client.CreateAsync(obj));
        await Assert.ThrowsAsync<NotSupportedException>(async () => await client.UpdateAsync(obj));
        Assert.Equal(0, h.Server.Faults.GetRequestCount("create", "", "pods"));
        Assert.Throws<ArgumentException>(() => h.Client.MetadataResource(GroupVersionResource.Pods, new KubernetesResourceOptions { Resource = new GroupVersionResource("", "v1", "configmaps") }));

        // Cluster-scoped built-ins are recognised by resource, as for typed informers.
        var nodes = h.Client.MetadataResource(new GroupVersionResource("", "v1", "nodes"));
        await Assert.ThrowsAsync<ArgumentException>(async () => await nodes.GetAsync("ns", "n"));
    }

    private static JsonObject PodJson(string name, int shard, bool lastApplied = false)
    {
        var annotations = new JsonObject { ["note"] = "kept" };
        if (lastApplied)
        {
            annotations[KubernetesTransforms.LastAppliedConfigurationAnnotation] = """{"apiVersion":"v1","kind":"Pod"}""";
        }

        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["namespace"] = Ns,
                ["labels"] = new JsonObject { ["app"] = "demo", ["shard"] = shard.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                ["annotations"] = annotations,
            },
            ["spec"] = new JsonObject
            {
                ["containers"] = new JsonArray { new JsonObject { ["name"] = "c", ["image"] = "busybox:1.36" } },
            },
        };
    }
}
