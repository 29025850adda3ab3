using System.Text.Json.Serialization;
using k8s;
using k8s.Models;
using KubeConsistency.Cache;
using KubeConsistency.Informers;
using KubeConsistency.KubernetesClient;
using KubeConsistency.Testing;

namespace KubeConsistency.Tests.KubernetesClient;

/// <summary>Informers over an <see cref="IKubernetes"/> for built-in kinds and custom resources, against the embedded server.</summary>
public sealed class KubernetesClientInformerTests
{
    private static readonly TimeSpan Guard = KubernetesClientHarness.Guard;

    [Fact]
    public async Task A_V1Pod_informer_syncs_by_watch_list_and_follows_adds_updates_and_deletes()
    {
        await using var h = await KubernetesClientHarness.StartAsync();
        await h.Client.CoreV1.CreateNamespacedPodAsync(Pod("before"), "default");
        var informer = h.Client.CreateInformer<V1Pod>(new KubernetesResourceOptions { Namespace = "default" });
        var added = new List<string>();
        var deleted = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        informer.AddEventHandler(new ResourceEventHandler<V1Pod>
        {
            OnAdd = (pod, _) => { lock (added) { added.Add(pod.Metadata.Name); } },
            OnDelete = obj => deleted.TrySetResult(DeletedFinalStateUnknown.Unwrap<V1Pod>(obj)!.Metadata.Name),
        });
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync().WaitAsync(Guard);

        // Synced by the streaming watch-list (sendInitialEvents), not a LIST, exactly as client-go v0.36 prefers.
        Assert.Equal(0, h.Server.Faults.GetRequestCount("list", "", "pods"));
        Assert.Contains("before", informer.Indexer.ListKeys().Select(k => k.Split('/')[1]));

        var created = await h.Client.CoreV1.CreateNamespacedPodAsync(Pod("after"), "default");
        await informer.WaitForStoreResourceVersionAsync(created.Metadata.ResourceVersion).WaitAsync(Guard);
        Assert.True(informer.Indexer.TryGetByKey("default/after", out var cached));

        // The informer decodes with KubernetesClient's own options: the cached object is what its GET returns.
        var read = await h.Client.CoreV1.ReadNamespacedPodAsync("after", "default");
        Assert.Equal(KubernetesJson.Serialize(read), KubernetesJson.Serialize(cached));

        var patched = await h.Client.CoreV1.PatchNamespacedPodAsync(new V1Patch("""{"metadata":{"labels":{"x":"y"}}}""", V1Patch.PatchType.MergePatch), "after", "default");
        await informer.WaitForStoreResourceVersionAsync(patched.Metadata.ResourceVersion).WaitAsync(Guard);
        Assert.True(informer.Indexer.TryGetByKey("default/after", out var relabelled));
        Assert.Equal("y", relabelled.Metadata.Labels["x"]);

        await h.Client.CoreV1.DeleteNamespacedPodAsync("before", "default", gracePeriodSeconds: 0);
        Assert.Equal("before", await deleted.Task.WaitAsync(Guard));
        lock (added)
        {
            Assert.Equal(["before", "after"], added);
        }

        await stop.CancelAsync();
        await run.WaitAsync(Guard);
    }

    [Fact]
    public async Task After_compaction_the_informer_relists_and_converges()
    {
        await using var h = await KubernetesClientHarness.StartAsync();
        var informer = h.Client.CreateInformer<V1ConfigMap>();
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync().WaitAsync(Guard);
        await h.Server.Faults.WaitForOpenWatchesAsync("", "configmaps").WaitAsync(Guard);

        // The server goes down; a write lands meanwhile and the restart compacts the history, so resuming the watch
        // from the informer's last RV is a 410 and the informer must relist.
        await h.Server.StopAsync().WaitAsync(Guard);
        h.Server.Objects.Create(ApiResourceDefinition.ConfigMaps, new System.Text.Json.Nodes.JsonObject { ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["name"] = "during", ["namespace"] = "default" } });
        await h.Server.RestartAsync().WaitAsync(Guard);
        // Written server-side: the point is the informer's recovery, not a client write racing the restart's closed connections.
        var last = h.Server.Objects.Create(ApiResourceDefinition.ConfigMaps, new System.Text.Json.Nodes.JsonObject { ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["name"] = "last", ["namespace"] = "default" } });

        await informer.WaitForStoreResourceVersionAsync(last["metadata"]!["resourceVersion"]!.GetValue<string>()).WaitAsync(Guard);
        Assert.True(informer.Indexer.TryGetByKey("default/during", out _));
        Assert.True(informer.Indexer.TryGetByKey("default/last", out _));
        await stop.CancelAsync();
        await run.WaitAsync(Guard);
    }

    [Fact]
    public async Task A_custom_resource_informer_reads_group_version_and_plural_from_KubernetesEntity()
    {
        await using var h = await KubernetesClientHarness.StartAsync(o => o.AdditionalResources = [new ApiResourceDefinition("example.com", "v1", "Widget", "widgets", "widget", Namespaced: true)]);
        var widgets = h.Client.Resource<Widget>(new KubernetesResourceOptions { Namespace = "default" });
        Assert.Equal(new GroupVersionResource("example.com", "v1", "widgets"), widgets.Resource);
        var created = await widgets.CreateAsync(new Widget { Metadata = new V1ObjectMeta { Name = "w1" }, Spec = new WidgetSpec { Size = 3 } });
        Assert.Equal(3, created.Spec!.Size);

        var informer = h.Client.CreateInformer<Widget>(new KubernetesResourceOptions { Namespace = "default" }, new SharedIndexInformerOptions<Widget> { Indexers = new Dictionary<string, IndexFunc<Widget>> { ["size"] = w => [w.Spec?.Size.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? ""] } });
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync().WaitAsync(Guard);
        var cached = Assert.Single(informer.Indexer.ByIndex("size", "3"));
        Assert.Equal("w1", cached.Metadata.Name);
        Assert.Equal(created.Metadata.Uid, KubernetesObjectMetadata.For<Widget>().GetUid(cached));
        await stop.CancelAsync();
        await run.WaitAsync(Guard);
    }

    [Fact]
    public void A_type_without_KubernetesEntity_needs_the_resource_named()
    {
        using var client = new Kubernetes(new KubernetesClientConfiguration { Host = "http://127.0.0.1:1" });
        var error = Assert.Throws<ArgumentException>(() => client.Resource<Unannotated>());
        Assert.Contains("KubernetesResourceOptions.Resource", error.Message, StringComparison.Ordinal);
        var named = client.Resource<Unannotated>(new KubernetesResourceOptions { Resource = new GroupVersionResource("example.com", "v1", "things"), Kind = "Thing" });
        Assert.Equal("things", named.Resource.Resource);
        Assert.Throws<ArgumentException>(() => System.Reflection.DispatchProxy.Create<IKubernetes, NotKubernetes>().Resource<V1Pod>());
    }

    [Fact]
    public void Cluster_scoped_built_in_kinds_are_known()
    {
        Assert.False(KubernetesModel<V1Node>.Describe(null).Namespaced);
        Assert.False(KubernetesModel<V1Namespace>.Describe(null).Namespaced);
        Assert.True(KubernetesModel<V1Pod>.Describe(null).Namespaced);
        Assert.True(KubernetesModel<V1Lease>.Describe(null).Namespaced);
        Assert.Equal(("Lease", new GroupVersionResource("coordination.k8s.io", "v1", "leases")), (KubernetesModel<V1Lease>.Describe(null).Kind, KubernetesModel<V1Lease>.Describe(null).Resource));
        Assert.False(KubernetesModel<Widget>.Describe(new KubernetesResourceOptions { Namespaced = false }).Namespaced);
    }

    [Fact]
    public void The_metadata_accessor_reads_V1ObjectMeta_without_reflection()
    {
        var accessor = KubernetesObjectMetadata.For<V1Pod>();
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta
            {
                Name = "p",
                NamespaceProperty = "ns",
                Uid = "u",
                ResourceVersion = "7",
                Generation = 2,
                Labels = new Dictionary<string, string> { ["a"] = "b" },
                DeletionTimestamp = new DateTime(2026, 3, 4, 5, 6, 7, DateTimeKind.Utc),
                OwnerReferences = [new V1OwnerReference { ApiVersion = "apps/v1", Kind = "ReplicaSet", Name = "rs", Uid = "o", Controller = true }],
            },
        };
        Assert.True(accessor.HasMetadata(pod));
        Assert.Equal(new NamespacedName("ns", "p"), accessor.GetNamespacedName(pod));
        Assert.Equal(("u", "7", 2L), (accessor.GetUid(pod), accessor.GetResourceVersion(pod), accessor.GetGeneration(pod)));
        Assert.Equal("b", accessor.GetLabels(pod)!["a"]);
        Assert.Equal(new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero), accessor.GetDeletionTimestamp(pod));
        Assert.Equal(new OwnerReference("apps/v1", "ReplicaSet", "rs", "o", true, null), accessor.GetControllerOf(pod));
        Assert.False(accessor.HasMetadata(new V1Pod()));
        Assert.Null(accessor.GetName(new V1Pod()));
        Assert.Empty(accessor.GetOwnerReferences(new V1Pod { Metadata = new V1ObjectMeta() }));
    }

    private static V1Pod Pod(string name) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1PodSpec { Containers = [new V1Container { Name = "c", Image = "busybox:1.36" }] },
    };

    /// <summary>A custom resource as KubernetesClient users declare one.</summary>
    [KubernetesEntity(Group = "example.com", ApiVersion = "v1", Kind = "Widget", PluralName = "widgets")]
    public sealed class Widget : IKubernetesObject<V1ObjectMeta>
    {
        [JsonPropertyName("apiVersion")]
        public string ApiVersion { get; set; } = "example.com/v1";

        [JsonPropertyName("kind")]
        public string Kind { get; set; } = "Widget";

        [JsonPropertyName("metadata")]
        public V1ObjectMeta Metadata { get; set; } = new();

        [JsonPropertyName("spec")]
        public WidgetSpec? Spec { get; set; }
    }

    public sealed class WidgetSpec
    {
        [JsonPropertyName("size")]
        public int Size { get; set; }
    }

    public sealed class Unannotated : IKubernetesObject<V1ObjectMeta>
    {
        public string ApiVersion { get; set; } = "";

        public string Kind { get; set; } = "";

        public V1ObjectMeta Metadata { get; set; } = new();
    }

    /// <summary>An <see cref="IKubernetes"/> that is not a <see cref="Kubernetes"/> (a test double).</summary>
    public class NotKubernetes : System.Reflection.DispatchProxy
    {
        protected override object? Invoke(System.Reflection.MethodInfo? targetMethod, object?[]? args) => throw new NotSupportedException();
    }
}
