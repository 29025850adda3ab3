using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace KubeConsistency.Tests.KubernetesClient;

/// <summary>
/// KubernetesClient 21.0.8 (<c>k8s.Kubernetes</c>) driven against <see cref="KubeConsistency.Testing.EmbeddedApiServer"/> over loopback
/// HTTP, for what operators use. Each failure here is a fidelity bug of the embedded server, never a skip.
/// </summary>
public sealed class KubernetesClientConformanceTests
{
    private const string Ns = "default";

    public static TheoryData<string> Kinds => new() { "ConfigMap", "Pod", "ReplicaSet", "Job", "Lease" };

    [Fact]
    public async Task The_kubeconfig_the_server_writes_loads_in_KubernetesClient()
    {
        await using var h = await KubernetesClientHarness.StartAsync();
        Assert.Equal(h.Server.BaseAddress.GetLeftPart(UriPartial.Authority), h.Configuration.Host.TrimEnd('/'));
        Assert.Equal(Ns, h.Configuration.Namespace);
        Assert.Equal(KubeConsistency.Testing.EmbeddedApiServer.KubeconfigToken, h.Configuration.AccessToken);
        var namespaces = await h.Client.CoreV1.ListNamespaceAsync().WaitAsync(KubernetesClientHarness.Guard);
        Assert.Contains(namespaces.Items, n => n.Metadata.Name == "kube-system");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Create_with_generateName_get_list_replace_patch_and_delete(string kind)
    {
        await using var h = await KubernetesClientHarness.StartAsync();
        switch (kind)
        {
            case "ConfigMap":
                await CrudAsync(new KindOps<V1ConfigMap>(
                    () => new V1ConfigMap { Metadata = Meta(), Data = new Dictionary<string, string> { ["a"] = "1" } },
                    o => h.Client.CoreV1.CreateNamespacedConfigMapAsync(o, Ns),
                    n => h.Client.CoreV1.ReadNamespacedConfigMapAsync(n, Ns),
                    async () => (await h.Client.CoreV1.ListNamespacedConfigMapAsync(Ns, labelSelector: "app=conformance")).Items,
                    o => h.Client.CoreV1.ReplaceNamespacedConfigMapAsync(o, o.Metadata.Name, Ns),
                    (p, n, m) => h.Client.CoreV1.PatchNamespacedConfigMapAsync(p, n, Ns, fieldManager: m),
                    n => h.Client.CoreV1.DeleteNamespacedConfigMapAsync(n, Ns)));
                break;
            case "Pod":
                await CrudAsync(new KindOps<V1Pod>(
                    () => new V1Pod { Metadata = Meta(), Spec = PodSpec() },
                    o => h.Client.CoreV1.CreateNamespacedPodAsync(o, Ns),
                    n => h.Client.CoreV1.ReadNamespacedPodAsync(n, Ns),
                    async () => (await h.Client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: "app=conformance")).Items,
                    o => h.Client.CoreV1.ReplaceNamespacedPodAsync(o, o.Metadata.Name, Ns),
                    (p, n, m) => h.Client.CoreV1.PatchNamespacedPodAsync(p, n, Ns, fieldManager: m),
                    n => h.Client.CoreV1.DeleteNamespacedPodAsync(n, Ns, gracePeriodSeconds: 0)));
                break;
            case "ReplicaSet":
                await CrudAsync(new KindOps<V1ReplicaSet>(
                    () => ReplicaSet(),
                    o => h.Client.AppsV1.CreateNamespacedReplicaSetAsync(o, Ns),
                    n => h.Client.AppsV1.ReadNamespacedReplicaSetAsync(n, Ns),
                    async () => (await h.Client.AppsV1.ListNamespacedReplicaSetAsync(Ns, labelSelector: "app=conformance")).Items,
                    o => h.Client.AppsV1.ReplaceNamespacedReplicaSetAsync(o, o.Metadata.Name, Ns),
                    (p, n, m) => h.Client.AppsV1.PatchNamespacedReplicaSetAsync(p, n, Ns, fieldManager: m),
                    n => h.Client.AppsV1.DeleteNamespacedReplicaSetAsync(n, Ns)));
                break;
            case "Job":
                await CrudAsync(new KindOps<V1Job>(
                    () => new V1Job { Metadata = Meta(), Spec = new V1JobSpec { Template = new V1PodTemplateSpec { Metadata = new V1ObjectMeta { Labels = Labels() }, Spec = PodSpec("Never") } } },
                    o => h.Client.BatchV1.CreateNamespacedJobAsync(o, Ns),
                    n => h.Client.BatchV1.ReadNamespacedJobAsync(n, Ns),
                    async () => (await h.Client.BatchV1.ListNamespacedJobAsync(Ns, labelSelector: "app=conformance")).Items,
                    o => h.Client.BatchV1.ReplaceNamespacedJobAsync(o, o.Metadata.Name, Ns),
                    (p, n, m) => h.Client.BatchV1.PatchNamespacedJobAsync(p, n, Ns, fieldManager: m),
                    n => h.Client.BatchV1.DeleteNamespacedJobAsync(n, Ns, propagationPolicy: "Background")));
                break;
            case "Lease":
                await CrudAsync(new KindOps<V1Lease>(
                    () => new V1Lease { Metadata = Meta(), Spec = new V1LeaseSpec { HolderIdentity = "a", LeaseDurationSeconds = 15, RenewTime = new DateTime(2026, 1, 2, 3, 4, 5, 678, 901, DateTimeKind.Utc) } },
                    o => h.Client.CoordinationV1.CreateNamespacedLeaseAsync(o, Ns),
                    n => h.Client.CoordinationV1.ReadNamespacedLeaseAsync(n, Ns),
                    async () => (await h.Client.CoordinationV1.ListNamespacedLeaseAsync(Ns, labelSelector: "app=conformance")).Items,
                    o => h.Client.CoordinationV1.ReplaceNamespacedLeaseAsync(o, o.Metadata.Name, Ns),
                    (p, n, m) => h.Client.CoordinationV1.PatchNamespacedLeaseAsync(p, n, Ns, fieldManager: m),
                    n => h.Client.CoordinationV1.DeleteNamespacedLeaseAsync(n, Ns)));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    [Fact]
    public async Task Lease_times_round_trip_with_microseconds()
    {
        await using var h = await KubernetesClientHarness.StartAsync();
        var renew = new DateTime(2026, 1, 2, 3, 4, 5, 678, 901, DateTimeKind.Utc);
        var created = await h.Client.CoordinationV1.CreateNamespacedLeaseAsync(
            new V1Lease { Metadata = new V1ObjectMeta { Name = "lock" }, Spec = new V1LeaseSpec { HolderIdentity = "a", LeaseDurationSeconds = 15, AcquireTime = renew, RenewTime = renew, LeaseTransitions = 2 } }, Ns);
        var read = await h.Client.CoordinationV1.ReadNamespacedLeaseAsync("lock", Ns);
        Assert.Equal(renew, read.Spec.RenewTime);
        Assert.Equal(renew, read.Spec.AcquireTime);
        Assert.Equal(2, read.Spec.LeaseTransitions);
        Assert.Equal(created.Metadata.ResourceVersion, read.Metadata.ResourceVersion);
    }

    [Fact]
    public async Task List_pages_with_limit_and_continue_at_one_resource_version()
    {
        await using var h = await KubernetesClientHarness.StartAsync();
        for (var i = 0; i < 7; i++)
        {
            await h.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = $"cm-{i}", Labels = Labels() } }, Ns);
        }

        var names = new List<string>();
        string? token = null;
        string? rv = null;
        var pages = 0;
        do
        {
            var page = await h.Client.CoreV1.ListNamespacedConfigMapAsync(Ns, limit: 3, continueParameter: token);
            names.AddRange(page.Items.Select(c => c.Metadata.Name));
            rv ??= page.Metadata.ResourceVersion;
            Assert.Equal(rv, page.Metadata.ResourceVersion);
            token = page.Metadata.ContinueProperty;
            pages++;
            if (token is not null)
            {
                Assert.Equal(3, page.Items.Count);
                Assert.True(page.Metadata.RemainingItemCount > 0);
            }
        }
        while (!string.IsNullOrEmpty(token));

        Assert.Equal(3, pages);
        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"cm-{i}"), names);
    }

    [Fact]
    public async Task Label_and_field_selectors_filter_lists()
    {
        await using var h = await KubernetesClientHarness.StartAsync();
        await h.Client.CoreV1.CreateNamespacedPodAsync(new V1Pod { Metadata = new V1ObjectMeta { Name = "a", Labels = new Dictionary<string, string> { ["tier"] = "web", ["env"] = "prod" } }, Spec = PodSpec() }, Ns);
        await h.Client.CoreV1.CreateNamespacedPodAsync(new V1Pod { Metadata = new V1ObjectMeta { Name = "b", Labels = new Dictionary<string, string> { ["tier"] = "db" } }, Spec = PodSpec() }, Ns);
        await h.Client.CoreV1.CreateNamespacedPodAsync(new V1Pod { Metadata = new V1ObjectMeta { Name = "c", Labels = new Dictionary<string, string> { ["tier"] = "web" } }, Spec = PodSpec() }, Ns);

        static IEnumerable<string> Names(V1PodList l) => l.Items.Select(p => p.Metadata.Name).Order(StringComparer.Ordinal);
        Assert.Equal(["a", "c"], Names(await h.Client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: "tier=web")));
        Assert.Equal(["a"], Names(await h.Client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: "tier in (web),env")));
        Assert.Equal(["b", "c"], Names(await h.Client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: "!env")));
        Assert.Equal(["b"], Names(await h.Client.CoreV1.ListNamespacedPodAsync(Ns, fieldSelector: "metadata.name=b")));
        Assert.Equal(["a", "c"], Names(await h.Client.CoreV1.ListNamespacedPodAsync(Ns, fieldSelector: "metadata.name!=b")));
        var all = await h.Client.CoreV1.ListPodForAllNamespacesAsync(labelSelector: "tier=db");
        Assert.Equal(["b"], Names(all));
    }

    [Fact]
    public async Task Status_subresource_writes_status_only_and_scale_subresource_scales()
    {
        await using var h = await KubernetesClientHarness.StartAsync();
        var rs = await h.Client.AppsV1.CreateNamespacedReplicaSetAsync(ReplicaSet("web"), Ns);
        rs.Status = new V1ReplicaSetStatus { Replicas = 2, ReadyReplicas = 1, ObservedGeneration = rs.Metadata.Generation };
        rs.Spec.Replicas = 9;
        var updated = await h.Client.AppsV1.ReplaceNamespacedReplicaSetStatusAsync(rs, "web", Ns);
        Assert.Equal(2, updated.Status.Replicas);
        Assert.Equal(2, updated.Spec.Replicas);
        Assert.NotEqual(rs.Metadata.ResourceVersion, updated.Metadata.ResourceVersion);

        var patched = await h.Client.AppsV1.PatchNamespacedReplicaSetStatusAsync(new V1Patch("""{"status":{"readyReplicas":2}}""", V1Patch.PatchType.MergePatch), "web", Ns);
        Assert.Equal(2, patched.Status.ReadyReplicas);

        var scale = await h.Client.AppsV1.ReadNamespacedReplicaSetScaleAsync("web", Ns);
        Assert.Equal(2, scale.Spec.Replicas);
        Assert.Equal(patched.Metadata.ResourceVersion, scale.Metadata.ResourceVersion);
        scale.Spec.Replicas = 5;
        var rescaled = await h.Client.AppsV1.ReplaceNamespacedReplicaSetScaleAsync(scale, "web", Ns);
        Assert.Equal(5, rescaled.Spec.Replicas);
        var afterScale = await h.Client.AppsV1.ReadNamespacedReplicaSetAsync("web", Ns);
        Assert.Equal(5, afterScale.Spec.Replicas);
        Assert.Equal(rescaled.Metadata.ResourceVersion, afterScale.Metadata.ResourceVersion);
        var patchedScale = await h.Client.AppsV1.PatchNamespacedReplicaSetScaleAsync(new V1Patch("""{"spec":{"replicas":1}}""", V1Patch.PatchType.MergePatch), "web", Ns);
        Assert.Equal(1, patchedScale.Spec.Replicas);

        var job = await h.Client.BatchV1.CreateNamespacedJobAsync(new V1Job { Metadata = new V1ObjectMeta { Name = "j" }, Spec = new V1JobSpec { Template = new V1PodTemplateSpec { Spec = PodSpec("Never") } } }, Ns);
        job.Status = new V1JobStatus { Succeeded = 3 };
        var jobStatus = await h.Client.BatchV1.ReplaceNamespacedJobStatusAsync(job, "j", Ns);
        Assert.Equal(3, jobStatus.Status.Succeeded);
    }

    [Fact]
    public async Task Watch_delivers_events_and_bookmarks_and_a_compacted_resource_version_is_410()
    {
        await using var h = await KubernetesClientHarness.StartAsync(o => o.BookmarkInterval = TimeSpan.FromMilliseconds(200));
        var list = await h.Client.CoreV1.ListNamespacedConfigMapAsync(Ns);
        using var cts = new CancellationTokenSource(KubernetesClientHarness.Guard);
        var events = new List<(WatchEventType Type, string? Name, string Rv)>();
        var watch = Task.Run(async () =>
        {
            await foreach (var (type, cm) in h.Client.CoreV1.WatchListNamespacedConfigMapAsync(Ns, allowWatchBookmarks: true, resourceVersion: list.Metadata.ResourceVersion, timeoutSeconds: 20, cancellationToken: cts.Token))
            {
                events.Add((type, cm.Metadata.Name, cm.Metadata.ResourceVersion));
                if (type == WatchEventType.Bookmark && events.Any(e => e.Type == WatchEventType.Deleted))
                {
                    break;
                }
            }
        });
        await h.Server.Faults.WaitForOpenWatchesAsync("", "configmaps").WaitAsync(KubernetesClientHarness.Guard);
        var created = await h.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "w" } }, Ns);
        await h.Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"data":{"k":"v"}}""", V1Patch.PatchType.MergePatch), "w", Ns);
        await h.Client.CoreV1.DeleteNamespacedConfigMapAsync("w", Ns);
        await watch.WaitAsync(KubernetesClientHarness.Guard);

        Assert.Equal([WatchEventType.Added, WatchEventType.Modified, WatchEventType.Deleted], events.Where(e => e.Type != WatchEventType.Bookmark).Select(e => e.Type));
        Assert.Equal(created.Metadata.ResourceVersion, events.First(e => e.Type == WatchEventType.Added).Rv);
        var bookmark = events[^1];
        Assert.Equal(WatchEventType.Bookmark, bookmark.Type);
        Assert.True(long.Parse(bookmark.Rv, System.Globalization.CultureInfo.InvariantCulture) >= long.Parse(events.First(e => e.Type == WatchEventType.Deleted).Rv, System.Globalization.CultureInfo.InvariantCulture));

        // After compaction an old resource version is gone: KubernetesClient reports the in-band 410 Status to onError.
        h.Server.Faults.CompactHistory();
        Exception? error = null;
        using var cts2 = new CancellationTokenSource(KubernetesClientHarness.Guard);
        try
        {
            await foreach (var _ in h.Client.CoreV1.WatchListNamespacedConfigMapAsync(Ns, resourceVersion: list.Metadata.ResourceVersion, onError: e => { error = e; cts2.Cancel(); }, cancellationToken: cts2.Token))
            {
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (HttpRequestException)
        {
            // The server closes the stream after the ERROR event.
        }

        var expired = Assert.IsType<KubernetesException>(error);
        Assert.Equal(410, expired.Status.Code);
        Assert.Equal("Expired", expired.Status.Reason);

        // A LIST with a continue token whose resource version was compacted is 410 Gone as well.
        await h.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "p1" } }, Ns);
        await h.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "p2" } }, Ns);
        var page = await h.Client.CoreV1.ListNamespacedConfigMapAsync(Ns, limit: 1);
        await h.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "p3" } }, Ns);
        h.Server.Faults.CompactHistory();
        var gone = await Assert.ThrowsAsync<HttpOperationException>(() => h.Client.CoreV1.ListNamespacedConfigMapAsync(Ns, limit: 1, continueParameter: page.Metadata.ContinueProperty));
        Assert.Equal(HttpStatusCode.Gone, gone.Response.StatusCode);
    }

    [Fact]
    public async Task Delete_honours_preconditions_and_propagation_policy()
    {
        await using var h = await KubernetesClientHarness.StartAsync();
        var cm = await h.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "x" } }, Ns);
        var wrongUid = await Assert.ThrowsAsync<HttpOperationException>(() =>
            h.Client.CoreV1.DeleteNamespacedConfigMapAsync("x", Ns, new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = "not-the-uid" } }));
        Assert.Equal(HttpStatusCode.Conflict, wrongUid.Response.StatusCode);
        var wrongRv = await Assert.ThrowsAsync<HttpOperationException>(() =>
            h.Client.CoreV1.DeleteNamespacedConfigMapAsync("x", Ns, new V1DeleteOptions { Preconditions = new V1Preconditions { ResourceVersion = "1" } }));
        Assert.Equal(HttpStatusCode.Conflict, wrongRv.Response.StatusCode);
        var status = await h.Client.CoreV1.DeleteNamespacedConfigMapAsync("x", Ns, new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = cm.Metadata.Uid, ResourceVersion = cm.Metadata.ResourceVersion } });
        Assert.Equal("Success", status.Status);
        var missing = await Assert.ThrowsAsync<HttpOperationException>(() => h.Client.CoreV1.ReadNamespacedConfigMapAsync("x", Ns));
        Assert.Equal(HttpStatusCode.NotFound, missing.Response.StatusCode);

        // Foreground propagation keeps the owner, with the foregroundDeletion finalizer, until its dependents are gone
        // (here a dependent held by a finalizer of its own).
        var rs = await h.Client.AppsV1.CreateNamespacedReplicaSetAsync(ReplicaSet("owner"), Ns);
        await h.Client.CoreV1.CreateNamespacedPodAsync(new V1Pod
        {
            Metadata = new V1ObjectMeta
            {
                Name = "dependent",
                Finalizers = ["example.com/hold"],
                OwnerReferences = [new V1OwnerReference { ApiVersion = "apps/v1", Kind = "ReplicaSet", Name = "owner", Uid = rs.Metadata.Uid, Controller = true, BlockOwnerDeletion = true }],
            },
            Spec = PodSpec(),
        }, Ns);
        await h.Client.AppsV1.DeleteNamespacedReplicaSetAsync("owner", Ns, new V1DeleteOptions { PropagationPolicy = "Foreground" });
        var terminating = await h.Client.AppsV1.ReadNamespacedReplicaSetAsync("owner", Ns);
        Assert.NotNull(terminating.Metadata.DeletionTimestamp);
        Assert.Contains("foregroundDeletion", terminating.Metadata.Finalizers);
        Assert.NotNull((await h.Client.CoreV1.ReadNamespacedPodAsync("dependent", Ns)).Metadata.DeletionTimestamp);
        await h.Client.CoreV1.PatchNamespacedPodAsync(new V1Patch("""{"metadata":{"finalizers":null}}""", V1Patch.PatchType.MergePatch), "dependent", Ns);
        var ownerGone = await Assert.ThrowsAsync<HttpOperationException>(() => h.Client.AppsV1.ReadNamespacedReplicaSetAsync("owner", Ns));
        Assert.Equal(HttpStatusCode.NotFound, ownerGone.Response.StatusCode);

        // Orphan propagation deletes the owner and leaves the dependent without its owner reference.
        var rs2 = await h.Client.AppsV1.CreateNamespacedReplicaSetAsync(ReplicaSet("owner2"), Ns);
        await h.Client.CoreV1.CreateNamespacedPodAsync(new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "orphan", OwnerReferences = [new V1OwnerReference { ApiVersion = "apps/v1", Kind = "ReplicaSet", Name = "owner2", Uid = rs2.Metadata.Uid, Controller = true }] },
            Spec = PodSpec(),
        }, Ns);
        await h.Client.AppsV1.DeleteNamespacedReplicaSetAsync("owner2", Ns, propagationPolicy: "Orphan");
        var orphan = await h.Client.CoreV1.ReadNamespacedPodAsync("orphan", Ns);
        Assert.True(orphan.Metadata.OwnerReferences is null or { Count: 0 });
        await Assert.ThrowsAsync<HttpOperationException>(() => h.Client.AppsV1.ReadNamespacedReplicaSetAsync("owner2", Ns));
    }

    [Fact]
    public async Task A_dry_run_is_refused_with_400_however_it_is_sent_and_never_mutates()
    {
        await using var h = await KubernetesClientHarness.StartAsync();
        await h.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "keep" } }, Ns);
        var rv = h.Server.CurrentResourceVersion;

        // In the DeleteOptions body, as KubernetesClient, kubectl and client-go send it for deletes.
        var inBody = await Assert.ThrowsAsync<HttpOperationException>(() => h.Client.CoreV1.DeleteNamespacedConfigMapAsync("keep", Ns, new V1DeleteOptions { DryRun = ["All"] }));
        Assert.Equal(HttpStatusCode.BadRequest, inBody.Response.StatusCode);

        // As a query parameter, for every verb that takes it.
        var inQuery = await Assert.ThrowsAsync<HttpOperationException>(() => h.Client.CoreV1.DeleteNamespacedConfigMapAsync("keep", Ns, dryRun: "All"));
        Assert.Equal(HttpStatusCode.BadRequest, inQuery.Response.StatusCode);
        await Assert.ThrowsAsync<HttpOperationException>(() => h.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "new" } }, Ns, dryRun: "All"));
        await Assert.ThrowsAsync<HttpOperationException>(() => h.Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"data":{"a":"b"}}""", V1Patch.PatchType.MergePatch), "keep", Ns, dryRun: "All"));

        Assert.NotNull(await h.Client.CoreV1.ReadNamespacedConfigMapAsync("keep", Ns));
        Assert.Equal(rv, h.Server.CurrentResourceVersion);
    }

    [Fact]
    public async Task Conflicts_and_already_exists_are_409_with_a_Status()
    {
        await using var h = await KubernetesClientHarness.StartAsync();
        var cm = await h.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c" } }, Ns);
        var exists = await Assert.ThrowsAsync<HttpOperationException>(() => h.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c" } }, Ns));
        Assert.Equal(HttpStatusCode.Conflict, exists.Response.StatusCode);
        Assert.Contains("\"reason\":\"AlreadyExists\"", exists.Response.Content, StringComparison.Ordinal);
        await h.Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"data":{"a":"b"}}""", V1Patch.PatchType.MergePatch), "c", Ns);
        cm.Data = new Dictionary<string, string> { ["stale"] = "write" };
        var conflict = await Assert.ThrowsAsync<HttpOperationException>(() => h.Client.CoreV1.ReplaceNamespacedConfigMapAsync(cm, "c", Ns));
        Assert.Equal(HttpStatusCode.Conflict, conflict.Response.StatusCode);
        Assert.Contains("\"reason\":\"Conflict\"", conflict.Response.Content, StringComparison.Ordinal);
    }

    private static async Task CrudAsync<T>(KindOps<T> ops)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var created = await ops.Create(ops.New()).WaitAsync(KubernetesClientHarness.Guard);
        var name = created.Metadata.Name;
        Assert.StartsWith("conformance-", name, StringComparison.Ordinal);
        Assert.True(name.Length > "conformance-".Length, "generateName added no suffix");
        Assert.False(string.IsNullOrEmpty(created.Metadata.Uid));
        Assert.NotNull(created.Metadata.CreationTimestamp);

        var read = await ops.Read(name);
        Assert.Equal(created.Metadata.ResourceVersion, read.Metadata.ResourceVersion);
        Assert.Contains(await ops.List(), o => o.Metadata.Name == name);

        read.Metadata.Labels["replaced"] = "yes";
        var replaced = await ops.Replace(read);
        Assert.Equal("yes", replaced.Metadata.Labels["replaced"]);
        Assert.NotEqual(read.Metadata.ResourceVersion, replaced.Metadata.ResourceVersion);

        var merged = await ops.Patch(new V1Patch("""{"metadata":{"labels":{"merge":"1"}}}""", V1Patch.PatchType.MergePatch), name, null);
        Assert.Equal("1", merged.Metadata.Labels["merge"]);
        var strategic = await ops.Patch(new V1Patch("""{"metadata":{"labels":{"strategic":"2"}}}""", V1Patch.PatchType.StrategicMergePatch), name, null);
        Assert.Equal("2", strategic.Metadata.Labels["strategic"]);
        var json = await ops.Patch(new V1Patch("""[{"op":"add","path":"/metadata/labels/json","value":"3"},{"op":"remove","path":"/metadata/labels/merge"}]""", V1Patch.PatchType.JsonPatch), name, null);
        Assert.Equal("3", json.Metadata.Labels["json"]);
        Assert.False(json.Metadata.Labels.ContainsKey("merge"));
        var kind = typeof(T).GetCustomAttributes(typeof(KubernetesEntityAttribute), false).Cast<KubernetesEntityAttribute>().Single();
        var apiVersion = kind.Group.Length == 0 ? kind.ApiVersion : kind.Group + "/" + kind.ApiVersion;
        var applied = await ops.Patch(new V1Patch(System.Text.Json.JsonSerializer.Serialize(new { apiVersion, kind = kind.Kind, metadata = new { name, annotations = new { applied = "4" } } }), V1Patch.PatchType.ApplyPatch), name, "conformance");
        Assert.Equal("4", applied.Metadata.Annotations["applied"]);
        Assert.Equal("3", applied.Metadata.Labels["json"]);
        Assert.Contains(applied.Metadata.ManagedFields, f => f.Manager == "conformance" && f.Operation == "Apply");

        await ops.Delete(name);
        var gone = await Assert.ThrowsAsync<HttpOperationException>(() => ops.Read(name));
        Assert.Equal(HttpStatusCode.NotFound, gone.Response.StatusCode);
    }

    private static V1ObjectMeta Meta() => new() { GenerateName = "conformance-", Labels = Labels() };

    private static Dictionary<string, string> Labels() => new() { ["app"] = "conformance" };

    private static V1PodSpec PodSpec(string restartPolicy = "Always") => new() { RestartPolicy = restartPolicy, Containers = [new V1Container { Name = "c", Image = "busybox:1.36" }] };

    private static V1ReplicaSet ReplicaSet(string? name = null) => new()
    {
        Metadata = name is null ? Meta() : new V1ObjectMeta { Name = name, Labels = Labels() },
        Spec = new V1ReplicaSetSpec
        {
            Replicas = 2,
            Selector = new V1LabelSelector { MatchLabels = Labels() },
            Template = new V1PodTemplateSpec { Metadata = new V1ObjectMeta { Labels = Labels() }, Spec = PodSpec() },
        },
    };

    private sealed record KindOps<T>(
        Func<T> New,
        Func<T, Task<T>> Create,
        Func<string, Task<T>> Read,
        Func<Task<IList<T>>> List,
        Func<T, Task<T>> Replace,
        Func<V1Patch, string, string?, Task<T>> Patch,
        Func<string, Task> Delete);
}
