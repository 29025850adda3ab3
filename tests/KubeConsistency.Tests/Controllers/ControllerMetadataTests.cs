using System.Text.Json;
using System.Text.Json.Nodes;
using KubeConsistency.Controllers;
using KubeConsistency.Testing;
using KubeConsistency.Tests.Controllers.WorkQueue;

namespace KubeConsistency.Tests.Controllers;

/// <summary>The controller members of <see cref="ObjectMetadataAccessor{T}"/>, owner references and the enqueue handlers.</summary>
public sealed class ControllerMetadataTests
{
    private const string PodJson = """
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-x1","namespace":"ns","uid":"pod-uid","resourceVersion":"7","generation":3,
         "deletionTimestamp":"2026-03-01T10:00:00Z","labels":{"app":"web","tier":"frontend"},
         "ownerReferences":[{"apiVersion":"v1","kind":"Node","name":"n1","uid":"node-uid"},
                            {"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web","uid":"rs-uid","controller":true,"blockOwnerDeletion":true}]}}
        """;

    private static readonly OwnerReference RsRef = new("apps/v1", "ReplicaSet", "web", "rs-uid", true, true);

    [Fact]
    public void Model_shaped_objects_expose_labels_owner_references_deletion_timestamp_and_generation()
    {
        var pod = new CtlPod
        {
            Metadata = new CtlMeta
            {
                Name = "web-x1",
                NamespaceProperty = "ns",
                Generation = 3,
                DeletionTimestamp = new DateTime(2026, 3, 1, 10, 0, 0, DateTimeKind.Unspecified),
                Labels = new SortedDictionary<string, string> { ["app"] = "web" },
                OwnerReferences =
                [
                    new CtlOwnerReference { ApiVersion = "v1", Kind = "Node", Name = "n1", Uid = "node-uid" },
                    new CtlOwnerReference { ApiVersion = "apps/v1", Kind = "ReplicaSet", Name = "web", Uid = "rs-uid", Controller = true, BlockOwnerDeletion = true },
                ],
            },
        };
        var accessor = ObjectMetadataAccessor<CtlPod>.Default;

        Assert.Equal("web", accessor.GetLabels(pod)!["app"]);
        Assert.Equal(2, accessor.GetOwnerReferences(pod).Count);
        Assert.Equal(new OwnerReference("v1", "Node", "n1", "node-uid"), accessor.GetOwnerReferences(pod)[0]);
        Assert.Equal(RsRef, accessor.GetControllerOf(pod));
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero), accessor.GetDeletionTimestamp(pod));
        Assert.Equal(3, accessor.GetGeneration(pod));
        Assert.Equal(new NamespacedName("ns", "web-x1"), accessor.GetNamespacedName(pod));

        // Absent parts read as absent; no metadata at all too.
        var bare = new CtlPod { Metadata = new CtlMeta { Name = "p" } };
        Assert.Null(accessor.GetLabels(bare));
        Assert.Empty(accessor.GetOwnerReferences(bare));
        Assert.Null(accessor.GetControllerOf(bare));
        Assert.Null(accessor.GetDeletionTimestamp(bare));
        Assert.Null(accessor.GetGeneration(bare));
        Assert.Empty(accessor.GetOwnerReferences(new CtlPod()));
    }

    [Fact]
    public void Json_objects_expose_the_same_metadata()
    {
        var node = JsonNode.Parse(PodJson)!.AsObject();
        var element = JsonDocument.Parse(PodJson).RootElement;
        var nodeAccessor = ObjectMetadataAccessor<JsonObject>.Default;
        var elementAccessor = ObjectMetadataAccessor<JsonElement>.Default;
        var boxed = ObjectMetadataAccessor<object>.Default;
        var at = new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero);

        Assert.Equal(("frontend", RsRef, at, 3L), (nodeAccessor.GetLabels(node)!["tier"], nodeAccessor.GetControllerOf(node), nodeAccessor.GetDeletionTimestamp(node), nodeAccessor.GetGeneration(node)));
        Assert.Equal(("frontend", RsRef, at, 3L), (elementAccessor.GetLabels(element)!["tier"], elementAccessor.GetControllerOf(element), elementAccessor.GetDeletionTimestamp(element), elementAccessor.GetGeneration(element)));
        Assert.Equal(RsRef, boxed.GetControllerOf(node));
        Assert.Equal(RsRef, boxed.GetControllerOf(element));
        Assert.Equal("web", boxed.GetLabels(new CtlPod { Metadata = new CtlMeta { Labels = new Dictionary<string, string> { ["app"] = "web" } } })!["app"]);
        Assert.Null(nodeAccessor.GetLabels(new JsonObject()));
        Assert.Empty(elementAccessor.GetOwnerReferences(JsonDocument.Parse("{}").RootElement));
    }

    [Fact]
    public void Custom_accessors_default_the_controller_members_and_can_supply_them()
    {
        var minimal = ObjectMetadataAccessor.Create<string>(_ => "ns", s => s, _ => "uid", _ => "1");
        Assert.Null(minimal.GetLabels("x"));
        Assert.Empty(minimal.GetOwnerReferences("x"));
        Assert.Null(minimal.GetGeneration("x"));

        var full = ObjectMetadataAccessor.Create(new ObjectMetadataFunctions<string>
        {
            GetNamespace = _ => "ns",
            GetName = s => s,
            GetUid = s => s + "-uid",
            GetResourceVersion = _ => "1",
            GetLabels = _ => new Dictionary<string, string> { ["app"] = "web" },
            GetOwnerReferences = _ => [RsRef],
            GetGeneration = _ => 9,
            GetDeletionTimestamp = _ => DateTimeOffset.UnixEpoch,
        });
        Assert.Equal(RsRef, full.GetControllerOf("x"));
        Assert.Equal(9, full.GetGeneration("x"));
        Assert.Equal(DateTimeOffset.UnixEpoch, full.GetDeletionTimestamp("x"));

        // The controller reference an owner stamps on what it creates (Go: metav1.NewControllerRef).
        Assert.Equal(new OwnerReference("apps/v1", "ReplicaSet", "web", "web-uid", true, true), full.NewControllerRef("web", "apps/v1", "ReplicaSet"));
        Assert.Throws<ArgumentException>(() => minimal.NewControllerRef(string.Empty, "apps/v1", "ReplicaSet"));
    }

    [Fact]
    public void Owner_reference_helpers()
    {
        Assert.Equal("apps", RsRef.Group);
        Assert.Equal(string.Empty, new OwnerReference("v1", "Node", "n", "u").Group);
        Assert.Null(OwnerReference.GetControllerOf([new OwnerReference("v1", "Node", "n", "u", Controller: false)]));
        Assert.Equal(RsRef, OwnerReference.GetControllerOf([new OwnerReference("v1", "Node", "n", "u"), RsRef, RsRef with { Name = "second" }]));
        Assert.Throws<ArgumentException>(() => OwnerReference.NewControllerRef("apps/v1", "ReplicaSet", "web", string.Empty));
        Assert.Equal("web-", PodControl.GenerateNamePrefix("web"));
        Assert.Equal(new string('a', 253), PodControl.GenerateNamePrefix(new string('a', 253)));
    }

    [Fact]
    public void Owned_object_events_enqueue_their_controller_owner_of_the_right_kind()
    {
        using var queue = KubeConsistency.Controllers.WorkQueue.Create<string>();
        var handler = EnqueueHandlers.ForControllerOwner<JsonObject>(queue, "apps", "ReplicaSet");
        var pod = JsonNode.Parse(PodJson)!.AsObject();
        var moved = pod.DeepClone().AsObject();
        moved["metadata"]!["ownerReferences"]![1]!["name"] = "web-2";
        var orphan = pod.DeepClone().AsObject();
        orphan["metadata"]!["ownerReferences"] = new JsonArray();
        var jobOwned = pod.DeepClone().AsObject();
        jobOwned["metadata"]!["ownerReferences"]![1]!["apiVersion"] = "batch/v1";

        handler.OnAdd(pod, isInInitialList: true);
        handler.OnAdd(orphan, isInInitialList: false);
        handler.OnAdd(jobOwned, isInInitialList: false);
        Assert.Equal(["ns/web"], Drain(queue));

        // A changed controller wakes both the old and the new owner.
        handler.OnUpdate(pod, moved);
        Assert.Equal(["ns/web", "ns/web-2"], Drain(queue));

        handler.OnDelete(new DeletedFinalStateUnknown<JsonObject>("ns/web-x1", moved));
        handler.OnDelete(new DeletedFinalStateUnknown<JsonObject>("ns/web-x1", null));
        Assert.Equal(["ns/web-2"], Drain(queue));
    }

    [Fact]
    public void Owner_events_enqueue_their_own_key_and_deletes_clear_the_gate_by_uid()
    {
        using var queue = KubeConsistency.Controllers.WorkQueue.Create<string>();
        using var meters = new TestMeterFactory();
        var pods = new FakeRvGetter("1");
        var gate = StalenessGate.Create(new StalenessGateOptions
        {
            ControllerName = "replicaset_controller",
            ConsistencyStore = KubeConsistency.Consistency.ConsistencyStore.Create([new(GroupResource.Pods, pods)]),
            MeterFactory = meters,
        });
        var handler = EnqueueHandlers.ForObject<CtlReplicaSet>(queue, gate);
        var rs = ControllerTest.ReplicaSet("ns", "web", "uid-1");

        handler.OnAdd(rs, isInInitialList: false);
        handler.OnUpdate(rs, rs);
        Assert.Equal(["ns/web"], Drain(queue));

        gate.WroteAt(new NamespacedName("ns", "web"), "uid-1", GroupResource.Pods, "5");
        handler.OnDelete(new DeletedFinalStateUnknown<CtlReplicaSet>("ns/web", rs));
        Assert.Equal(["ns/web"], Drain(queue));
        Assert.Null(gate.EnsureReady(new NamespacedName("ns", "web")));

        // A tombstone without state still enqueues its key (the sync then finds the owner gone).
        handler.OnDelete(new DeletedFinalStateUnknown<CtlReplicaSet>("ns/gone", null));
        Assert.Equal(["ns/gone"], Drain(queue));
    }

    private static List<string> Drain(IWorkQueue<string> queue)
    {
        var keys = new List<string>();
        while (queue.TryGet(out var key))
        {
            keys.Add(key);
            queue.Done(key);
        }

        return keys;
    }
}
