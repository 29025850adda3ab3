using System.Diagnostics.Metrics;
using KubeConsistency.Cache;
using KubeConsistency.Metrics;
using static KubeConsistency.Tests.TestObjects;

namespace KubeConsistency.Tests.Cache;

/// <summary>RealFIFO behaviours of upstream-semantics.md §2.2–§2.4.</summary>
public sealed class RealFifoTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);

    private static IDeltaQueue<TestPod> Atomic(Func<TestPod, TestPod>? transformer = null, bool bookmarks = true, bool unlock = false, InformerMetrics? metrics = null) =>
        RealFifo.Create(new RealFifoOptions<TestPod> { KeyFunction = KeyOrPayload, Transformer = transformer, EmitDeltaTypeBookmark = bookmarks, UnlockWhileProcessing = unlock, Metrics = metrics });

    private static IDeltaQueue<TestPod> Legacy(IKeyListerGetter<TestPod> known, Func<TestPod, TestPod>? transformer = null) =>
        RealFifo.Create(new RealFifoOptions<TestPod> { KeyFunction = KeyOrPayload, AtomicEvents = false, KnownObjects = known, Transformer = transformer });

    private static async Task<List<Delta<TestPod>>> DrainAsync(IDeltaQueue<TestPod> fifo)
    {
        var popped = new List<Delta<TestPod>>();
        while (fifo.Count > 0)
        {
            Assert.True(await fifo.PopAsync((d, _) => popped.Add(d)));
        }

        return popped;
    }

    private static string Describe(Delta<TestPod> d) => d.Object switch
    {
        DeletedFinalStateUnknown<TestPod> t => $"{d.Type} tombstone {t.Key} last={t.Object?.Metadata?.ResourceVersion ?? "null"}",
        TestPod p => $"{d.Type} {KeyOrPayload(p)}@{p.Metadata?.ResourceVersion}",
        ReplacedAllInfo<TestPod> r => $"{d.Type} rv={r.ResourceVersion} n={r.Objects.Count}",
        BookmarkInfo b => $"{d.Type} rv={b.ResourceVersion}",
        _ => d.Type.ToString(),
    };

    [Fact]
    public void Section2_2_ConstructionInvariants()
    {
        var known = NewIndexer();
        Assert.Throws<ArgumentException>(() => RealFifo.Create(new RealFifoOptions<TestPod> { AtomicEvents = true, KnownObjects = known }));
        Assert.Throws<ArgumentException>(() => RealFifo.Create(new RealFifoOptions<TestPod> { AtomicEvents = false }));
        Assert.Throws<ArgumentException>(() => RealFifo.Create(new RealFifoOptions<TestPod> { AtomicEvents = false, KnownObjects = known, UnlockWhileProcessing = true }));
        Assert.Throws<ArgumentException>(() => RealFifo.Create(new RealFifoOptions<TestPod> { AtomicEvents = false, KnownObjects = known, EmitDeltaTypeBookmark = true }));
        Assert.NotNull(RealFifo.Create(new RealFifoOptions<TestPod> { AtomicEvents = false, KnownObjects = known }));
    }

    [Fact]
    public async Task Section2_3_AddUpdateDelete_QueueInOrder_WithoutCoalescing()
    {
        var fifo = Atomic();
        fifo.Add(Pod("ns", "a", "1"));
        fifo.Update(Pod("ns", "a", "2"));
        fifo.Update(Pod("ns", "a", "3"));
        fifo.Delete(Pod("ns", "a", "4"));
        Assert.Equal(4, fifo.Count);
        Assert.Equal(["Added ns/a@1", "Updated ns/a@2", "Updated ns/a@3", "Deleted ns/a@4"], (await DrainAsync(fifo)).Select(Describe));
    }

    [Fact]
    public void Section2_3_KeyError_QueuesNothing_ButMarksPopulated()
    {
        var fifo = RealFifo.Create(new RealFifoOptions<TestPod>());
        Assert.Throws<KeyException>(() => fifo.Add(NoMeta()));
        Assert.Equal(0, fifo.Count);
        Assert.True(fifo.HasSynced); // populated by the Add call, as upstream
    }

    [Fact]
    public async Task Section2_3_Transformer_AppliesToAddUpdateDeleteAndReplace_NotToTombstones()
    {
        var calls = 0;
        var known = NewIndexer(keyFunction: KeyOrPayload);
        known.Add(Pod("ns", "gone", "1", "original"));
        var legacy = Legacy(known, p => { calls++; return Pod(p.Metadata!.NamespaceProperty, p.Metadata.Name, p.Metadata.ResourceVersion, "T"); });
        legacy.Add(Pod("ns", "a", "1"));
        legacy.Replace([Pod("ns", "b", "2")], "5");
        var popped = await DrainAsync(legacy);
        Assert.Equal(2, calls);
        Assert.Equal("T", ((TestPod)popped[0].Object).Payload);
        var tombstones = popped.Where(d => d.Object is DeletedFinalStateUnknown<TestPod>).Select(d => (DeletedFinalStateUnknown<TestPod>)d.Object).ToList();
        Assert.Contains(tombstones, t => t.Key == "ns/gone" && t.Object!.Payload == "original");
        Assert.Contains(tombstones, t => t.Key == "ns/a" && t.Object!.Payload == "T"); // the queued object, not re-transformed
        Assert.Equal("T", ((TestPod)popped[^1].Object).Payload);
    }

    [Fact]
    public async Task Section2_3_AtomicReplace_QueuesExactlyOneReplacedAll_WithTransformedItems()
    {
        var fifo = Atomic(p => Pod(p.Metadata!.NamespaceProperty, p.Metadata.Name, p.Metadata.ResourceVersion, "T"));
        fifo.Replace([Pod("ns", "a", "1"), Pod("ns", "b", "2")], "10");
        Assert.Equal(1, fifo.Count);
        var d = Assert.Single(await DrainAsync(fifo));
        Assert.Equal(DeltaType.ReplacedAll, d.Type);
        var info = Assert.IsType<ReplacedAllInfo<TestPod>>(d.Object);
        Assert.Equal("10", info.ResourceVersion);
        Assert.All(info.Objects, o => Assert.Equal("T", o.Payload));
    }

    [Fact]
    public void Section2_3_AtomicReplace_TransformerFailure_AbortsTheWholeRelist()
    {
        var fifo = Atomic(p => p.Metadata!.Name == "bad" ? throw new InvalidOperationException("transform failed") : p);
        Assert.Throws<InvalidOperationException>(() => fifo.Replace([Pod("ns", "a", "1"), Pod("ns", "bad", "2")], "10"));
        Assert.Equal(0, fifo.Count);
        Assert.False(fifo.HasSynced);
    }

    [Fact]
    public async Task Section2_3_LegacyReplace_DeletesForQueuedThenKnownKeys_BeforeAnyReplaced()
    {
        var known = NewIndexer(keyFunction: KeyOrPayload);
        known.Add(Pod("ns", "k1", "1", "known"));
        known.Add(Pod("ns", "k2", "1", "known"));
        known.Add(Pod("ns", "q2", "1", "known"));
        var fifo = Legacy(known);
        fifo.Add(Pod("ns", "q1", "2"));
        fifo.Update(Pod("ns", "q2", "3"));
        fifo.Delete(Pod("ns", "q3", "4"));
        fifo.Update(Pod("ns", "q1", "5"));
        fifo.Replace([Pod("ns", "k2", "9"), Pod("ns", "new", "9")], "9");

        var described = (await DrainAsync(fifo)).Select(Describe).ToList();
        Assert.Equal(
        [
            "Added ns/q1@2", "Updated ns/q2@3", "Deleted ns/q3@4", "Updated ns/q1@5",
            "Deleted tombstone ns/q1 last=5", // queued keys, first-seen order, last queued object
            "Deleted tombstone ns/q2 last=3", // q3's last delta is already a delete: no second delete
            "Deleted tombstone ns/k1 last=1", // known keys absent from the list and not queued
            "Replaced ns/k2@9", "Replaced ns/new@9",
        ], described);
    }

    [Fact]
    public async Task Section2_3_LegacyResync_SkipsKeysWithPendingDeltas_AndDoesNotTransform()
    {
        var known = NewIndexer(keyFunction: KeyOrPayload);
        known.Add(Pod("ns", "a", "1"));
        known.Add(Pod("ns", "b", "1"));
        var transforms = 0;
        var fifo = Legacy(known, p => { transforms++; return p; });
        fifo.Update(Pod("ns", "a", "2"));
        fifo.Resync();
        Assert.Equal(["Updated ns/a@2", "Sync ns/b@1"], (await DrainAsync(fifo)).Select(Describe));
        Assert.Equal(1, transforms);
    }

    [Fact]
    public async Task Section2_3_AtomicResync_QueuesOneSyncAll_EvenWhenEmpty()
    {
        var fifo = Atomic();
        fifo.Resync();
        fifo.Resync();
        Assert.Equal(["SyncAll", "SyncAll"], (await DrainAsync(fifo)).Select(Describe));
    }

    [Fact]
    public async Task Section2_3_Bookmark_IsQueuedOnlyWhenEnabled_AndDoesNotPopulate()
    {
        var disabled = Atomic(bookmarks: false);
        disabled.Bookmark("5");
        Assert.Equal(0, disabled.Count);

        var enabled = Atomic();
        enabled.Bookmark("5");
        Assert.Equal(1, enabled.Count);
        Assert.False(enabled.HasSynced);
        Assert.Equal(["Bookmark rv=5"], (await DrainAsync(enabled)).Select(Describe));
        Assert.False(enabled.HasSynced);
    }

    [Fact]
    public async Task Section2_3_BookmarkBeforeFirstReplace_CountsAsInitialPopulation()
    {
        var fifo = Atomic();
        fifo.Bookmark("3");
        fifo.Replace([Pod("ns", "a", "5")], "5");
        var initial = new List<bool>();
        Assert.True(await fifo.PopAsync((_, i) => initial.Add(i)));
        Assert.False(fifo.HasSynced); // one of two initial deltas processed
        Assert.True(await fifo.PopAsync((_, i) => initial.Add(i)));
        Assert.True(fifo.HasSynced);
        Assert.Equal([true, true], initial);
    }

    [Fact]
    public async Task Section2_4_HasSynced_TurnsTrueOnlyAfterTheInitialReplacedAllWasProcessed_AndLatches()
    {
        var fifo = Atomic();
        fifo.Replace([Pod("ns", "a", "1")], "1");
        Assert.False(fifo.HasSynced);
        bool? syncedDuringProcessing = null;
        Assert.True(await fifo.PopAsync((_, initial) =>
        {
            Assert.True(initial);
            syncedDuringProcessing = fifo.HasSynced;
        }));
        Assert.False(syncedDuringProcessing);
        Assert.True(fifo.HasSynced);
        await fifo.Synced.WaitAsync(Guard);

        fifo.Replace([], "2"); // a later relist never un-syncs
        Assert.True(fifo.HasSynced);
        bool? isInitial = null;
        await fifo.PopAsync((_, initial) => isInitial = initial);
        Assert.False(isInitial);
    }

    [Fact]
    public void Section2_4_AddBeforeReplace_SyncsImmediately()
    {
        var fifo = Atomic();
        Assert.False(fifo.HasSynced);
        fifo.Add(Pod("ns", "a", "1"));
        Assert.True(fifo.HasSynced);
        Assert.True(fifo.Synced.IsCompleted);
    }

    [Fact]
    public void Section2_4_EmptyLegacyReplace_SyncsImmediately()
    {
        var fifo = Legacy(NewIndexer());
        fifo.Replace([], "1");
        Assert.True(fifo.HasSynced);
    }

    [Fact]
    public async Task Section2_4_ProcessErrorsPropagate_AndTheDeltaIsNotRequeued()
    {
        var fifo = Atomic();
        fifo.Replace([Pod("ns", "a", "1")], "1");
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await fifo.PopAsync((_, _) => throw new InvalidOperationException("boom")));
        Assert.Equal(0, fifo.Count);
        Assert.True(fifo.HasSynced); // the initial count is decremented after processing, failure or not
    }

    [Fact]
    public async Task Section2_4_Pop_WaitsForAnItem()
    {
        var fifo = Atomic();
        var processed = new TaskCompletionSource<string>();
        var pop = fifo.PopAsync((d, _) => processed.SetResult(Describe(d))).AsTask();
        Assert.False(pop.IsCompleted);
        fifo.Add(Pod("ns", "a", "1"));
        Assert.True(await pop.WaitAsync(Guard));
        Assert.Equal("Added ns/a@1", await processed.Task);
    }

    [Fact]
    public async Task Section2_3_Close_EndsAWaitingPop_ButQueuedItemsAreStillDelivered()
    {
        var fifo = Atomic();
        var waiting = fifo.PopAsync((_, _) => Assert.Fail("nothing to process")).AsTask();
        fifo.Close();
        Assert.False(await waiting.WaitAsync(Guard));
        Assert.True(fifo.IsClosed);

        var closedWithItems = Atomic();
        closedWithItems.Add(Pod("ns", "a", "1"));
        closedWithItems.Close();
        Assert.True(await closedWithItems.PopAsync((_, _) => { }));
        Assert.False(await closedWithItems.PopAsync((_, _) => { }));
    }

    [Fact]
    public async Task Section2_4_CancelledWhileEmpty_Throws()
    {
        var fifo = Atomic();
        using var cts = new CancellationTokenSource();
        var pop = fifo.PopAsync((_, _) => { }, cts.Token).AsTask();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pop.WaitAsync(Guard));

        // A queued delta is processed even with a cancelled token (upstream checks the context only when empty).
        fifo.Add(Pod("ns", "a", "1"));
        Assert.True(await fifo.PopAsync((_, _) => { }, cts.Token));
    }

    [Fact]
    public async Task Section2_4_SingleConsumer_IsEnforced()
    {
        var fifo = Atomic();
        var first = fifo.PopAsync((_, _) => { }).AsTask();
        Assert.Throws<InvalidOperationException>(() =>
        {
            var second = fifo.PopAsync((_, _) => { });
            second.AsTask().GetAwaiter().GetResult();
        });
        fifo.Add(Pod("ns", "a", "1"));
        Assert.True(await first.WaitAsync(Guard));
    }

    private sealed class BatchRecorder
    {
        public List<string> Units { get; } = [];

        public List<bool> Initial { get; } = [];

        public void Batch(ReadOnlySpan<Delta<TestPod>> deltas, bool initial)
        {
            var parts = new List<string>();
            foreach (var d in deltas)
            {
                parts.Add(Describe(d));
            }

            Units.Add("batch[" + string.Join(", ", parts) + "]");
            Initial.Add(initial);
        }

        public void Single(Delta<TestPod> d, bool initial)
        {
            Units.Add("single " + Describe(d));
            Initial.Add(initial);
        }
    }

    private static async Task<BatchRecorder> DrainBatchesAsync(IDeltaQueue<TestPod> fifo)
    {
        var r = new BatchRecorder();
        while (fifo.Count > 0)
        {
            Assert.True(await fifo.PopBatchAsync(r.Batch, r.Single));
        }

        return r;
    }

    [Fact]
    public async Task Section2_4_PopBatch_Rule1_NeverMixesInitialListWithLaterItems()
    {
        var legacy = Legacy(NewIndexer(keyFunction: KeyOrPayload));
        legacy.Replace([Pod("ns", "a", "1"), Pod("ns", "b", "1")], "1");
        legacy.Add(Pod("ns", "c", "2"));
        legacy.Add(Pod("ns", "d", "2"));
        var r = await DrainBatchesAsync(legacy);
        Assert.Equal(["batch[Replaced ns/a@1, Replaced ns/b@1]", "batch[Added ns/c@2, Added ns/d@2]"], r.Units);
        Assert.Equal([true, false], r.Initial);
    }

    [Fact]
    public async Task Section2_4_PopBatch_Rule2_NonBatchableDeltasTravelAlone()
    {
        var fifo = Atomic();
        fifo.Add(Pod("ns", "a", "1"));
        fifo.Add(Pod("ns", "b", "1"));
        fifo.Bookmark("2");
        fifo.Resync();
        fifo.Replace([Pod("ns", "a", "3")], "3");
        fifo.Add(Pod("ns", "c", "4"));
        var r = await DrainBatchesAsync(fifo);
        Assert.Equal(["batch[Added ns/a@1, Added ns/b@1]", "single Bookmark rv=2", "single SyncAll", "single ReplacedAll rv=3 n=1", "single Added ns/c@4"], r.Units);
    }

    [Fact]
    public async Task Section2_4_PopBatch_Rule3_AnUnkeyableItemIsTakenAndClosesTheBatch()
    {
        // Keys are computable when queued; the pop-time computation for "x" then fails. (Watch deltas carry the key
        // computed at enqueue; legacy relist items are keyed at pop time, as upstream.)
        var failX = false;
        var known = NewIndexer(keyFunction: KeyOrPayload);
        var fifo = RealFifo.Create(new RealFifoOptions<TestPod>
        {
            AtomicEvents = false,
            KnownObjects = known,
            KeyFunction = p => failX && p.Metadata?.Name == "x" ? throw new KeyException(p, "injected") : KeyOrPayload(p),
        });
        fifo.Add(Pod("ns", "first", "1")); // populate, so the relist below is not the initial list
        await fifo.PopAsync((_, _) => { });
        fifo.Replace([Pod("ns", "a", "1"), Pod("ns", "x", "1"), Pod("ns", "b", "1")], "1");
        failX = true;
        var r = await DrainBatchesAsync(fifo);
        Assert.Equal(["batch[Replaced ns/a@1, Replaced ns/x@1]", "single Replaced ns/b@1"], r.Units);
    }

    [Fact]
    public async Task Section2_4_PopBatch_Rule4_ADuplicateKeyEndsTheBatchBeforeIt()
    {
        var fifo = Atomic();
        fifo.Add(Pod("ns", "a", "1"));
        fifo.Add(Pod("ns", "b", "1"));
        fifo.Update(Pod("ns", "a", "2"));
        fifo.Update(Pod("ns", "c", "2"));
        var r = await DrainBatchesAsync(fifo);
        Assert.Equal(["batch[Added ns/a@1, Added ns/b@1]", "batch[Updated ns/a@2, Updated ns/c@2]"], r.Units);
    }

    [Fact]
    public async Task Section2_4_PopBatch_TakesAtMost1000()
    {
        var fifo = Atomic();
        for (var i = 0; i < 2500; i++)
        {
            fifo.Add(Pod("ns", "p" + i, "1"));
        }

        var sizes = new List<int>();
        while (fifo.Count > 0)
        {
            await fifo.PopBatchAsync((b, _) => sizes.Add(b.Length), (_, _) => sizes.Add(1));
        }

        Assert.Equal([1000, 1000, 500], sizes);
    }

    [Fact]
    public async Task Section2_4_UnlockWhileProcessing_LetsProducersAddDuringProcessing()
    {
        var fifo = Atomic(unlock: true);
        fifo.Add(Pod("ns", "a", "1"));
        Task? producer = null;
        await fifo.PopAsync((_, _) =>
        {
            producer = Task.Run(() => fifo.Add(Pod("ns", "b", "2")));
            Assert.True(producer.Wait(Guard), "the producer must not block while the consumer processes"); // xunit1031 allowed: proving non-blocking
        });
        await producer!;
        Assert.Equal(1, fifo.Count);
    }

    [Fact]
    public async Task Section2_4_WithoutUnlock_ProducersWaitForProcessing()
    {
        var fifo = Atomic(unlock: false);
        fifo.Add(Pod("ns", "a", "1"));
        Task? producer = null;
        await fifo.PopAsync((_, _) =>
        {
            producer = Task.Run(() => fifo.Add(Pod("ns", "b", "2")));
            Assert.False(producer.Wait(TimeSpan.FromMilliseconds(100)), "the lock is held while processing"); // can only fail if the lock is not held
        });
        await producer!.WaitAsync(Guard);
        Assert.Equal(1, fifo.Count);
    }

    [Fact]
    public async Task Section2_4_UnlockWhileProcessing_IsNotHonouredAboveTwiceTheBatchSize()
    {
        var fifo = Atomic(unlock: true);
        for (var i = 0; i <= 2 * RealFifo.BatchSize; i++)
        {
            fifo.Add(Pod("ns", "p" + i, "1"));
        }

        Task? producer = null;
        await fifo.PopAsync((_, _) =>
        {
            producer = Task.Run(() => fifo.Add(Pod("ns", "late", "2")));
            Assert.False(producer.Wait(TimeSpan.FromMilliseconds(100)), "2000 remaining: the lock stays held");
        });
        await producer!.WaitAsync(Guard);
    }

    [Fact]
    public async Task Section9_2_QueuedItemsGauge_And_ProcessingLatencyHistogram()
    {
        var identity = new InformerIdentity("fifo-" + Guid.NewGuid().ToString("N"), GroupVersionResource.Pods);
        using var metrics = InformerMetrics.Create(identity);
        var latencies = new List<double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (i, l) =>
        {
            if (i.Meter.Name == KubeConsistencyMeter.Name && i.Name == InformerMetrics.ProcessingLatencyInstrument)
            {
                l.EnableMeasurementEvents(i);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, v, tags, _) =>
        {
            if (tags.ToArray().Any(t => t.Key == "name" && (string?)t.Value == identity.Name))
            {
                latencies.Add(v);
            }
        });
        listener.Start();

        var fifo = Atomic(metrics: metrics);
        fifo.Add(Pod("ns", "a", "1"));
        fifo.Add(Pod("ns", "b", "1"));
        fifo.Bookmark("9"); // bookmarks do not update the gauge (§2.3)
        Assert.Equal(2, StoreResourceVersionTests.ReadGauge(identity, InformerMetrics.QueuedItemsInstrument));
        await fifo.PopAsync((_, _) => { });
        Assert.Equal(2, StoreResourceVersionTests.ReadGauge(identity, InformerMetrics.QueuedItemsInstrument));
        await fifo.PopAsync((_, _) => { });
        Assert.Equal(1, StoreResourceVersionTests.ReadGauge(identity, InformerMetrics.QueuedItemsInstrument));
        Assert.Equal(2, latencies.Count);
        Assert.All(latencies, l => Assert.True(l >= 0));
    }
}
