using KubeConsistency.Cache.Advanced;
using KubeConsistency.Cache;
using static KubeConsistency.Tests.TestObjects;

namespace KubeConsistency.Tests.Cache;

/// <summary>upstream-semantics.md §3.1–§3.3.</summary>
public sealed class DeltaProcessorTests
{
    private static Delta<TestPod> D(DeltaType type, object payload) => new(type, payload);

    [Fact]
    public void Section3_3_ReplacedAll_DiffsAgainstTheStore_SwapsOnce_ThenDeletesThenListOrder()
    {
        var store = NewIndexer(keyFunction: KeyOrPayload);
        store.Replace([Pod("ns", "a", "1"), Pod("ns", "b", "2"), Pod("ns", "c", "3"), Pod("ns", "z", "4")], "4");
        var handler = new RecordingHandler(store);

        DeltaProcessor.Process(store, handler, D(DeltaType.ReplacedAll, new ReplacedAllInfo<TestPod>("10", [Pod("ns", "c", "9"), Pod("ns", "d", "8"), Pod("ns", "b", "2")])), isInInitialList: false);

        // Deletes first (their order is the store's enumeration order: compare as a set), then list order.
        var deletes = handler.Events.TakeWhile(e => e.StartsWith("delete", StringComparison.Ordinal)).Order().ToList();
        Assert.Equal(["delete-tombstone ns/a last=1", "delete-tombstone ns/z last=4"], deletes);
        Assert.Equal(["update ns/c 3->9", "add ns/d@8 initial=False", "update ns/b 2->2"], handler.Events.Skip(2));

        // Every callback saw the complete post-relist store and RV = list RV (never a half-applied relist).
        var expected = new Dictionary<string, string?> { ["ns/c"] = "9", ["ns/d"] = "8", ["ns/b"] = "2" };
        Assert.All(handler.Observations, o =>
        {
            Assert.Equal(expected, o.Content);
            Assert.Equal("10", o.StoreRv);
        });
    }

    [Fact]
    public void Section3_3_DuplicatesInTheList_EachGetACallbackAgainstThePreReplaceStore()
    {
        var store = NewIndexer(keyFunction: KeyOrPayload);
        store.Add(Pod("ns", "a", "1"));
        var handler = new RecordingHandler();
        DeltaProcessor.Process(store, handler, D(DeltaType.ReplacedAll, new ReplacedAllInfo<TestPod>("5", [Pod("ns", "a", "2"), Pod("ns", "a", "3"), Pod("ns", "n", "4"), Pod("ns", "n", "5")])), isInInitialList: true);
        Assert.Equal(["update ns/a 1->2", "update ns/a 1->3", "add ns/n@4 initial=True", "add ns/n@5 initial=True"], handler.Events);
        Assert.True(store.TryGetByKey("ns/a", out var a));
        Assert.Equal("3", a.Metadata!.ResourceVersion); // the store keeps the last one
    }

    [Fact]
    public void Section3_3_UnkeyableListItem_FailsBeforeAnyChange()
    {
        var store = Store.Create<TestPod>();
        store.Add(Pod("ns", "a", "1"));
        var handler = new RecordingHandler();
        Assert.Throws<KeyException>(() => DeltaProcessor.Process(store, handler, D(DeltaType.ReplacedAll, new ReplacedAllInfo<TestPod>("5", [NoMeta()])), false));
        Assert.Empty(handler.Events);
        Assert.Equal(["ns/a"], store.ListKeys());
    }

    [Fact]
    public void Section3_1_AddedUpdatedReplacedSync_AddOrUpdateByStorePresence()
    {
        var store = NewIndexer(keyFunction: KeyOrPayload);
        var handler = new RecordingHandler(store);
        DeltaProcessor.Process(store, handler, [D(DeltaType.Updated, Pod("ns", "a", "1")), D(DeltaType.Added, Pod("ns", "a", "2")), D(DeltaType.Replaced, Pod("ns", "b", "3")), D(DeltaType.Sync, Pod("ns", "b", "3"))], isInInitialList: true);
        Assert.Equal(["add ns/a@1 initial=True", "update ns/a 1->2", "add ns/b@3 initial=True", "update ns/b 3->3"], handler.Events);

        // The store is updated before each handler call.
        Assert.Equal("1", handler.Observations[0].Content["ns/a"]);
        Assert.Equal("2", handler.Observations[1].Content["ns/a"]);
    }

    [Fact]
    public void Section3_1_Deleted_RemovesAndPassesTheObjectOrTombstoneThrough()
    {
        var store = NewIndexer(keyFunction: KeyOrPayload);
        store.Add(Pod("ns", "a", "1"));
        store.Add(Pod("ns", "b", "2"));
        var handler = new RecordingHandler(store);
        var tombstone = new DeletedFinalStateUnknown<TestPod>("ns/b", Pod("ns", "b", "2"));
        DeltaProcessor.Process(store, handler, [D(DeltaType.Deleted, Pod("ns", "a", "5")), D(DeltaType.Deleted, tombstone)], false);
        Assert.Equal(["delete ns/a@5", "delete-tombstone ns/b last=2"], handler.Events);
        Assert.Equal(0, store.Count);
        Assert.Equal("5", store.LastStoreSyncResourceVersion); // the tombstone did not move the RV (§4.2)
    }

    [Fact]
    public void Section3_1_SyncAll_UpdatesEveryStoredObject_AndIgnoresTheRest()
    {
        var store = NewIndexer(keyFunction: KeyOrPayload);
        store.Add(Pod("ns", "a", "1"));
        store.Add(Pod("ns", "b", "2"));
        var handler = new RecordingHandler();
        DeltaProcessor.Process(store, handler, [D(DeltaType.SyncAll, SyncAllInfo.Instance), D(DeltaType.Added, Pod("ns", "c", "3"))], false);
        Assert.Equal(["update ns/a 1->1", "update ns/b 2->2"], handler.Events.Order());
        Assert.False(store.TryGetByKey("ns/c", out _));
    }

    [Fact]
    public void Section3_1_Bookmark_MovesTheStoreRv_WithoutAHandlerCall()
    {
        var store = NewIndexer(keyFunction: KeyOrPayload);
        var handler = new RecordingHandler();
        DeltaProcessor.Process(store, handler, D(DeltaType.Bookmark, new BookmarkInfo("42")), false);
        Assert.Empty(handler.Events);
        Assert.Equal("42", store.LastStoreSyncResourceVersion);
    }

    [Theory]
    [InlineData(DeltaType.ReplacedAll)]
    [InlineData(DeltaType.SyncAll)]
    [InlineData(DeltaType.Bookmark)]
    [InlineData(DeltaType.Added)]
    public void Section3_1_PayloadTypeMismatch_IsAnError(DeltaType type)
    {
        var store = NewIndexer();
        var ex = Assert.Throws<InvalidOperationException>(() => DeltaProcessor.Process(store, new RecordingHandler(), D(type, "not a payload"), false));
        Assert.Contains(type.ToString(), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Section3_2_Batch_AppliesOneTransaction_ThenCallbacksInOrder()
    {
        var store = NewIndexer(keyFunction: KeyOrPayload);
        store.Add(Pod("ns", "a", "1"));
        store.Add(Pod("ns", "d", "1"));
        var handler = new RecordingHandler(store);
        DeltaProcessor.ProcessBatch(store, handler, [D(DeltaType.Updated, Pod("ns", "a", "2")), D(DeltaType.Added, Pod("ns", "b", "3")), D(DeltaType.Deleted, new DeletedFinalStateUnknown<TestPod>("ns/d", null)), D(DeltaType.Added, Pod("ns", "c", "4"))], false);
        Assert.Equal(["update ns/a 1->2", "add ns/b@3 initial=False", "delete-tombstone ns/d last=null", "add ns/c@4 initial=False"], handler.Events);

        // All callbacks observed the whole batch applied.
        var after = new Dictionary<string, string?> { ["ns/a"] = "2", ["ns/b"] = "3", ["ns/c"] = "4" };
        Assert.All(handler.Observations, o => Assert.Equal(after, o.Content));
        Assert.Equal("4", store.LastStoreSyncResourceVersion);
    }

    [Fact]
    public void Section3_2_BatchPartialFailure_RunsOnlySuccessfulCallbacks()
    {
        var store = Store.Create<TestPod>();
        var handler = new RecordingHandler();
        Assert.Throws<TransactionException>(() => DeltaProcessor.ProcessBatch(store, handler, [D(DeltaType.Added, Pod("ns", "a", "1")), D(DeltaType.Added, NoMeta()), D(DeltaType.Added, Pod("ns", "b", "2"))], false));
        Assert.Equal(["add ns/a@1 initial=False", "add ns/b@2 initial=False"], handler.Events);
    }

    [Theory]
    [InlineData(DeltaType.ReplacedAll)]
    [InlineData(DeltaType.SyncAll)]
    [InlineData(DeltaType.Bookmark)]
    public void Section3_2_NonBatchableTypes_AreRejectedInABatch(DeltaType type)
    {
        var store = NewIndexer();
        object payload = type switch { DeltaType.ReplacedAll => new ReplacedAllInfo<TestPod>("1", []), DeltaType.SyncAll => SyncAllInfo.Instance, _ => new BookmarkInfo("1") };
        Assert.Throws<InvalidOperationException>(() => DeltaProcessor.ProcessBatch(store, new RecordingHandler(), [D(DeltaType.Added, Pod("ns", "a", "1")), D(type, payload)], false));
        Assert.Equal(0, store.Count);
    }
}

public sealed class KeyComputationTests
{
    [Fact]
    public async Task AWatchEvent_ComputesItsKeyOnce_WhenTheFifoAndTheStoreShareTheKeyFunction()
    {
        var calls = 0;
        KeyFunc<TestPod> counting = p => { Interlocked.Increment(ref calls); return KeyOrPayload(p); };
        var store = Store.Create(new StoreOptions<TestPod> { KeyFunction = counting, Indexers = new Dictionary<string, IndexFunc<TestPod>> { [Indexes.Namespace] = Indexes.ByNamespace<TestPod>() } });
        var fifo = RealFifo.Create(new RealFifoOptions<TestPod> { KeyFunction = counting });
        var handler = new RecordingHandler();

        fifo.Add(Pod("ns", "a", "1"));
        await fifo.PopAsync((d, i) => DeltaProcessor.Process(store, handler, d, i));
        Assert.Equal(1, calls);

        fifo.Update(Pod("ns", "a", "2"));
        fifo.Update(Pod("ns", "b", "3"));
        await fifo.PopBatchAsync((b, i) => DeltaProcessor.ProcessBatch(store, handler, b, i), (d, i) => DeltaProcessor.Process(store, handler, d, i));
        Assert.Equal(3, calls);
        Assert.Equal(["add ns/a@1 initial=False", "update ns/a 1->2", "add ns/b@3 initial=False"], handler.Events);
        Assert.Equal("3", store.LastStoreSyncResourceVersion);

        // A store with a different key function never trusts the FIFO's key.
        var other = Store.Create(new StoreOptions<TestPod> { KeyFunction = KeyOrPayload });
        fifo.Delete(Pod("ns", "a", "4"));
        await fifo.PopAsync((d, i) => DeltaProcessor.Process(other, handler, d, i));
        Assert.Equal("4", other.LastStoreSyncResourceVersion);
    }

    [Fact]
    public void SingleValueIndexes_BehaveLikeOrdinaryIndexFunctions()
    {
        var byName = Indexes.SingleValue<TestPod>(p => p.Metadata?.Name);
        Assert.Equal(["a"], byName(Pod("ns", "a", "1")));
        Assert.Empty(byName(NoMeta()));
        var store = Store.Create(new StoreOptions<TestPod> { KeyFunction = KeyOrPayload, Indexers = new Dictionary<string, IndexFunc<TestPod>> { ["name"] = byName } });
        store.Add(Pod("ns1", "a", "1"));
        store.Add(Pod("ns2", "a", "2"));
        store.Add(NoMeta("loose"));
        Assert.Equal(["ns1/a", "ns2/a"], store.IndexKeys("name", "a").Order());
        Assert.Equal(["a"], store.ListIndexFuncValues("name"));
        store.Update(Pod("ns1", "a", "3"));
        store.Delete(Pod("ns2", "a", "4"));
        Assert.Equal(["ns1/a"], store.IndexKeys("name", "a"));
    }

    [Fact]
    public void NullStoreOrHandler_IsRejected_EvenForAnEmptyBatch()
    {
        var store = NewIndexer();
        var handler = new RecordingHandler(store);
        Assert.Equal("store", Assert.Throws<ArgumentNullException>(() => DeltaProcessor.Process<TestPod>(null!, handler, [], false)).ParamName);
        Assert.Equal("handler", Assert.Throws<ArgumentNullException>(() => DeltaProcessor.Process(store, null!, ReadOnlySpan<Delta<TestPod>>.Empty, false)).ParamName);
        Assert.Equal("store", Assert.Throws<ArgumentNullException>(() => DeltaProcessor.ProcessBatch<TestPod>(null!, handler, [], false)).ParamName);
        Assert.Equal("handler", Assert.Throws<ArgumentNullException>(() => DeltaProcessor.ProcessBatch(store, null!, ReadOnlySpan<Delta<TestPod>>.Empty, false)).ParamName);
    }

    /// <summary>A delta type the processor does not know, or one a batch cannot carry, is named in the error.</summary>
    [Fact]
    public void UnknownOrUnbatchableDeltaTypes_AreNamed()
    {
        var store = NewIndexer();
        var handler = new RecordingHandler(store);
        var unknown = Assert.Throws<InvalidOperationException>(() => DeltaProcessor.Process(store, handler, new Delta<TestPod>((DeltaType)99, Pod("ns", "a", "1")), false));
        Assert.Equal("unknown delta type 99", unknown.Message);
        var unbatchable = Assert.Throws<InvalidOperationException>(() => DeltaProcessor.ProcessBatch(store, handler, [new Delta<TestPod>(DeltaType.ReplacedAll, new ReplacedAllInfo<TestPod>("5", []))], false));
        Assert.Equal("Delta type ReplacedAll is not supported in batch processing", unbatchable.Message);
        Assert.Empty(handler.Events);
    }
}
