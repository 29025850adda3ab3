using k8s;
using k8s.Models;
using KubeConsistency.Consistency;
using KubeConsistency.KubernetesClient;

namespace KubeConsistency.Tests.KubernetesClient;

/// <summary>
/// Writes made through <see cref="IKubernetes"/> inside a <see cref="WriteScope"/> are recorded with <c>WroteAt</c> for the
/// scope's owner (upstream-semantics.md §8.1 step 2: the owner's key and UID, the written group-resource, the RV the
/// server returned), with no code per kind.
/// </summary>
public sealed class ConsistencyRecordingHandlerTests
{
    private const string Ns = "default";
    private static readonly NamespacedName Owner = new(Ns, "owner");

    [Fact]
    public async Task Every_kind_of_write_inside_a_scope_is_recorded_with_the_returned_resource_version()
    {
        await using var h = await KubernetesClientHarness.StartAsync();
        var store = new RecordingStore();
        var rs = await h.Client.AppsV1.CreateNamespacedReplicaSetAsync(ReplicaSet("owner"), Ns); // outside a scope: not recorded
        Assert.Empty(store.Writes);

        var expected = new List<(GroupResource, string)>();
        using (WriteScope.Begin(store, Owner, rs.Metadata.Uid))
        {
            var pod = await h.Client.CoreV1.CreateNamespacedPodAsync(new V1Pod { Metadata = new V1ObjectMeta { GenerateName = "owner-" }, Spec = PodSpec() }, Ns);
            expected.Add((GroupResource.Pods, pod.Metadata.ResourceVersion));
            pod.Metadata.Labels = new Dictionary<string, string> { ["a"] = "b" };
            var replaced = await h.Client.CoreV1.ReplaceNamespacedPodAsync(pod, pod.Metadata.Name, Ns);
            expected.Add((GroupResource.Pods, replaced.Metadata.ResourceVersion));
            foreach (var (type, body) in new[]
            {
                (V1Patch.PatchType.MergePatch, """{"metadata":{"labels":{"m":"1"}}}"""),
                (V1Patch.PatchType.StrategicMergePatch, """{"metadata":{"labels":{"s":"1"}}}"""),
                (V1Patch.PatchType.JsonPatch, """[{"op":"add","path":"/metadata/labels/j","value":"1"}]"""),
            })
            {
                var patched = await h.Client.CoreV1.PatchNamespacedPodAsync(new V1Patch(body, type), pod.Metadata.Name, Ns);
                expected.Add((GroupResource.Pods, patched.Metadata.ResourceVersion));
            }

            var applied = await h.Client.CoreV1.PatchNamespacedPodAsync(
                new V1Patch(System.Text.Json.JsonSerializer.Serialize(new { apiVersion = "v1", kind = "Pod", metadata = new { name = pod.Metadata.Name, annotations = new { applied = "yes" } } }), V1Patch.PatchType.ApplyPatch),
                pod.Metadata.Name, Ns, fieldManager: "test");
            expected.Add((GroupResource.Pods, applied.Metadata.ResourceVersion));

            rs.Status = new V1ReplicaSetStatus { Replicas = 1 };
            var status = await h.Client.AppsV1.ReplaceNamespacedReplicaSetStatusAsync(rs, "owner", Ns);
            expected.Add((GroupResource.ReplicaSets, status.Metadata.ResourceVersion));
            var scale = await h.Client.AppsV1.PatchNamespacedReplicaSetScaleAsync(new V1Patch("""{"spec":{"replicas":4}}""", V1Patch.PatchType.MergePatch), "owner", Ns);
            expected.Add((GroupResource.ReplicaSets, scale.Metadata.ResourceVersion));

            // A pod delete returns the pod (its last state, or the object behind a grace period): its RV is recorded.
            var deleted = await h.Client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, Ns, gracePeriodSeconds: 0);
            expected.Add((GroupResource.Pods, deleted.Metadata.ResourceVersion));

            // A ConfigMap delete returns a Status without a resource version (a pre-v1.38 server): nothing to record.
            await h.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c" } }, Ns);
            var cm = await h.Client.CoreV1.ReadNamespacedConfigMapAsync("c", Ns);
            expected.Add((new GroupResource("", "configmaps"), cm.Metadata.ResourceVersion));
            await h.Client.CoreV1.DeleteNamespacedConfigMapAsync("c", Ns);

            // A failed write records nothing.
            await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() => h.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "kube-root-ca.crt-missing-ns" } }, "no-such-namespace"));
        }

        Assert.All(store.Writes, w => Assert.Equal((Owner, rs.Metadata.Uid), (w.Owner, w.Uid)));
        Assert.Equal(expected, store.Writes.Select(w => (w.Resource, w.ResourceVersion)));

        // After the scope: nothing is recorded.
        await h.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "after" } }, Ns);
        Assert.Equal(expected.Count, store.Writes.Count);
    }

    [Fact]
    public async Task Section7_the_recorded_write_gates_EnsureReady_until_the_informer_has_applied_it()
    {
        await using var h = await KubernetesClientHarness.StartAsync(o => o.BookmarkInterval = TimeSpan.FromMilliseconds(100));
        var pods = h.Client.CreateInformer<V1Pod>(new KubernetesResourceOptions { Namespace = Ns });
        using var stop = new CancellationTokenSource();
        var run = pods.RunAsync(stop.Token);
        await pods.WaitForSyncAsync().WaitAsync(KubernetesClientHarness.Guard);
        var consistency = ConsistencyStore.Create([new(GroupResource.Pods, pods.Indexer)]);

        // The pod watch lags, so the informer has not applied the create when EnsureReady runs.
        h.Server.Faults.SetWatchDelay("", "pods", TimeSpan.FromSeconds(1));
        V1Pod created;
        using (WriteScope.Begin(consistency, Owner, "uid-1"))
        {
            created = await h.Client.CoreV1.CreateNamespacedPodAsync(new V1Pod { Metadata = new V1ObjectMeta { Name = "p" }, Spec = PodSpec() }, Ns);
        }

        var stale = consistency.EnsureReady(Owner);
        Assert.NotNull(stale);
        Assert.Equal(GroupResource.Pods, stale.GroupResource);
        Assert.Equal(created.Metadata.ResourceVersion, stale.WroteResourceVersion);

        h.Server.Faults.SetWatchDelay("", "pods", TimeSpan.Zero);
        await pods.WaitForStoreResourceVersionAsync(created.Metadata.ResourceVersion).WaitAsync(KubernetesClientHarness.Guard);
        Assert.Null(consistency.EnsureReady(Owner));
        await stop.CancelAsync();
        await run.WaitAsync(KubernetesClientHarness.Guard);
    }

    [Fact]
    public void A_disposed_scope_records_nothing_and_restores_the_outer_scope()
    {
        var store = new RecordingStore();
        using var outer = WriteScope.Begin(store, new NamespacedName("a", "outer"), "u1");
        var inner = WriteScope.Begin(store, new NamespacedName("a", "inner"), "u2");
        Assert.Same(inner, WriteScope.Current);
        Assert.True(inner.RecordWrite(GroupResource.Pods, "5"));
        inner.Dispose();
        Assert.Same(outer, WriteScope.Current);
        Assert.False(inner.RecordWrite(GroupResource.Pods, "6"));
        Assert.Equal(1, inner.RecordedWrites);
        Assert.Equal([(new NamespacedName("a", "inner"), "u2", GroupResource.Pods, "5")], store.Writes.Select(w => (w.Owner, w.Uid, w.Resource, w.ResourceVersion)));
    }

    [Fact]
    public async Task A_scope_flows_into_awaited_calls_but_not_back_out_to_the_caller()
    {
        var store = new RecordingStore();
        Assert.Null(WriteScope.Current);
        await BeginInsideAsync(store);
        Assert.Null(WriteScope.Current);

        static async Task BeginInsideAsync(RecordingStore store)
        {
            using var scope = WriteScope.Begin(store, Owner, "u");
            await Task.Yield();
            Assert.Same(scope, await Task.Run(() => WriteScope.Current));
        }
    }

    [Theory]
    [InlineData("/api/v1/namespaces/a/pods", "", "pods", "a", null, null)]
    [InlineData("/api/v1/namespaces/a/pods/p/status", "", "pods", "a", "p", "status")]
    [InlineData("/api/v1/namespaces/a/pods/p/eviction", "", "pods", "a", "p", "eviction")]
    [InlineData("/apis/apps/v1/namespaces/a/replicasets/r/scale", "apps", "replicasets", "a", "r", "scale")]
    [InlineData("/api/v1/namespaces/a", "", "namespaces", null, "a", null)]
    [InlineData("/api/v1/namespaces/a/finalize", "", "namespaces", null, "a", "finalize")]
    [InlineData("/api/v1/nodes/n1", "", "nodes", null, "n1", null)]
    [InlineData("/k8s/clusters/c-1/apis/batch/v1/namespaces/x/jobs/j", "batch", "jobs", "x", "j", null)]
    [InlineData("/apis/example.com/v1/widgets", "example.com", "widgets", null, null, null)]
    public void Request_paths_name_the_group_resource_written(string path, string group, string resource, string? ns, string? name, string? sub)
    {
        Assert.True(KubernetesRequestPath.TryParse(new Uri("https://h:6443" + path), out var parsed));
        Assert.Equal(new KubernetesRequestPath(new GroupResource(group, resource), ns, name, sub), parsed);
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/apis/apps")]
    [InlineData("/api/v1")]
    public void Non_resource_paths_are_not_recorded(string path) =>
        Assert.False(KubernetesRequestPath.TryParse(new Uri("https://h" + path), out _));

    [Theory]
    [InlineData("""{"kind":"Pod","metadata":{"name":"p","resourceVersion":"12"},"spec":{}}""", "12")]
    [InlineData("""{"spec":{"metadata":{"resourceVersion":"99"}},"metadata":{"labels":{"resourceVersion":"no"},"resourceVersion":"7"}}""", "7")]
    [InlineData("""{"kind":"Status","apiVersion":"v1","metadata":{"resourceVersion":"31"},"status":"Success"}""", "31")]
    [InlineData("""{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success"}""", null)]
    [InlineData("""{"metadata":{"resourceVersion":5}}""", null)]
    [InlineData("not json", null)]
    [InlineData("[1,2]", null)]
    public void The_resource_version_is_the_top_level_metadata_one(string body, string? expected) =>
        Assert.Equal(expected, ConsistencyRecordingHandler.TryReadResourceVersion(System.Text.Encoding.UTF8.GetBytes(body)));

    private static V1PodSpec PodSpec() => new() { Containers = [new V1Container { Name = "c", Image = "busybox:1.36" }] };

    private static V1ReplicaSet ReplicaSet(string name) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1ReplicaSetSpec
        {
            Replicas = 1,
            Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = name } },
            Template = new V1PodTemplateSpec { Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = name } }, Spec = PodSpec() },
        },
    };

    private sealed class RecordingStore : IConsistencyStore
    {
        public List<(NamespacedName Owner, string Uid, GroupResource Resource, string ResourceVersion)> Writes { get; } = [];

        public void WroteAt(NamespacedName owner, string ownerUid, GroupResource resource, string resourceVersion)
        {
            lock (Writes)
            {
                Writes.Add((owner, ownerUid, resource, resourceVersion));
            }
        }

        public ConsistencyError? EnsureReady(NamespacedName owner) => null;

        public void Clear(NamespacedName owner, string ownerUid)
        {
        }
    }
}
