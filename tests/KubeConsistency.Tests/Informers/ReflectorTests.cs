using KubeConsistency.Cache.Advanced;
using KubeConsistency.Cache;
using KubeConsistency.Client;
using KubeConsistency.Informers;
using KubeConsistency.Testing;
using static KubeConsistency.Tests.TestObjects;

namespace KubeConsistency.Tests.Informers;

/// <summary>Reflector behaviour of upstream-semantics.md §5, driven through the public informer API.</summary>
public sealed class ReflectorTests
{
    private static ResourceExpiredException Expired() => new(System.Net.HttpStatusCode.Gone, "Expired", "too old resource version", null, null);

    [Fact]
    public async Task Section5_1_FirstListIsFromZero_Paged_ThenWatchFromTheListRv_WithBookmarksAndARandomTimeout()
    {
        await using var h = new InformerHarness();
        var (options, reply) = await h.Source.NextListAsync();
        Assert.Equal("0", options.ResourceVersion);
        Assert.Equal(500, options.Limit);
        reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "a", "5"), Pod("ns", "b", "7")]));

        Assert.Equal(["add ns/a@5 initial", "add ns/b@7 initial"], (await h.Events.NextAsync(2)).Order());
        await h.Informer.WaitForSyncAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("10", h.Informer.Indexer.LastStoreSyncResourceVersion);

        var watch = await h.Source.NextWatchAsync();
        Assert.Equal("10", watch.Options.ResourceVersion);
        Assert.True(watch.Options.AllowWatchBookmarks);
        Assert.Equal(300, watch.Options.TimeoutSeconds); // MinWatchTimeout × (1 + 0)
        Assert.Null(watch.Options.SendInitialEvents);
    }

    [Fact]
    public async Task Section5_3_ReferenceSequence_ListThenAddedModifiedBookmarkDeleted()
    {
        // client-go TestReflectorResourceVersionUpdate: list RV 10, then Added 10, Modified 20, Bookmark 30, Deleted 40.
        await using var h = new InformerHarness();
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", []));
        var watch = await h.Source.NextWatchAsync();
        var seen = new List<string> { h.Informer.LastSyncResourceVersion };

        watch.Added(Pod("ns", "a", "10"));
        await h.Events.NextAsync();
        seen.Add(h.Informer.LastSyncResourceVersion);
        watch.Modified(Pod("ns", "a", "20"));
        await h.Events.NextAsync();
        seen.Add(h.Informer.LastSyncResourceVersion);
        watch.Bookmark("30");
        watch.Deleted(Pod("ns", "a", "40"));
        await h.Events.NextAsync();
        Assert.Equal(["10", "10", "20"], seen);
        Assert.Equal("40", h.Informer.LastSyncResourceVersion);
        Assert.Equal("40", h.Informer.Indexer.LastStoreSyncResourceVersion);
    }

    [Fact]
    public async Task Section5_3_BookmarksAdvanceTheStoreRv_InQueueOrder()
    {
        await using var h = new InformerHarness();
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", []));
        var watch = await h.Source.NextWatchAsync();
        watch.Bookmark("25");
        watch.Added(Pod("ns", "marker", "26"));
        await h.Events.NextAsync();
        Assert.Equal("26", h.Informer.Indexer.LastStoreSyncResourceVersion);
        watch.Bookmark("30");
        watch.Bookmark("31");
        watch.Modified(Pod("ns", "marker", "31")); // same RV as the bookmark: proves the bookmark was applied first
        await h.Events.NextAsync();
        Assert.Equal("31", h.Informer.Indexer.LastStoreSyncResourceVersion);
        Assert.Equal("31", h.Informer.LastSyncResourceVersion);
    }

    [Fact]
    public async Task Section5_3_WatchFromEmptyRv_DoesNotAdvanceOnAddedUntilANonAddedEvent()
    {
        await using var h = new InformerHarness();
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("", [])); // a server that returns no list RV
        var watch = await h.Source.NextWatchAsync();
        Assert.Equal("", watch.Options.ResourceVersion);
        watch.Added(Pod("ns", "a", "50"));
        watch.Added(Pod("ns", "b", "40"));
        await h.Events.NextAsync(2);
        Assert.Equal("", h.Informer.LastSyncResourceVersion);
        watch.Modified(Pod("ns", "a", "60"));
        await h.Events.NextAsync();
        Assert.Equal("60", h.Informer.LastSyncResourceVersion);
        watch.Added(Pod("ns", "c", "61"));
        await h.Events.NextAsync();
        Assert.Equal("61", h.Informer.LastSyncResourceVersion);
    }

    [Fact]
    public async Task Section5_1_WatchExpired_RelistsFromTheLastRv_AfterTheBackoff()
    {
        await using var h = new InformerHarness();
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "a", "10"), Pod("ns", "gone", "10")]));
        await h.Events.NextAsync(2);
        var watch = await h.Source.NextWatchAsync();
        watch.Modified(Pod("ns", "a", "12"));
        await h.Events.NextAsync();
        watch.Fail(Expired());

        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromMilliseconds(800)).WaitAsync(TimeSpan.FromSeconds(10)); // first backoff step, no jitter
        Assert.Single(h.Source.ListCalls);
        h.Time.Advance(TimeSpan.FromMilliseconds(800));

        var (relist, reply) = await h.Source.NextListAsync();
        Assert.Equal("12", relist.ResourceVersion); // not "": a LIST at an RV is at least that fresh
        Assert.Null(relist.Limit); // a concrete RV is served whole
        reply.SetResult(FakeListWatch.Page("20", [Pod("ns", "a", "15")]));
        Assert.Equal(["delete-tombstone ns/gone", "update ns/a 12->15"], await h.Events.NextAsync(2));
        Assert.Equal("20", h.Informer.Indexer.LastStoreSyncResourceVersion);
        Assert.Equal(1, h.Informer.Statistics.Expirations);
        Assert.Equal("20", (await h.Source.NextWatchAsync()).Options.ResourceVersion);
    }

    [Fact]
    public async Task Section5_1_ListExpired_IsRetriedImmediatelyFromEmpty()
    {
        await using var h = new InformerHarness();
        var (first, reply) = await h.Source.NextListAsync();
        Assert.Equal("0", first.ResourceVersion);
        reply.SetException(Expired());
        var (second, reply2) = await h.Source.NextListAsync();
        Assert.Equal("", second.ResourceVersion);
        Assert.Equal(500, second.Limit);
        reply2.SetResult(FakeListWatch.Page("30", [Pod("ns", "a", "30")]));
        await h.Events.NextAsync();
        Assert.Equal(2, h.Source.ListCalls.Count); // retried at once, without a backoff
    }

    [Fact]
    public async Task Section5_1_Paging_FollowsContinueTokens_AndExpiredTokensFallBackToAFullList()
    {
        await using var h = new InformerHarness();
        var (p1, r1) = await h.Source.NextListAsync();
        r1.SetResult(FakeListWatch.Page("40", [Pod("ns", "a", "1")], continueToken: "t1"));
        var (p2, r2) = await h.Source.NextListAsync();
        Assert.Equal("t1", p2.Continue);
        Assert.Null(p2.ResourceVersion); // continue and resourceVersion never go together
        r2.SetException(new ResourceExpiredException(System.Net.HttpStatusCode.Gone, "Expired", "continue token expired", null, null));
        var (p3, r3) = await h.Source.NextListAsync();
        Assert.Null(p3.Continue);
        Assert.Null(p3.Limit);
        Assert.Equal("0", p3.ResourceVersion);
        r3.SetResult(FakeListWatch.Page("41", [Pod("ns", "a", "1"), Pod("ns", "b", "2")]));
        Assert.Equal(["add ns/a@1 initial", "add ns/b@2 initial"], (await h.Events.NextAsync(2)).Order());
        Assert.Equal("41", h.Informer.Indexer.LastStoreSyncResourceVersion);
    }

    [Fact]
    public async Task Section5_3_CleanWatchEnd_RewatchesFromTheLastRv_WithoutRelisting()
    {
        await using var h = new InformerHarness();
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", []));
        var watch = await h.Source.NextWatchAsync();
        watch.Added(Pod("ns", "a", "11"));
        await h.Events.NextAsync();
        h.Time.Advance(TimeSpan.FromSeconds(2)); // not a "very short" watch
        watch.End();
        var next = await h.Source.NextWatchAsync();
        Assert.Equal("11", next.Options.ResourceVersion);
        Assert.Single(h.Source.ListCalls);
    }

    [Fact]
    public async Task Section5_3_BrokenStreamAfterEvents_ResumesWithoutRelist()
    {
        await using var h = new InformerHarness();
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", []));
        var watch = await h.Source.NextWatchAsync();
        watch.Added(Pod("ns", "a", "11"));
        await h.Events.NextAsync();
        watch.Fail(new KubernetesTransportException("connection reset", new IOException("reset")));
        var next = await h.Source.NextWatchAsync();
        Assert.Equal("11", next.Options.ResourceVersion);
        Assert.Single(h.Source.ListCalls);
        Assert.Equal(1, h.Informer.Statistics.WatchFailures);
    }

    [Fact]
    public async Task Section5_3_VeryShortWatch_RelistsAfterABackoff()
    {
        await using var h = new InformerHarness();
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", []));
        (await h.Source.NextWatchAsync()).End(); // no events, no time passed
        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromMilliseconds(800)).WaitAsync(TimeSpan.FromSeconds(10));
        h.Time.Advance(TimeSpan.FromMilliseconds(800));
        var (relist, _) = await h.Source.NextListAsync();
        Assert.Equal("10", relist.ResourceVersion);
    }

    [Fact]
    public async Task Section5_3_DecodeError_IsCounted_AndRelists()
    {
        await using var h = new InformerHarness();
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", []));
        var watch = await h.Source.NextWatchAsync();
        watch.Fail(new WatchDecodeException("not JSON", "garbage{"u8));
        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromMilliseconds(800)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, h.Informer.Statistics.WatchFailures);
        h.Time.Advance(TimeSpan.FromMilliseconds(800));
        await h.Source.NextListAsync();
    }

    [Fact]
    public async Task Section5_ListFailures_BackOffExponentially_WithoutAHotLoop()
    {
        await using var h = new InformerHarness();
        var delays = new List<TimeSpan?>();
        for (var i = 0; i < 8; i++)
        {
            (await h.Source.NextListAsync()).Reply.SetException(new KubernetesApiException(System.Net.HttpStatusCode.InternalServerError, "InternalError", "boom", null, null));

            // The backoff, not the LIST page's progress bound (60 s), which goes when the page fails.
            await h.Time.WaitForTimersAsync(d => d.Count == 1 && d[0] < TimeSpan.FromSeconds(60)).WaitAsync(TimeSpan.FromSeconds(10));
            delays.Add(h.Time.NextDueIn);
            h.Time.Advance(h.Time.NextDueIn!.Value);
        }

        Assert.Equal(new TimeSpan?[] { TimeSpan.FromSeconds(0.8), TimeSpan.FromSeconds(1.6), TimeSpan.FromSeconds(3.2), TimeSpan.FromSeconds(6.4), TimeSpan.FromSeconds(12.8), TimeSpan.FromSeconds(25.6), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30) }, delays);
        Assert.Equal(8, h.Informer.Statistics.ListFailures);
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("5", [Pod("ns", "a", "5")]));
        await h.Events.NextAsync();
    }

    [Fact]
    public async Task Section5_3_SilentWatch_IsAbandoned_AfterItsTimeoutPlusGrace()
    {
        await using var h = new InformerHarness(o => o with { MinWatchTimeout = TimeSpan.FromSeconds(10) });
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", []));
        var watch = await h.Source.NextWatchAsync();
        Assert.Equal(10, watch.Options.TimeoutSeconds);
        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromSeconds(70)).WaitAsync(TimeSpan.FromSeconds(10));
        h.Time.Advance(TimeSpan.FromSeconds(70));
        var next = await h.Source.NextWatchAsync();
        Assert.Equal("10", next.Options.ResourceVersion);
        Assert.Equal(1, h.Informer.Statistics.WatchFailures);
    }

    [Fact]
    public async Task Section5_2_WatchList_ReplacesAtTheEndBookmark_AndKeepsConsumingTheSameStream()
    {
        await using var h = new InformerHarness(o => o with { UseWatchList = true });
        var watch = await h.Source.NextWatchAsync();
        Assert.True(watch.Options.SendInitialEvents);
        Assert.Equal(ResourceVersionMatch.NotOlderThan, watch.Options.ResourceVersionMatch);
        Assert.True(watch.Options.AllowWatchBookmarks);
        Assert.Equal("", watch.Options.ResourceVersion);

        watch.Added(Pod("ns", "b", "30")); // initial events are not RV-ordered
        watch.Added(Pod("ns", "a", "20"));
        watch.Bookmark("40", initialEventsEnd: true);
        Assert.Equal(["add ns/a@20 initial", "add ns/b@30 initial"], (await h.Events.NextAsync(2)).Order());
        await h.Informer.WaitForSyncAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("40", h.Informer.Indexer.LastStoreSyncResourceVersion);
        Assert.Equal("40", h.Informer.LastSyncResourceVersion);

        watch.Modified(Pod("ns", "a", "41"));
        Assert.Equal("update ns/a 20->41", await h.Events.NextAsync());
        Assert.Single(h.Source.WatchCalls); // the same stream continues
        Assert.Empty(h.Source.ListCalls);
        Assert.Equal(1, h.Informer.Statistics.WatchLists);
    }

    [Fact]
    public async Task Section5_2_WatchListEndingBeforeTheEndBookmark_IsReopened_NotAbandoned()
    {
        // A server timeout during a long initial stream, or a graceful apiserver shutdown: client-go v0.36 opens a new
        // watch-list rather than giving up on it.
        await using var h = new InformerHarness(o => o with { UseWatchList = true });
        var first = await h.Source.NextWatchAsync();
        first.Added(Pod("ns", "a", "20"));
        h.Time.Advance(TimeSpan.FromSeconds(2));
        first.End();

        var second = await h.Source.NextWatchAsync();
        Assert.True(second.Options.SendInitialEvents);
        second.Added(Pod("ns", "a", "20"));
        second.Added(Pod("ns", "b", "21"));
        second.Bookmark("50", initialEventsEnd: true);
        await h.Informer.WaitForSyncAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, h.Informer.Indexer.Count);
        Assert.Equal("50", h.Informer.Indexer.LastStoreSyncResourceVersion);
        Assert.Empty(h.Source.ListCalls);
        Assert.Equal(0, h.Informer.Statistics.WatchListFallbacks);
    }

    [Fact]
    public async Task Section5_2_AWatchListError_FallsBackToListForOneCycleOnly()
    {
        await using var h = new InformerHarness(o => o with { UseWatchList = true });
        (await h.Source.NextWatchAsync()).Fail(new KubernetesApiException(System.Net.HttpStatusCode.InternalServerError, "InternalError", "etcd hiccup", null, null));
        var (list, reply) = await h.Source.NextListAsync();
        Assert.Equal("0", list.ResourceVersion);
        reply.SetResult(FakeListWatch.Page("50", [Pod("ns", "a", "20")]));
        await h.Informer.WaitForSyncAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, h.Informer.Statistics.WatchListFallbacks);

        // The watch that follows the fallback LIST expires: the next cycle asks for a watch-list again.
        var watch = await h.Source.NextWatchAsync();
        Assert.Null(watch.Options.SendInitialEvents);
        watch.Fail(Expired());
        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromMilliseconds(800)).WaitAsync(TimeSpan.FromSeconds(10));
        h.Time.Advance(TimeSpan.FromSeconds(1));
        var again = await h.Source.NextWatchAsync();
        Assert.True(again.Options.SendInitialEvents);
        Assert.Single(h.Source.ListCalls);
    }

    [Fact]
    public async Task Section5_2_ABookmarkWithoutTheEndAnnotation_MeansNoWatchListSupport_ForGood()
    {
        await using var h = new InformerHarness(o => o with { UseWatchList = true });
        var watch = await h.Source.NextWatchAsync();
        watch.Bookmark("30");
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("50", []));
        await h.Informer.WaitForSyncAsync().WaitAsync(TimeSpan.FromSeconds(10));
        var plain = await h.Source.NextWatchAsync();
        Assert.Null(plain.Options.SendInitialEvents);
        plain.Fail(Expired());
        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromMilliseconds(800)).WaitAsync(TimeSpan.FromSeconds(10));
        h.Time.Advance(TimeSpan.FromSeconds(1));
        await h.Source.NextListAsync();
        Assert.Equal(2, h.Source.WatchCalls.Count);
    }

    [Fact]
    public async Task A_list_resource_version_that_is_not_valid_is_rejected_and_the_next_list_is_a_consistent_read()
    {
        await using var h = new InformerHarness();
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("not-a-number", [Pod("ns", "a", "5")]));
        await h.Time.WaitForTimersAsync(d => d.Count == 1 && d[0] < TimeSpan.FromSeconds(60)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, h.Informer.Statistics.InvalidResourceVersions);
        Assert.Equal(0, h.Informer.Indexer.Count); // nothing was applied at that RV
        h.Time.Advance(h.Time.NextDueIn!.Value);
        var (list, reply) = await h.Source.NextListAsync();
        Assert.Equal("", list.ResourceVersion);
        reply.SetResult(FakeListWatch.Page("6", [Pod("ns", "a", "5")]));
        await h.Informer.WaitForSyncAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("6", h.Informer.Indexer.LastStoreSyncResourceVersion);
    }

    [Fact]
    public async Task A_stalled_LIST_page_is_abandoned_counted_and_retried()
    {
        await using var h = new InformerHarness(o => o with { RequestProgressTimeout = TimeSpan.FromSeconds(30) });
        var (_, stalled) = await h.Source.NextListAsync(); // never answered
        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromSeconds(30)).WaitAsync(TimeSpan.FromSeconds(10));
        h.Time.Advance(TimeSpan.FromSeconds(30));
        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromMilliseconds(800)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, h.Informer.Statistics.Stalls);
        Assert.Equal(1, h.Informer.Statistics.ListFailures);
        h.Time.Advance(TimeSpan.FromMilliseconds(800));
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("6", []));
        await h.Informer.WaitForSyncAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(stalled.Task.IsCompleted);
    }

    [Fact]
    public async Task A_watch_silent_for_its_progress_bound_is_resumed_from_its_last_RV()
    {
        await using var h = new InformerHarness(o => o with { WatchProgressTimeout = TimeSpan.FromSeconds(90) });
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", []));
        var watch = await h.Source.NextWatchAsync();
        Assert.Equal(300, watch.Options.TimeoutSeconds); // server-side timeout 5 min: the bookmark-based bound is shorter
        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromSeconds(90)).WaitAsync(TimeSpan.FromSeconds(10));
        h.Time.Advance(TimeSpan.FromSeconds(90));
        var next = await h.Source.NextWatchAsync();
        Assert.Equal("10", next.Options.ResourceVersion);
        Assert.Empty(h.Source.ListCalls.Skip(1));
    }

    [Fact]
    public async Task A_failing_resync_ends_the_watch_at_once()
    {
        // Upstream sends the resync error to the watch loop, which returns it; the watch does not run on to its timeout.
        var time = new ManualTimeProvider();
        var source = new FakeListWatch();
        var queue = new ThrowingResyncQueue(RealFifo.Create(new RealFifoOptions<TestPod> { EmitDeltaTypeBookmark = true }));
        var reflector = new Reflector<TestPod>(new ReflectorOptions<TestPod>
        {
            Name = "resync-test",
            ListWatch = source,
            Queue = queue,
            KeyFunction = ObjectKeys.MetaNamespaceKeyFunc<TestPod>(),
            Time = time,
            Logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
            ResyncCheckPeriod = TimeSpan.FromSeconds(30),
            ShouldResync = () => true,
            Random = () => 0.0,
        });
        using var stop = new CancellationTokenSource();
        var run = reflector.RunAsync(stop.Token);
        (await source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "a", "5")]));
        var watch = await source.NextWatchAsync();
        await time.WaitForTimerDueInAsync(TimeSpan.FromSeconds(30)).WaitAsync(TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(30));

        // The failed cycle backs off (800 ms) and relists: the open watch was abandoned at the resync, not at its timeout.
        await time.WaitForTimerDueInAsync(TimeSpan.FromMilliseconds(800)).WaitAsync(TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromMilliseconds(800));
        var (relist, _) = await source.NextListAsync();
        Assert.Equal("10", relist.ResourceVersion);
        Assert.Equal(1, queue.Resyncs);
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        _ = watch;
    }

    private sealed class ThrowingResyncQueue(IDeltaQueue<TestPod> inner) : IDeltaQueue<TestPod>
    {
        public int Resyncs;

        public bool IsClosed => inner.IsClosed;

        public bool HasSynced => inner.HasSynced;

        public Task Synced => inner.Synced;

        public int Count => inner.Count;

        public void Add(TestPod obj) => inner.Add(obj);

        public void Update(TestPod obj) => inner.Update(obj);

        public void Delete(TestPod obj) => inner.Delete(obj);

        public void Replace(IReadOnlyList<TestPod> items, string resourceVersion) => inner.Replace(items, resourceVersion);

        public void Resync()
        {
            Interlocked.Increment(ref Resyncs);
            throw new InvalidOperationException("resync broke");
        }

        public void Bookmark(string resourceVersion) => inner.Bookmark(resourceVersion);

        public void Close() => inner.Close();

        public ValueTask<bool> PopAsync(PopProcessor<TestPod> process, CancellationToken cancellationToken = default) => inner.PopAsync(process, cancellationToken);

        public ValueTask<bool> PopBatchAsync(BatchProcessor<TestPod> processBatch, PopProcessor<TestPod> processSingle, CancellationToken cancellationToken = default) =>
            inner.PopBatchAsync(processBatch, processSingle, cancellationToken);
    }

    [Fact]
    public async Task Section5_2_ServerRejectingWatchList_FallsBack_AndIsNotAskedAgain()
    {
        await using var h = new InformerHarness(o => o with { UseWatchList = true });
        (await h.Source.NextWatchAsync()).Fail(new KubernetesApiException(System.Net.HttpStatusCode.UnprocessableEntity, "Invalid", "resourceVersionMatch: Forbidden", null, null));
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", []));
        var watch = await h.Source.NextWatchAsync();
        Assert.Null(watch.Options.SendInitialEvents);
        watch.Fail(Expired());
        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromMilliseconds(800)).WaitAsync(TimeSpan.FromSeconds(10));
        h.Time.Advance(TimeSpan.FromSeconds(1));
        await h.Source.NextListAsync(); // straight to LIST: watch-list is known to be unsupported
        Assert.Equal(2, h.Source.WatchCalls.Count);
    }

    [Fact]
    public async Task Cancellation_DuringList_StopsTheInformerCleanly()
    {
        var h = new InformerHarness();
        await h.Source.NextListAsync(); // never answered
        await h.DisposeAsync(); // cancels and awaits RunAsync with a guard
        Assert.True(h.Run!.IsCompletedSuccessfully);
    }
}

public sealed class ExponentialBackoffTests
{
    [Fact]
    public void Section5_BackoffDoubles_Caps_AddsJitter_AndResetsAfterTwoMinutes()
    {
        var time = new KubeConsistency.Testing.ManualTimeProvider();
        var jitter = 0.5;
        var backoff = new ExponentialBackoff(time, () => jitter);
        Assert.Equal(TimeSpan.FromSeconds(1.2), backoff.Next()); // 0.8 + 50%
        Assert.Equal(TimeSpan.FromSeconds(2.4), backoff.Next());
        jitter = 0;
        for (var i = 0; i < 6; i++)
        {
            backoff.Next();
        }

        Assert.Equal(TimeSpan.FromSeconds(30), backoff.Next());
        jitter = 1.0;
        Assert.Equal(TimeSpan.FromSeconds(60), backoff.Next()); // the cap applies before the jitter, as upstream
        time.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromTicks(1));
        jitter = 0;
        Assert.Equal(TimeSpan.FromSeconds(0.8), backoff.Next());
    }
}
