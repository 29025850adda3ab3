using KubeConsistency.Consistency;

namespace KubeConsistency.Tests.Consistency;

/// <summary>
/// The edge-case table of docs/upstream-after-1.36.md §1.4, run against both rule sets: one expectation column for
/// v1.36 (the default, §7.3–§7.4) and one for client-go v1.38.
/// </summary>
public sealed class ConsistencySemanticsTests
{
    private static readonly NamespacedName Owner = new("ns", "web");

    private sealed class Getter(string rv) : ILastSyncResourceVersionGetter
    {
        public string LastStoreSyncResourceVersion { get; } = rv;
    }

    /// <summary>
    /// Each row: the writes (group-resource "pods" unless prefixed "rs:", which has no store), the pods store's RV,
    /// then what EnsureReady says under v1.36 and under v1.38 ("ready", or reason and read&lt;wrote).
    /// </summary>
    public static TheoryData<string, string, string, string, string> Table() => new()
    {
        { "newer than the cache", "20", "10", "CacheBehind 10<20", "CacheBehind 10<20" },
        { "caught up", "20", "20", "ready", "ready" },
        { "the newer of two writes is kept", "20,10", "15", "CacheBehind 15<20", "CacheBehind 15<20" },
        { "a later newer write replaces", "10,30", "20", "CacheBehind 20<30", "CacheBehind 20<30" },
        { "store reports no RV", "20", "", "ready", "CacheNotSynced <20" },
        { "no store for the group-resource", "rs:20", "10", "ready", "NoStoreRegistered <20" },
        { "invalid first write, then a valid one", "abc,20", "10", "CacheBehind 10<20", "CacheBehind 10<20" },
        { "a valid write, then an invalid one", "20,abc", "10", "ready", "CacheBehind 10<20" },
        { "a valid write, then an empty one", "20,", "10", "ready", "CacheBehind 10<20" },
        { "only an invalid write", "abc", "10", "ready", "ready" },
        { "only an empty write", "", "10", "ready", "ready" },
        { "zero is not a valid RV", "0", "10", "ready", "ready" },
        { "the cache's RV does not compare", "20", "x", "ready", "ready" },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void Section1_4_EdgeCases_UnderBothRuleSets(string situation, string writes, string storeRv, string v136, string v138)
    {
        Assert.Equal(v136, Outcome(ConsistencySemantics.KubernetesV136, writes, storeRv));
        Assert.Equal(v138, Outcome(ConsistencySemantics.ClientGoV138, writes, storeRv));
        Assert.NotEmpty(situation);
    }

    /// <summary>The default rule set is v1.36, with or without options.</summary>
    [Fact]
    public void Section1_4_TheDefault_IsV136()
    {
        Assert.Equal(ConsistencySemantics.KubernetesV136, new ConsistencyStoreOptions().Semantics);
        var store = ConsistencyStore.Create([new(GroupResource.Pods, new Getter(""))]);
        store.WroteAt(Owner, "uid", GroupResource.Pods, "20");
        Assert.Null(store.EnsureReady(Owner));
    }

    /// <summary>Each reason has its own text, naming the group-resource and the written RV (v1.38 has a separate text for an unsynced store).</summary>
    [Fact]
    public void Section1_4_EachReason_SaysWhatIsWrong()
    {
        var store = ConsistencyStore.Create([new(GroupResource.Pods, new Getter(""))], new ConsistencyStoreOptions { Semantics = ConsistencySemantics.ClientGoV138 });
        store.WroteAt(Owner, "uid", GroupResource.Pods, "20");
        Assert.Equal("cache for pods is not synced: it reports no resource version yet (written resource version 20)", store.EnsureReady(Owner)?.Message);

        store.Clear(Owner, "");
        store.WroteAt(Owner, "uid", GroupResource.ReplicaSets, "7");
        Assert.Equal("no store registered for group resource replicasets.apps (written resource version 7)", store.EnsureReady(Owner)?.Message);
        Assert.Equal("cache for pods is stale: read resource version 1 is not as new as written resource version 2", new ConsistencyError("1", "2", GroupResource.Pods).Message);
    }

    /// <summary>A ready owner is forgotten under both rule sets; an owner that is not ready keeps its record.</summary>
    [Theory]
    [InlineData(ConsistencySemantics.KubernetesV136)]
    [InlineData(ConsistencySemantics.ClientGoV138)]
    public void Section1_4_ReadyForgets_NotReadyKeeps(ConsistencySemantics semantics)
    {
        var store = (RealConsistencyStore)ConsistencyStore.Create([new(GroupResource.Pods, new Getter("10"))], new ConsistencyStoreOptions { Semantics = semantics });
        store.WroteAt(Owner, "uid", GroupResource.Pods, "11");
        Assert.NotNull(store.EnsureReady(Owner));
        Assert.Equal(1, store.RecordCount);
        store.Clear(Owner, "uid");
        store.WroteAt(Owner, "uid", GroupResource.Pods, "9");
        Assert.Null(store.EnsureReady(Owner));
        Assert.Equal(0, store.RecordCount);
    }

    [Fact]
    public void Options_AreValidated()
    {
        Assert.Throws<ArgumentNullException>(() => ConsistencyStore.Create([], null!));
        Assert.Throws<ArgumentNullException>(() => ConsistencyStore.Create(null!, new ConsistencyStoreOptions()));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ConsistencyStore.Create([], new ConsistencyStoreOptions { Semantics = (ConsistencySemantics)7 }));
        Assert.Contains("ConsistencyStoreOptions.Semantics", ex.Message, StringComparison.Ordinal);
    }

    private static string Outcome(ConsistencySemantics semantics, string writes, string storeRv)
    {
        var store = ConsistencyStore.Create([new(GroupResource.Pods, new Getter(storeRv))], new ConsistencyStoreOptions { Semantics = semantics });
        foreach (var write in writes.Split(','))
        {
            var (resource, rv) = write.StartsWith("rs:", StringComparison.Ordinal) ? (GroupResource.ReplicaSets, write[3..]) : (GroupResource.Pods, write);
            store.WroteAt(Owner, "uid", resource, rv);
        }

        return store.EnsureReady(Owner) is { } error ? $"{error.Reason} {error.ReadResourceVersion}<{error.WroteResourceVersion}" : "ready";
    }
}
