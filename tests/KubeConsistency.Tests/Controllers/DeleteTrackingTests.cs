using System.Text.Json.Nodes;
using KubeConsistency.Cache;
using KubeConsistency.Client;
using KubeConsistency.Consistency;
using KubeConsistency.Controllers;
using KubeConsistency.Http;
using KubeConsistency.Testing;
using KubeConsistency.Testing.ApiServer;
using KubeConsistency.Tests.Controllers.WorkQueue;
using Microsoft.Extensions.Logging;

namespace KubeConsistency.Tests.Controllers;

/// <summary>
/// Delete tracking in the staleness gate (beyond v1.36): the resource version a delete returns is recorded
/// (docs/upstream-after-1.36.md §1.5); without one, the delete is observed by UID — gone, another UID, or a
/// deletionTimestamp (§2.3). Off by default, as upstream v1.36.
/// </summary>
public sealed class DeleteTrackingTests : IDisposable
{
    private const string Instrument = "replicaset_controller.stale_sync_skips";
    private const string OwnerUid = "rs-uid";
    private static readonly NamespacedName Owner = new("ns", "web");

    private readonly IIndexer<CtlPod> _pods = Store.Create(new StoreOptions<CtlPod>());
    private readonly TestMeterFactory _meters = new();
    private readonly MetricCollector _metrics;
    private readonly FakeLogger _logger = new();

    public DeleteTrackingTests() => _metrics = new MetricCollector(_meters);

    public void Dispose()
    {
        _metrics.Dispose();
        _meters.Dispose();
    }

    [Fact]
    public void By_default_deletes_are_not_tracked_as_in_v1_36()
    {
        var gate = Gate(trackDeletes: false);
        var pod = Cached("web-a", "uid-a", "10");

        Assert.False(gate.TracksDeletes);
        Assert.False(gate.RecordDelete(Owner, OwnerUid, GroupResource.Pods, pod, new DeleteResult<CtlPod>(null, "20"), _pods));
        Assert.False(gate.ExpectDeletion(Owner, OwnerUid, GroupResource.Pods, pod, _pods));
        Assert.Null(gate.EnsureReady(Owner));
    }

    [Fact]
    public void The_noop_store_tracks_nothing_even_when_asked()
    {
        var gate = StalenessGate.Create(new StalenessGateOptions { ControllerName = "replicaset_controller", ConsistencyStore = ConsistencyStore.Noop, TrackDeletes = true });
        var pod = Cached("web-a", "uid-a", "10");

        Assert.False(gate.TracksDeletes);
        Assert.False(gate.ExpectDeletion(Owner, OwnerUid, GroupResource.Pods, pod, _pods));
        Assert.Null(gate.EnsureReady(Owner));
    }

    [Fact]
    public void Upstream_after_1_36_section1_5_the_returned_objects_resource_version_is_recorded()
    {
        var gate = Gate();
        var pod = Cached("web-a", "uid-a", "10");
        var returned = CtlPodAt("web-a", "uid-a", "12");

        Assert.True(gate.RecordDelete(Owner, OwnerUid, GroupResource.Pods, pod, new DeleteResult<CtlPod>(returned), _pods));

        var stale = gate.EnsureReady(Owner);
        Assert.Equal((ConsistencyErrorReason.CacheBehind, "10", "12"), (stale!.Reason, stale.ReadResourceVersion, stale.WroteResourceVersion));
        _pods.Delete(pod);
        _pods.Bookmark("12");
        Assert.Null(gate.EnsureReady(Owner));
    }

    [Fact]
    public void Upstream_after_1_36_section1_5_a_v1_38_status_resource_version_is_recorded()
    {
        var gate = Gate();
        var pod = Cached("web-a", "uid-a", "10");

        Assert.True(gate.RecordDelete(Owner, OwnerUid, GroupResource.Pods, pod, new DeleteResult<CtlPod>(null, "15", "uid-a"), _pods));

        Assert.Equal("15", gate.EnsureReady(Owner)?.WroteResourceVersion);
        _pods.Bookmark("15");
        Assert.Null(gate.EnsureReady(Owner));
    }

    [Fact]
    public void Upstream_after_1_36_section2_3_without_a_resource_version_the_delete_waits_until_the_object_is_gone()
    {
        var gate = Gate();
        var pod = Cached("web-a", "uid-a", "10");

        Assert.True(gate.RecordDelete(Owner, OwnerUid, GroupResource.Pods, pod, new DeleteResult<CtlPod>(null), _pods));

        var stale = gate.EnsureReady(Owner);
        Assert.NotNull(stale);
        Assert.Equal(ConsistencyErrorReason.DeleteNotObserved, stale.Reason);
        Assert.Equal(("ns/web-a", "uid-a", "10", GroupResource.Pods), (stale.DeletedObjectKey, stale.DeletedObjectUid, stale.ReadResourceVersion, stale.GroupResource));
        Assert.Contains("has not observed the deletion of ns/web-a (uid uid-a)", stale.Message, StringComparison.Ordinal);
        var skip = Assert.Single(_metrics.Of(Instrument));
        Assert.Equal(("", "pods"), ((string)skip.Tags["group"]!, (string)skip.Tags["resource"]!));
        Assert.Contains(_logger.Collector.GetSnapshot(), e => e.Id.Id == 5106 && e.Message.Contains("delete of ns/web-a", StringComparison.Ordinal));

        _pods.Delete(pod);
        Assert.Null(gate.EnsureReady(Owner));

        // Observed deletes are forgotten: the pod coming back under its UID (a relist of an old view) does not block again.
        _pods.Add(pod);
        Assert.Null(gate.EnsureReady(Owner));
    }

    [Fact]
    public void Upstream_after_1_36_section2_3_another_uid_under_the_key_counts_as_observed()
    {
        var gate = Gate();
        var pod = Cached("web-a", "uid-a", "10");
        Assert.True(gate.ExpectDeletion(Owner, OwnerUid, GroupResource.Pods, pod, _pods));
        Assert.NotNull(gate.EnsureReady(Owner));

        _pods.Update(CtlPodAt("web-a", "uid-b", "11"));

        Assert.Null(gate.EnsureReady(Owner));
    }

    [Fact]
    public void Upstream_after_1_36_section2_3_a_deletion_timestamp_counts_as_observed()
    {
        var gate = Gate();
        var pod = Cached("web-a", "uid-a", "10");
        Assert.True(gate.ExpectDeletion(Owner, OwnerUid, GroupResource.Pods, pod, _pods));
        Assert.NotNull(gate.EnsureReady(Owner));

        var terminating = CtlPodAt("web-a", "uid-a", "11");
        terminating.Metadata!.DeletionTimestamp = new DateTime(2026, 12, 4, 0, 0, 0, DateTimeKind.Utc);
        _pods.Update(terminating);

        Assert.Null(gate.EnsureReady(Owner));
    }

    [Fact]
    public void Recorded_versions_are_checked_before_pending_deletes_and_both_must_be_observed()
    {
        var gate = Gate();
        var a = Cached("web-a", "uid-a", "10");
        gate.WroteAt(Owner, OwnerUid, GroupResource.Pods, "11");
        Assert.True(gate.ExpectDeletion(Owner, OwnerUid, GroupResource.Pods, a, _pods));

        Assert.Equal(ConsistencyErrorReason.CacheBehind, gate.EnsureReady(Owner)?.Reason);
        _pods.Bookmark("11");
        Assert.Equal(ConsistencyErrorReason.DeleteNotObserved, gate.EnsureReady(Owner)?.Reason);
        _pods.Delete(a);
        Assert.Null(gate.EnsureReady(Owner));
        Assert.Equal(2, _metrics.Of(Instrument).Sum(m => m.Value));
    }

    [Fact]
    public void Clear_forgets_pending_deletes_of_that_owner_uid_only_and_a_recreated_owner_starts_over()
    {
        var gate = Gate();
        var a = Cached("web-a", "uid-a", "10");
        var b = Cached("web-b", "uid-b", "11");
        var other = new NamespacedName("ns", "other");
        gate.ExpectDeletion(Owner, OwnerUid, GroupResource.Pods, a, _pods);
        gate.ExpectDeletion(other, "other-uid", GroupResource.Pods, a, _pods);

        gate.Clear(Owner, "some-older-uid");
        Assert.NotNull(gate.EnsureReady(Owner));
        gate.Clear(Owner, OwnerUid);
        Assert.Null(gate.EnsureReady(Owner));
        Assert.NotNull(gate.EnsureReady(other));

        // The owner recreated under the same name: its first tracked delete replaces the old owner's set.
        gate.ExpectDeletion(other, "other-uid-2", GroupResource.Pods, b, _pods);
        Assert.Equal("ns/web-b", gate.EnsureReady(other)?.DeletedObjectKey);
        gate.OwnerNotFound(other);
        Assert.Null(gate.EnsureReady(other));
    }

    [Fact]
    public void A_delete_without_a_resource_version_or_a_cache_is_logged_as_untracked()
    {
        var gate = Gate();
        var pod = Cached("web-a", "uid-a", "10");

        Assert.False(gate.RecordDelete(Owner, OwnerUid, GroupResource.Pods, pod, new DeleteResult<CtlPod>(null)));

        Assert.Null(gate.EnsureReady(Owner));
        var warning = Assert.Single(_logger.Collector.GetSnapshot(), e => e.Id.Id == 5105);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("ns/web-a", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Pending_deletes_of_many_owners_are_independent_and_all_forgotten_once_observed()
    {
        var gate = Gate();
        var pods = Enumerable.Range(0, 50).Select(i => Cached("p" + i, "uid-" + i, (10 + i).ToString(System.Globalization.CultureInfo.InvariantCulture))).ToList();
        Parallel.For(0, pods.Count, i => gate.ExpectDeletion(new NamespacedName("ns", "o" + i), "u" + i, GroupResource.Pods, pods[i], _pods));

        Assert.All(Enumerable.Range(0, pods.Count), i => Assert.NotNull(gate.EnsureReady(new NamespacedName("ns", "o" + i))));
        foreach (var pod in pods.Where((_, i) => i % 2 == 0))
        {
            _pods.Delete(pod);
        }

        Assert.All(Enumerable.Range(0, pods.Count), i => Assert.Equal(i % 2 == 1, gate.EnsureReady(new NamespacedName("ns", "o" + i)) is not null));
    }

    private StalenessGate Gate(bool trackDeletes = true) => StalenessGate.Create(new StalenessGateOptions
    {
        ControllerName = "replicaset_controller",
        ConsistencyStore = ConsistencyStore.Create([new(GroupResource.Pods, _pods)]),
        MeterFactory = _meters,
        Logger = _logger,
        TrackDeletes = trackDeletes,
    });

    private CtlPod Cached(string name, string uid, string rv)
    {
        var pod = CtlPodAt(name, uid, rv);
        _pods.Add(pod);
        return pod;
    }

    private static CtlPod CtlPodAt(string name, string uid, string rv) => new() { Metadata = new CtlMeta { NamespaceProperty = "ns", Name = name, Uid = uid, ResourceVersion = rv } };
}

/// <summary>
/// Delete answers over real loopback HTTP against <see cref="EmbeddedApiServer"/>: the object (pods), a v1.36 <c>Status</c>
/// without a resource version, or a v1.38 <c>Status</c> with the deletion's (docs/upstream-after-1.36.md §1.5); and the
/// consistent writer and pod control recording each.
/// </summary>
public sealed class DeleteTrackingHttpTests
{
    private const string Ns = "default";
    private static readonly NamespacedName Owner = new(Ns, "web");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Upstream_after_1_36_section1_5_a_status_answer_carries_the_deletion_resource_version_from_v1_38(bool v138)
    {
        await using var server = await EmbeddedApiServer.StartAsync(new EmbeddedApiServerOptions { DeleteStatusResourceVersion = v138 });
        using var connection = KubernetesConnection.ForServer(server.BaseAddress);
        var configMaps = connection.Resource(new ResourceClientOptions<JsonObject> { Resource = new GroupVersionResource("", "v1", "configmaps"), Kind = "ConfigMap", Namespace = Ns });
        var created = await configMaps.CreateAsync(new JsonObject { ["metadata"] = new JsonObject { ["name"] = "cm" } });
        var uid = created["metadata"]!["uid"]!.GetValue<string>();
        var rv = long.Parse(created["metadata"]!["resourceVersion"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);

        var result = await configMaps.DeleteWithResultAsync(Ns, "cm");

        Assert.Null(result.Object);
        Assert.Equal(uid, result.StatusUid);
        if (v138)
        {
            // The deletion is a revision of its own, after the create's.
            Assert.True(long.Parse(result.StatusResourceVersion!, System.Globalization.CultureInfo.InvariantCulture) > rv);
        }
        else
        {
            Assert.Null(result.StatusResourceVersion);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_consistent_writer_records_a_v1_38_delete_by_resource_version_and_an_older_one_by_uid(bool v138)
    {
        await using var server = await EmbeddedApiServer.StartAsync(new EmbeddedApiServerOptions { DeleteStatusResourceVersion = v138 });
        using var connection = KubernetesConnection.ForServer(server.BaseAddress);
        var configMaps = connection.Resource(new ResourceClientOptions<CtlPod> { Resource = new GroupVersionResource("", "v1", "configmaps"), Kind = "ConfigMap", Namespace = Ns });
        var cache = Store.Create(new StoreOptions<CtlPod>());
        var resource = new GroupResource("", "configmaps");
        var gate = StalenessGate.Create(new StalenessGateOptions { ControllerName = "test_controller", ConsistencyStore = ConsistencyStore.Create([new(resource, cache)]), TrackDeletes = true });
        var created = await configMaps.CreateAsync(new CtlPod { ApiVersion = "v1", Kind = "ConfigMap", Metadata = new CtlMeta { Name = "cm" } });
        cache.Add(created);
        var writer = gate.Writer(configMaps, cache: cache);

        await writer.DeleteAsync(Owner, "owner-uid", created);

        var stale = gate.EnsureReady(Owner);
        Assert.NotNull(stale);
        Assert.Equal(v138 ? ConsistencyErrorReason.CacheBehind : ConsistencyErrorReason.DeleteNotObserved, stale.Reason);
        cache.Delete(created);
        if (v138)
        {
            Assert.NotNull(gate.EnsureReady(Owner));
            cache.Bookmark(stale.WroteResourceVersion);
        }

        Assert.Null(gate.EnsureReady(Owner));
    }

    [Fact]
    public async Task Pod_control_records_the_deleted_pods_resource_version_and_an_already_gone_pod_by_uid()
    {
        await using var server = await EmbeddedApiServer.StartAsync();
        using var connection = KubernetesConnection.ForServer(server.BaseAddress);
        var pods = connection.Resource(new ResourceClientOptions<CtlPod> { Resource = GroupVersionResource.Pods, Kind = "Pod", Namespace = Ns });
        var cache = Store.Create(new StoreOptions<CtlPod>());
        var gate = StalenessGate.Create(new StalenessGateOptions { ControllerName = "replicaset_controller", ConsistencyStore = ConsistencyStore.Create([new(GroupResource.Pods, cache)]), TrackDeletes = true });
        var control = PodControl.Create(new PodControlOptions<CtlPod> { Pods = pods, Gate = gate, PodCache = cache });
        var webRef = OwnerReference.NewControllerRef("apps/v1", "ReplicaSet", "web", "rs-uid");
        var a = await control.CreatePodAsync(Ns, webRef, new Dictionary<string, string> { ["app"] = "web" }, ControllerTest.PodFrom);
        var b = await control.CreatePodAsync(Ns, webRef, new Dictionary<string, string> { ["app"] = "web" }, ControllerTest.PodFrom);
        cache.Add(a);
        cache.Add(b);
        Assert.Null(gate.EnsureReady(Owner));

        // A pod without a node is removed at once; the answer is the pod at the deletion's resource version.
        Assert.True(await control.DeletePodAsync(Owner, "rs-uid", a));
        var stale = gate.EnsureReady(Owner);
        Assert.Equal(ConsistencyErrorReason.CacheBehind, stale?.Reason);
        Assert.True(long.Parse(stale!.WroteResourceVersion, System.Globalization.CultureInfo.InvariantCulture) > long.Parse(b.Metadata!.ResourceVersion!, System.Globalization.CultureInfo.InvariantCulture));
        cache.Delete(a);
        cache.Bookmark(stale.WroteResourceVersion);
        Assert.Null(gate.EnsureReady(Owner));

        // Someone else deleted b; the cache still holds it: NotFound, and the owner waits until the cache sees it gone.
        server.Objects.Delete(ApiResourceDefinition.Pods, Ns, b.Metadata.Name!);
        Assert.False(await control.DeletePodAsync(Owner, "rs-uid", b));
        Assert.Equal(ConsistencyErrorReason.DeleteNotObserved, gate.EnsureReady(Owner)?.Reason);
        cache.Delete(b);
        Assert.Null(gate.EnsureReady(Owner));
    }

    [Fact]
    public async Task Pod_control_deletes_with_a_uid_precondition_so_a_newer_pod_under_the_name_survives()
    {
        await using var server = await EmbeddedApiServer.StartAsync();
        using var connection = KubernetesConnection.ForServer(server.BaseAddress);
        var pods = connection.Resource(new ResourceClientOptions<CtlPod> { Resource = GroupVersionResource.Pods, Kind = "Pod", Namespace = Ns });
        var control = PodControl.Create(new PodControlOptions<CtlPod> { Pods = pods });
        var old = await pods.CreateAsync(new CtlPod { Metadata = new CtlMeta { Name = "web-0" }, Spec = new CtlPodSpec { Containers = [new CtlContainer { Name = "c", Image = "i" }] } });
        server.Objects.Delete(ApiResourceDefinition.Pods, Ns, "web-0");
        await pods.CreateAsync(new CtlPod { Metadata = new CtlMeta { Name = "web-0" }, Spec = new CtlPodSpec { Containers = [new CtlContainer { Name = "c", Image = "i" }] } });

        await Assert.ThrowsAsync<ConflictException>(async () => await control.DeletePodAsync(Owner, "rs-uid", old));

        Assert.NotNull(server.Objects.Get(ApiResourceDefinition.Pods, Ns, "web-0"));
    }
}
