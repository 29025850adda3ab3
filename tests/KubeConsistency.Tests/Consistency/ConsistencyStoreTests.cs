using KubeConsistency.Consistency;

namespace KubeConsistency.Tests.Consistency;

/// <summary>Every row of upstream-semantics.md §7.4, plus §7.3 algorithm details and concurrency.</summary>
public sealed class ConsistencyStoreTests
{
    private sealed class FakeGetter(string rv = "") : ILastSyncResourceVersionGetter
    {
        public string Rv { get; set; } = rv;

        public string LastStoreSyncResourceVersion => Rv;
    }

    private static readonly NamespacedName Owner = new("ns", "rs");
    private static readonly GroupResource A = GroupResource.Pods;
    private static readonly GroupResource B = GroupResource.ReplicaSets;

    private static (IConsistencyStore Store, FakeGetter A, FakeGetter B) NewStore(string a = "", string b = "")
    {
        var ga = new FakeGetter(a);
        var gb = new FakeGetter(b);
        return (ConsistencyStore.Create([new(A, ga), new(B, gb)]), ga, gb);
    }

    private static int Records(IConsistencyStore store) => ((RealConsistencyStore)store).RecordCount;

    [Fact]
    public void Section7_4_UnknownOwner_IsReady() => Assert.Null(NewStore().Store.EnsureReady(Owner));

    [Fact]
    public void Section7_4_StoreRvEmpty_IsReady_AndTheRecordIsCleared()
    {
        var (store, _, _) = NewStore(a: "");
        store.WroteAt(Owner, "u1", A, "10");
        Assert.Null(store.EnsureReady(Owner));
        Assert.Equal(0, Records(store));
    }

    [Fact]
    public void Section7_4_StoreBehind_ReturnsConsistencyError()
    {
        var (store, _, _) = NewStore(a: "5");
        store.WroteAt(Owner, "u1", A, "10");
        var error = store.EnsureReady(Owner);
        Assert.NotNull(error);
        Assert.Equal("10", error.WroteResourceVersion);
        Assert.Equal("5", error.ReadResourceVersion);
        Assert.Equal(A, error.GroupResource);
        Assert.Contains("pods", error.Message, StringComparison.Ordinal);
        Assert.Same(error, error.ToException().Error);
        Assert.Equal(1, Records(store)); // a stale record stays
    }

    [Theory]
    [InlineData("10")]
    [InlineData("15")]
    public void Section7_4_StoreCaughtUp_IsReady_AndTheRecordIsRemoved(string storeRv)
    {
        var (store, _, _) = NewStore(a: storeRv);
        store.WroteAt(Owner, "u1", A, "10");
        Assert.Null(store.EnsureReady(Owner));
        Assert.Equal(0, Records(store));
    }

    [Fact]
    public void Section7_4_WritesForTheSameResource_KeepTheNewest()
    {
        var (store, a, _) = NewStore(a: "9");
        store.WroteAt(Owner, "u1", A, "5");
        store.WroteAt(Owner, "u1", A, "10");
        store.WroteAt(Owner, "u1", A, "8");
        Assert.Equal("10", store.EnsureReady(Owner)!.WroteResourceVersion);
        a.Rv = "10";
        Assert.Null(store.EnsureReady(Owner));
    }

    [Fact]
    public void Section7_4_AnyStaleResource_Blocks()
    {
        var (store, a, _) = NewStore(a: "50", b: "100");
        store.WroteAt(Owner, "u1", A, "100");
        store.WroteAt(Owner, "u1", B, "90");
        var error = store.EnsureReady(Owner);
        Assert.Equal(A, error!.GroupResource);
        a.Rv = "100";
        Assert.Null(store.EnsureReady(Owner));
    }

    [Fact]
    public void Section7_4_NewUidForTheSameName_ReplacesTheRecord()
    {
        var (store, _, _) = NewStore(a: "5", b: "5");
        store.WroteAt(Owner, "old", A, "100");
        store.WroteAt(Owner, "new", B, "3");
        Assert.Null(store.EnsureReady(Owner)); // the old UID's pod write was dropped
    }

    [Fact]
    public void Section7_4_ClearWithWrongUid_IsANoOp_ClearWithEmptyUid_AlwaysRemoves()
    {
        var (store, _, _) = NewStore(a: "5");
        store.WroteAt(Owner, "u1", A, "10");
        store.Clear(Owner, "other");
        Assert.NotNull(store.EnsureReady(Owner));
        store.Clear(Owner, "u1");
        Assert.Null(store.EnsureReady(Owner));

        store.WroteAt(Owner, "u2", A, "10");
        store.Clear(Owner, "");
        Assert.Null(store.EnsureReady(Owner));
        Assert.Equal(0, Records(store));
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("0")]
    [InlineData("007")]
    public void Section7_4_MalformedWrittenRv_IsSkipped(string written)
    {
        var (store, _, _) = NewStore(a: "5");
        store.WroteAt(Owner, "u1", A, written);
        Assert.Null(store.EnsureReady(Owner));
        Assert.Equal(0, Records(store));
    }

    [Fact]
    public void Section7_4_MalformedStoreRv_IsSkipped()
    {
        var (store, _, _) = NewStore(a: "garbage");
        store.WroteAt(Owner, "u1", A, "10");
        Assert.Null(store.EnsureReady(Owner));
    }

    [Fact]
    public void Section7_4_ValidWriteAfterAMalformedOne_Overwrites()
    {
        var (store, _, _) = NewStore(a: "5");
        store.WroteAt(Owner, "u1", A, "abc");
        store.WroteAt(Owner, "u1", A, "10");
        Assert.Equal("10", store.EnsureReady(Owner)!.WroteResourceVersion);
    }

    [Fact]
    public void Section7_4_EmptyWriteAfterAValidOne_Overwrites_AndDisablesTheCheck()
    {
        var (store, _, _) = NewStore(a: "5");
        store.WroteAt(Owner, "u1", A, "10");
        store.WroteAt(Owner, "u1", A, "");
        Assert.Null(store.EnsureReady(Owner));
    }

    [Fact]
    public void Section7_4_ResourceWithoutARegisteredGetter_IsSkipped()
    {
        var store = ConsistencyStore.Create([new(A, new FakeGetter("1"))]);
        store.WroteAt(Owner, "u1", GroupResource.Jobs, "100");
        Assert.Null(store.EnsureReady(Owner));
    }

    [Fact]
    public void Section7_3_ReadyClearsTheWholeRecord_SoLaterChecksSeeNothing()
    {
        var (store, a, b) = NewStore(a: "10", b: "10");
        store.WroteAt(Owner, "u1", A, "10");
        store.WroteAt(Owner, "u1", B, "10");
        Assert.Null(store.EnsureReady(Owner));
        a.Rv = "1";
        b.Rv = "1";
        Assert.Null(store.EnsureReady(Owner)); // forgotten: a store going backwards no longer matters
    }

    [Fact]
    public void Section8_6_RecreatedOwner_OldDeleteHandlerClearDoesNotRemoveTheNewRecord()
    {
        var (store, _, _) = NewStore(a: "5");
        store.WroteAt(Owner, "old", A, "10");
        store.WroteAt(Owner, "new", A, "20");
        store.Clear(Owner, "old"); // the delete handler of the old object runs late
        Assert.Equal("20", store.EnsureReady(Owner)!.WroteResourceVersion);
    }

    [Fact]
    public void Section7_1_NoopStore_NeverBlocks()
    {
        var store = ConsistencyStore.Noop;
        store.WroteAt(Owner, "u1", A, "100");
        Assert.Null(store.EnsureReady(Owner));
        store.Clear(Owner, "u1");
    }

    [Fact]
    public async Task Concurrency_DistinctOwners_NoLostRecords_NoExceptions()
    {
        var (store, a, _) = NewStore(a: "1");
        const int Owners = 64;
        const int WritesPerOwner = 500;
        await Task.WhenAll(Enumerable.Range(0, Owners).Select(o => Task.Run(() =>
        {
            var owner = new NamespacedName("ns", "owner-" + o);
            for (var i = 1; i <= WritesPerOwner; i++)
            {
                store.WroteAt(owner, "uid-" + o, A, (1000 + i).ToString(System.Globalization.CultureInfo.InvariantCulture));
                Assert.NotNull(store.EnsureReady(owner)); // the store is at 1: always stale
            }
        })));

        Assert.Equal(Owners, Records(store));
        for (var o = 0; o < Owners; o++)
        {
            Assert.Equal((1000 + WritesPerOwner).ToString(System.Globalization.CultureInfo.InvariantCulture), store.EnsureReady(new NamespacedName("ns", "owner-" + o))!.WroteResourceVersion);
        }

        a.Rv = "999999";
        for (var o = 0; o < Owners; o++)
        {
            Assert.Null(store.EnsureReady(new NamespacedName("ns", "owner-" + o)));
        }

        Assert.Equal(0, Records(store));
    }

    [Fact]
    public async Task Concurrency_SameOwner_ConcurrentWriters_KeepTheMaximumAndNeverThrow()
    {
        var (store, _, _) = NewStore(a: "1", b: "1");
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 2000; i++)
            {
                var rv = (10_000 + (i * 8) + t).ToString(System.Globalization.CultureInfo.InvariantCulture);
                store.WroteAt(Owner, "u1", (i & 1) == 0 ? A : B, rv);
                _ = store.EnsureReady(Owner);
                if (i % 97 == 0)
                {
                    store.Clear(Owner, "someone-else");
                }
            }
        })));

        var error = store.EnsureReady(Owner);
        Assert.NotNull(error);
        var max = error.GroupResource == A ? 10_000 + (1998 * 8) + 7 : 10_000 + (1999 * 8) + 7;
        Assert.Equal(max.ToString(System.Globalization.CultureInfo.InvariantCulture), error.WroteResourceVersion);
    }

    [Fact]
    public async Task Concurrency_UidChurnOnOneName_EndsWithExactlyOneRecord()
    {
        var (store, _, _) = NewStore(a: "1");
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 2000; i++)
            {
                store.WroteAt(Owner, "uid-" + ((i + t) % 3), A, "100");
            }
        })));
        Assert.Equal(1, Records(store));
        Assert.NotNull(store.EnsureReady(Owner));
    }
}
