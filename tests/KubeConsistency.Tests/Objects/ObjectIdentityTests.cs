using System.Text.Json;
using System.Text.Json.Nodes;

namespace KubeConsistency.Tests.Objects;

public sealed class ObjectIdentityTests
{
    [Fact]
    public void Keys_AreNamespaceSlashName_OrNameForClusterScoped()
    {
        Assert.Equal("ns/a", ObjectKeys.MetaNamespaceKey("ns", "a"));
        Assert.Equal("a", ObjectKeys.MetaNamespaceKey("", "a"));
        Assert.Equal("a", ObjectKeys.MetaNamespaceKey(null, "a"));
        Assert.Equal(("ns", "a"), ObjectKeys.SplitMetaNamespaceKey("ns/a"));
        Assert.Equal(("", "a"), ObjectKeys.SplitMetaNamespaceKey("a"));
        Assert.Throws<FormatException>(() => ObjectKeys.SplitMetaNamespaceKey("a/b/c"));
    }

    [Fact]
    public void NamespacedName_RoundTripsKeys_AndRendersLikeGo()
    {
        var n = NamespacedName.FromKey("ns/a");
        Assert.Equal(new NamespacedName("ns", "a"), n);
        Assert.Equal("ns/a", n.ToKey());
        Assert.Equal("ns/a", n.ToString());
        Assert.Equal("/cluster", new NamespacedName(null, "cluster").ToString()); // Go always prints the separator
        Assert.Equal("cluster", new NamespacedName(null, "cluster").ToKey());
        Assert.Equal(new NamespacedName(null, null), default);
        Assert.NotEqual(new NamespacedName("a", "b"), new NamespacedName("a", "c"));
    }

    [Fact]
    public void GroupResource_RendersResourceDotGroup()
    {
        Assert.Equal("pods", GroupResource.Pods.ToString());
        Assert.Equal("replicasets.apps", GroupResource.ReplicaSets.ToString());
        Assert.Equal(GroupResource.Jobs, GroupVersionResource.Jobs.GroupResource);
        Assert.Equal("apps/v1", GroupVersionResource.ReplicaSets.ApiVersion);
        Assert.Equal("v1", GroupVersionResource.Pods.ApiVersion);
        Assert.Equal("apps/v1, Resource=replicasets", GroupVersionResource.ReplicaSets.ToString());
        Assert.Equal(default(GroupResource), new GroupResource(null, null));
    }

    [Fact]
    public void DefaultAccessor_ReadsKubernetesModelShape()
    {
        var accessor = ObjectMetadataAccessor<TestPod>.Default;
        var pod = TestObjects.Pod("ns", "a", "7", uid: "u1");
        Assert.True(accessor.HasMetadata(pod));
        Assert.Equal("ns", accessor.GetNamespace(pod));
        Assert.Equal("a", accessor.GetName(pod));
        Assert.Equal("u1", accessor.GetUid(pod));
        Assert.Equal("7", accessor.GetResourceVersion(pod));

        var bare = TestObjects.NoMeta();
        Assert.False(accessor.HasMetadata(bare));
        Assert.Null(accessor.GetName(bare));
    }

    public sealed class NamespaceShaped
    {
        public NamespaceMeta? Metadata { get; set; }
    }

    public sealed class NamespaceMeta
    {
        public string? Name { get; set; }

        public string? Namespace { get; set; }
    }

    [Fact]
    public void DefaultAccessor_AcceptsNamespaceProperty_AndMissingFields()
    {
        var accessor = ObjectMetadataAccessor<NamespaceShaped>.Default;
        var obj = new NamespaceShaped { Metadata = new NamespaceMeta { Name = "n", Namespace = "ns" } };
        Assert.Equal("ns", accessor.GetNamespace(obj));
        Assert.Null(accessor.GetUid(obj)); // no Uid property at all
        Assert.Equal("ns/n", ObjectKeys.MetaNamespaceKeyFunc(accessor)(obj));
    }

    [Fact]
    public void DefaultAccessor_ReadsJsonNodeAndJsonElement()
    {
        const string json = """{"kind":"Pod","metadata":{"name":"a","namespace":"ns","uid":"u","resourceVersion":"12"}}""";
        var node = JsonNode.Parse(json)!.AsObject();
        var nodeAccessor = ObjectMetadataAccessor<JsonObject>.Default;
        Assert.True(nodeAccessor.HasMetadata(node));
        Assert.Equal(("ns", "a", "u", "12"), (nodeAccessor.GetNamespace(node), nodeAccessor.GetName(node), nodeAccessor.GetUid(node), nodeAccessor.GetResourceVersion(node)));

        var element = JsonDocument.Parse(json).RootElement;
        var elementAccessor = ObjectMetadataAccessor<JsonElement>.Default;
        Assert.Equal(("ns", "a", "u", "12"), (elementAccessor.GetNamespace(element), elementAccessor.GetName(element), elementAccessor.GetUid(element), elementAccessor.GetResourceVersion(element)));
        Assert.False(elementAccessor.HasMetadata(JsonDocument.Parse("""{"kind":"X"}""").RootElement));
        Assert.False(nodeAccessor.HasMetadata(JsonNode.Parse("""{"metadata":5}""")!.AsObject()));
    }

    [Fact]
    public void DefaultAccessor_ForObject_DispatchesOnRuntimeType()
    {
        var accessor = ObjectMetadataAccessor<object>.Default;
        Assert.Equal("a", accessor.GetName(TestObjects.Pod("ns", "a", "1")));
        Assert.Equal("b", accessor.GetName(JsonNode.Parse("""{"metadata":{"name":"b"}}""")!));
        Assert.False(accessor.HasMetadata("a string"));
        Assert.Throws<KeyException>(() => ObjectKeys.MetaNamespaceKeyFunc(accessor)("a string"));
    }

    [Fact]
    public void CustomAccessor_IsUsedByKeyFunction()
    {
        var accessor = ObjectMetadataAccessor.Create<string>(s => s.Split(':')[0], s => s.Split(':')[1], _ => null, _ => "1");
        Assert.Equal("ns/a", ObjectKeys.MetaNamespaceKeyFunc(accessor)("ns:a"));
    }

    [Fact]
    public void KeyFunction_ThrowsKeyException_ForObjectsWithoutMetadata()
    {
        var ex = Assert.Throws<KeyException>(() => ObjectKeys.MetaNamespaceKeyFunc<TestPod>()(TestObjects.NoMeta()));
        Assert.Contains("object has no meta", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tombstones_UnwrapToTheLastKnownState()
    {
        var pod = TestObjects.Pod("ns", "a", "1");
        Assert.Same(pod, DeletedFinalStateUnknown.Unwrap<TestPod>(pod));
        Assert.Same(pod, DeletedFinalStateUnknown.Unwrap<TestPod>(new DeletedFinalStateUnknown<TestPod>("ns/a", pod)));
        Assert.Null(DeletedFinalStateUnknown.Unwrap<TestPod>(new DeletedFinalStateUnknown<TestPod>("ns/a", null)));
        Assert.Null(DeletedFinalStateUnknown.Unwrap<TestPod>("other"));
    }
}
