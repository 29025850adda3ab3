using KubeConsistency.Consistency;

namespace KubeConsistency.Tests.Consistency;

/// <summary>Edges of the store and the write scope that mutation testing showed untested.</summary>
public sealed class ConsistencyStoreEdgeTests
{
    private sealed class FakeGetter(string rv) : ILastSyncResourceVersionGetter
    {
        public string LastStoreSyncResourceVersion { get; set; } = rv;
    }

    private static readonly NamespacedName Owner = new("ns", "web");

    [Fact]
    public void Create_RejectsNullStores() => Assert.Throws<ArgumentNullException>(() => ConsistencyStore.Create(null!));

    /// <summary>§7.3: an owner writing more group-resources than the record's first capacity keeps every one.</summary>
    [Fact]
    public void Section7_3_AnOwnerWritingManyGroupResources_KeepsEveryWrite()
    {
        var getters = Enumerable.Range(0, 5).Select(i => (Resource: new GroupResource("g", "r" + i), Getter: new FakeGetter("10"))).ToList();
        var store = ConsistencyStore.Create(getters.Select(g => new KeyValuePair<GroupResource, ILastSyncResourceVersionGetter>(g.Resource, g.Getter)));
        foreach (var (resource, _) in getters)
        {
            store.WroteAt(Owner, "uid", resource, "20");
        }

        foreach (var (resource, getter) in getters)
        {
            Assert.Equal(resource, store.EnsureReady(Owner)?.GroupResource);
            getter.LastStoreSyncResourceVersion = "20";
        }

        Assert.Null(store.EnsureReady(Owner));
    }

    /// <summary>§7.4: a write to a group-resource with no registered store never blocks, even beside one that does.</summary>
    [Fact]
    public void Section7_4_AWriteToAnUnregisteredGroupResource_IsSkipped()
    {
        var pods = new FakeGetter("5");
        var store = ConsistencyStore.Create([new(GroupResource.Pods, pods)]);
        store.WroteAt(Owner, "uid", GroupResource.ReplicaSets, "100");
        store.WroteAt(Owner, "uid", GroupResource.Pods, "7");
        Assert.Equal(GroupResource.Pods, store.EnsureReady(Owner)?.GroupResource);
        pods.LastStoreSyncResourceVersion = "7";
        Assert.Null(store.EnsureReady(Owner));
    }

    /// <summary>§7.3 step 3: a ready owner is forgotten completely; owners of the same name in other namespaces stay.</summary>
    [Fact]
    public void Section7_3_ReadyForgetsTheOwner_AndOnlyThatNamespacesRecord()
    {
        var pods = new FakeGetter("5");
        var store = (RealConsistencyStore)ConsistencyStore.Create([new(GroupResource.Pods, pods)]);
        var other = new NamespacedName("other", "web");
        store.WroteAt(Owner, "uid-1", GroupResource.Pods, "6");
        store.WroteAt(other, "uid-2", GroupResource.Pods, "6");
        Assert.Equal(2, store.RecordCount);
        pods.LastStoreSyncResourceVersion = "6";
        Assert.Null(store.EnsureReady(Owner));
        Assert.Equal(1, store.RecordCount);
        Assert.Equal(1, store.OwnerNameCount);
        Assert.Null(store.EnsureReady(other));
        Assert.Equal(0, store.RecordCount);
        Assert.Equal(0, store.OwnerNameCount);
    }

    [Fact]
    public void WriteScope_RejectsNulls()
    {
        Assert.Throws<ArgumentNullException>(() => WriteScope.Begin(null!, Owner, "uid"));
        Assert.Throws<ArgumentNullException>(() => WriteScope.Begin(ConsistencyStore.Noop, Owner, null!));
        using var scope = WriteScope.Begin(ConsistencyStore.Noop, Owner, "uid");
        Assert.Throws<ArgumentNullException>(() => scope.RecordWrite(GroupResource.Pods, null!));
    }

    /// <summary>Disposing twice restores the outer scope once and never clobbers a scope begun after the first dispose.</summary>
    [Fact]
    public void WriteScope_DisposeTwice_LeavesALaterScopeCurrent()
    {
        var outer = WriteScope.Begin(ConsistencyStore.Noop, Owner, "outer");
        var inner = WriteScope.Begin(ConsistencyStore.Noop, Owner, "inner");
        inner.Dispose();
        Assert.Same(outer, WriteScope.Current);
        var next = WriteScope.Begin(ConsistencyStore.Noop, Owner, "next");
        inner.Dispose();
        Assert.Same(next, WriteScope.Current);
        next.Dispose();
        outer.Dispose();
        Assert.Null(WriteScope.Current);
        Assert.Equal("WriteScope { Owner = ns/web, OwnerUid = outer }", outer.ToString());
    }

    /// <summary>
    /// §7.3 step 1 keys a record by owner UID; a caller without nullable annotations may pass a null UID, which must
    /// mean "no UID" (as <c>""</c> does) and not a different owner that would discard the first write.
    /// </summary>
    [Fact]
    public void Section7_3_ANullOwnerUid_IsTheSameOwnerAsAnEmptyOne()
    {
        var pods = new FakeGetter("15");
        var store = ConsistencyStore.Create([new(GroupResource.Pods, pods)]);
        store.WroteAt(Owner, null!, GroupResource.Pods, "20");
        store.WroteAt(Owner, "", GroupResource.Pods, "10"); // older: the newer write of the same owner is kept
        Assert.Equal("20", store.EnsureReady(Owner)?.WroteResourceVersion);
    }

    /// <summary>A default <see cref="NamespacedName"/> is the owner ("", ""): recorded, checked and forgotten as one.</summary>
    [Fact]
    public void ADefaultOwner_IsTheEmptyOwner_AndIsForgottenWhenReady()
    {
        var pods = new FakeGetter("5");
        var store = (RealConsistencyStore)ConsistencyStore.Create([new(GroupResource.Pods, pods)]);
        store.WroteAt(default, "uid", GroupResource.Pods, "6");
        Assert.NotNull(store.EnsureReady(new NamespacedName("", "")));
        pods.LastStoreSyncResourceVersion = "6";
        Assert.Null(store.EnsureReady(default));
        Assert.Equal(0, store.OwnerNameCount);
    }

    /// <summary>A scope records each write for its owner and counts it; once disposed it records nothing and says so.</summary>
    [Fact]
    public void WriteScope_RecordsAndCounts_UntilDisposed()
    {
        var pods = new FakeGetter("5");
        var store = ConsistencyStore.Create([new(GroupResource.Pods, pods)]);
        var scope = WriteScope.Begin(store, Owner, "uid");
        Assert.True(scope.RecordWrite(GroupResource.Pods, "7"));
        Assert.Equal(1, scope.RecordedWrites);
        Assert.Equal("7", store.EnsureReady(Owner)?.WroteResourceVersion);

        scope.Dispose();
        Assert.False(scope.RecordWrite(GroupResource.Pods, "9"));
        Assert.Equal(1, scope.RecordedWrites);
        pods.LastStoreSyncResourceVersion = "7";
        Assert.Null(store.EnsureReady(Owner)); // the write after disposal was not recorded: 7 is enough
    }
}
