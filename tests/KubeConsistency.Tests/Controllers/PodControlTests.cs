using System.Text;
using System.Text.Json.Nodes;
using KubeConsistency.Client;
using KubeConsistency.Consistency;
using KubeConsistency.Controllers;
using KubeConsistency.Http;
using KubeConsistency.Testing;
using KubeConsistency.Testing.ApiServer;
using KubeConsistency.Tests.Controllers.WorkQueue;

namespace KubeConsistency.Tests.Controllers;

/// <summary>
/// Pod control and the consistent writer over real loopback HTTP against <see cref="EmbeddedApiServer"/>: what reaches the
/// server, and that every successful write's returned resource version is recorded (§8.1 step 2).
/// </summary>
public sealed class PodControlTests : IAsyncLifetime
{
    private const string Ns = "default";
    private static readonly NamespacedName Owner = new(Ns, "web");
    private static readonly OwnerReference WebRef = OwnerReference.NewControllerRef("apps/v1", "ReplicaSet", "web", "rs-uid-1");
    private static readonly Dictionary<string, string> TemplateLabels = new() { ["app"] = "web", ["tier"] = "frontend" };

    private readonly FakeRvGetter _podsRv = new("1");
    private readonly FakeRvGetter _replicaSetsRv = new("1");
    private readonly TestMeterFactory _meters = new();
    private readonly FakeLogger _logger = new();
    private EmbeddedApiServer _server = null!;
    private KubernetesConnection _connection = null!;
    private IResourceClient<CtlPod> _pods = null!;
    private StalenessGate _gate = null!;

    public async Task InitializeAsync()
    {
        _server = await EmbeddedApiServer.StartAsync();
        _connection = KubernetesConnection.ForServer(_server.BaseAddress);
        _pods = _connection.Resource(new ResourceClientOptions<CtlPod> { Resource = GroupVersionResource.Pods, Kind = "Pod", Namespace = Ns });
        _gate = StalenessGate.Create(new StalenessGateOptions
        {
            ControllerName = "replicaset_controller",
            ConsistencyStore = ConsistencyStore.Create([new(GroupResource.Pods, _podsRv), new(GroupResource.ReplicaSets, _replicaSetsRv)]),
            MeterFactory = _meters,
            Logger = _logger,
        });
    }

    public async Task DisposeAsync()
    {
        _connection.Dispose();
        await _server.DisposeAsync();
        _meters.Dispose();
    }

    [Fact]
    public async Task Created_pod_carries_generate_name_labels_and_controller_ref_and_its_resource_version_is_recorded()
    {
        var expectations = ControllerExpectations.CreateUidTracking();
        expectations.ExpectCreations(Owner.ToKey(), 1);
        var control = PodControl.Create(new PodControlOptions<CtlPod> { Pods = _pods, Gate = _gate, Expectations = expectations, Logger = _logger });
        PodCreateRequest? seen = null;

        var created = await control.CreatePodAsync(Ns, WebRef, TemplateLabels, request =>
        {
            seen = request;
            return ControllerTest.PodFrom(request);
        });

        Assert.Equal(new PodCreateRequest(Ns, "web-", seen!.Labels, WebRef), seen);
        Assert.Equal(TemplateLabels, seen.Labels);
        Assert.NotSame(TemplateLabels, seen.Labels);
        Assert.StartsWith("web-", created.Metadata!.Name, StringComparison.Ordinal);

        // What the server stored, read without our client.
        var stored = _server.Objects.Get(ApiResourceDefinition.Pods, Ns, created.Metadata.Name!)!;
        Assert.Equal("web-", stored["metadata"]!["generateName"]!.GetValue<string>());
        Assert.Equal("web", stored["metadata"]!["labels"]!["app"]!.GetValue<string>());
        Assert.Equal("frontend", stored["metadata"]!["labels"]!["tier"]!.GetValue<string>());
        var reference = Assert.Single(stored["metadata"]!["ownerReferences"]!.AsArray())!.AsObject();
        Assert.Equal(
            ("apps/v1", "ReplicaSet", "web", "rs-uid-1", true, true),
            (reference["apiVersion"]!.GetValue<string>(), reference["kind"]!.GetValue<string>(), reference["name"]!.GetValue<string>(),
             reference["uid"]!.GetValue<string>(), reference["controller"]!.GetValue<bool>(), reference["blockOwnerDeletion"]!.GetValue<bool>()));

        // The model accessor reads the controller ref back from the returned typed pod.
        Assert.Equal(WebRef, ObjectMetadataAccessor<CtlPod>.Default.GetControllerOf(created));

        // WroteAt recorded the returned RV under {"", pods}, keyed by the owner: the cache at "1" is stale for it.
        var rv = created.Metadata.ResourceVersion!;
        Assert.Equal(stored["metadata"]!["resourceVersion"]!.GetValue<string>(), rv);
        var stale = _gate.EnsureReady(Owner);
        Assert.Equal((GroupResource.Pods, rv), (stale?.GroupResource ?? default, stale?.WroteResourceVersion));
        _podsRv.LastStoreSyncResourceVersion = rv;
        Assert.Null(_gate.EnsureReady(Owner));

        // A successful create leaves the expectation for the informer to observe.
        Assert.True(expectations.TryGetExpectations(Owner.ToKey(), out var add, out _));
        Assert.Equal(1, add);
    }

    [Fact]
    public async Task A_failed_create_lowers_expectations_and_records_nothing()
    {
        var expectations = ControllerExpectations.Create();
        expectations.ExpectCreations(Owner.ToKey(), 3);
        var control = PodControl.Create(new PodControlOptions<CtlPod> { Pods = _pods, Gate = _gate, Expectations = expectations });

        // The server rejects an invalid label value (422).
        await Assert.ThrowsAsync<KubernetesApiException>(async () =>
            await control.CreatePodAsync(Ns, WebRef, new Dictionary<string, string> { ["app"] = "not a valid value!" }, ControllerTest.PodFrom));

        // Upstream refuses pods without labels and invalid controller refs before sending anything.
        await Assert.ThrowsAsync<ArgumentException>(async () => await control.CreatePodAsync(Ns, WebRef, new Dictionary<string, string>(), ControllerTest.PodFrom));
        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await control.CreatePodAsync(Ns, WebRef with { BlockOwnerDeletion = null }, TemplateLabels, ControllerTest.PodFrom));

        Assert.True(expectations.TryGetExpectations(Owner.ToKey(), out var add, out _));
        Assert.Equal(0, add);
        Assert.True(expectations.SatisfiedExpectations(Owner.ToKey()));
        Assert.Null(_gate.EnsureReady(Owner));
        Assert.Empty(_server.Objects.List(ApiResourceDefinition.Pods, Ns).Items);
    }

    [Fact]
    public async Task A_pod_built_for_another_namespace_is_refused()
    {
        var control = PodControl.Create(new PodControlOptions<CtlPod> { Pods = _pods, Gate = _gate });

        var ex = await Assert.ThrowsAsync<ArgumentException>(async () => await control.CreatePodAsync(Ns, WebRef, TemplateLabels, request =>
        {
            var pod = ControllerTest.PodFrom(request);
            pod.Metadata!.NamespaceProperty = "kube-system";
            return pod;
        }));
        Assert.Contains("kube-system", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_server.Objects.List(ApiResourceDefinition.Pods, "kube-system").Items);
    }

    [Fact]
    public async Task Deletes_are_not_recorded_and_already_gone_pods_lower_uid_expectations()
    {
        var expectations = ControllerExpectations.CreateUidTracking();
        var control = PodControl.Create(new PodControlOptions<CtlPod> { Pods = _pods, Gate = _gate, Expectations = expectations });
        var pod = await control.CreatePodAsync(Ns, WebRef, TemplateLabels, ControllerTest.PodFrom);
        _podsRv.LastStoreSyncResourceVersion = pod.Metadata!.ResourceVersion!;
        Assert.Null(_gate.EnsureReady(Owner));
        var podKey = Ns + "/" + pod.Metadata.Name;
        expectations.ExpectDeletions(Owner.ToKey(), [podKey, Ns + "/gone"]);

        Assert.True(await control.DeletePodAsync(Owner, pod.Metadata.Name!));
        Assert.False(await control.DeletePodAsync(Owner, "gone"));

        // The successful delete waits for the informer; the NotFound one was counted at once.
        Assert.Equal(new HashSet<string> { podKey }, expectations.GetUids(Owner.ToKey()));
        Assert.True(expectations.TryGetExpectations(Owner.ToKey(), out _, out var del));
        Assert.Equal(1, del);

        // No WroteAt for deletes (§8.1 step 2): the owner is not gated although the cache never saw the delete.
        Assert.Null(_gate.EnsureReady(Owner));
        Assert.Null(_server.Objects.Get(ApiResourceDefinition.Pods, Ns, pod.Metadata.Name!));
    }

    [Fact]
    public async Task Writer_records_create_update_status_and_patch_but_not_failures_or_deletes()
    {
        var replicaSets = _connection.Resource(new ResourceClientOptions<JsonObject> { Resource = GroupVersionResource.ReplicaSets, Kind = "ReplicaSet", Namespace = Ns });
        var writer = _gate.Writer(replicaSets);
        Assert.Equal(GroupResource.ReplicaSets, writer.Resource);
        var owner = new NamespacedName(Ns, "web");

        var created = await writer.CreateAsync(owner, "rs-uid", ReplicaSetJson("web"));
        Assert.Equal(Rv(created), _gate.EnsureReady(owner)?.WroteResourceVersion);
        _replicaSetsRv.LastStoreSyncResourceVersion = Rv(created);
        Assert.Null(_gate.EnsureReady(owner));

        // Status update: the owner's own status write (§8.1 step 2).
        var withStatus = created.DeepClone().AsObject();
        withStatus["status"] = new JsonObject { ["replicas"] = 1 };
        var updated = await writer.UpdateStatusAsync(owner, "rs-uid", withStatus);
        Assert.NotEqual(Rv(created), Rv(updated));
        var stale = _gate.EnsureReady(owner);
        Assert.Equal((GroupResource.ReplicaSets, Rv(updated)), (stale?.GroupResource ?? default, stale?.WroteResourceVersion));

        // A failed update (conflict on the old RV) records nothing: the recorded write stays the status update's.
        var conflicting = created.DeepClone().AsObject();
        conflicting["metadata"]!["labels"] = new JsonObject { ["x"] = "y" };
        await Assert.ThrowsAsync<ConflictException>(async () => await writer.UpdateAsync(owner, "rs-uid", conflicting));
        Assert.Equal(Rv(updated), _gate.EnsureReady(owner)?.WroteResourceVersion);

        var patched = await writer.PatchAsync(owner, "rs-uid", Ns, "web", Encoding.UTF8.GetBytes("""{"metadata":{"labels":{"patched":"yes"}}}"""));
        Assert.Equal(Rv(patched), _gate.EnsureReady(owner)?.WroteResourceVersion);

        var current = await replicaSets.GetAsync(Ns, "web");
        current["metadata"]!["labels"]!["updated"] = "yes";
        var put = await writer.UpdateAsync(owner, "rs-uid", current);
        Assert.Equal(Rv(put), _gate.EnsureReady(owner)?.WroteResourceVersion);

        _replicaSetsRv.LastStoreSyncResourceVersion = Rv(put);
        Assert.Null(_gate.EnsureReady(owner));
        await writer.DeleteAsync(Ns, "web");
        Assert.Null(_gate.EnsureReady(owner));
    }

    private static JsonObject ReplicaSetJson(string name) => new()
    {
        ["apiVersion"] = "apps/v1",
        ["kind"] = "ReplicaSet",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = Ns },
        ["spec"] = new JsonObject
        {
            ["replicas"] = 1,
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = name } },
            ["template"] = new JsonObject
            {
                ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app"] = name } },
                ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "app", ["image"] = "nginx" }) },
            },
        },
    };

    private static string Rv(JsonObject obj) => obj["metadata"]!["resourceVersion"]!.GetValue<string>();
}
