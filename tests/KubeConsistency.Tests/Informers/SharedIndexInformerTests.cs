using KubeConsistency.Cache;
using KubeConsistency.Informers;
using static KubeConsistency.Tests.TestObjects;

namespace KubeConsistency.Tests.Informers;

/// <summary>Shared informer distribution (upstream-semantics.md §3.4) over a scripted source.</summary>
public sealed class SharedIndexInformerTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Options_are_copied_at_Create_the_callers_object_is_never_written_and_later_changes_do_nothing()
    {
        var indexers = new Dictionary<string, IndexFunc<TestPod>> { ["name"] = p => [p.Metadata!.Name!] };
        var options = new SharedIndexInformerOptions<TestPod> { Indexers = indexers, UseWatchList = false };
        var client = new ResourceClientStub();
        var informer = SharedIndexInformer.Create(client, options);

        Assert.Equal(default, options.Resource); // not written back into the caller's object
        Assert.Equal(GroupVersionResource.Pods, informer.Resource);

        // The indexer map the caller still holds is not the informer's.
        indexers["late"] = p => ["x"];
        informer.Indexer.Add(Pod("ns", "a", "1"));
        Assert.Single(informer.Indexer.ByIndex("name", "a"));
        Assert.Throws<KeyNotFoundException>(() => informer.Indexer.ByIndex("late", "x"));
    }

    [Theory]
    [InlineData("ListPageSize")]
    [InlineData("MinWatchTimeout")]
    [InlineData("RequestProgressTimeout")]
    [InlineData("WatchProgressTimeout")]
    [InlineData("DefaultResyncPeriod")]
    [InlineData("InitialBackoff")]
    [InlineData("MaxBackoff")]
    public void Invalid_options_fail_Create_with_a_message_naming_the_option(string option)
    {
        var options = option switch
        {
            "ListPageSize" => new SharedIndexInformerOptions<TestPod> { ListPageSize = 0 },
            "MinWatchTimeout" => new SharedIndexInformerOptions<TestPod> { MinWatchTimeout = TimeSpan.FromMilliseconds(500) },
            "RequestProgressTimeout" => new SharedIndexInformerOptions<TestPod> { RequestProgressTimeout = TimeSpan.Zero },
            "WatchProgressTimeout" => new SharedIndexInformerOptions<TestPod> { WatchProgressTimeout = TimeSpan.FromSeconds(-1) },
            "DefaultResyncPeriod" => new SharedIndexInformerOptions<TestPod> { DefaultResyncPeriod = TimeSpan.FromSeconds(-1) },
            "InitialBackoff" => new SharedIndexInformerOptions<TestPod> { InitialBackoff = TimeSpan.Zero },
            _ => new SharedIndexInformerOptions<TestPod> { InitialBackoff = TimeSpan.FromSeconds(10), MaxBackoff = TimeSpan.FromSeconds(5) },
        };
        var error = Assert.ThrowsAny<ArgumentException>(() => SharedIndexInformer.Create(new FakeListWatch(), options));
        Assert.Equal(option, error.ParamName);
        Assert.Contains("SharedIndexInformerOptions." + option, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_key_function_and_the_backoff_are_configurable()
    {
        await using var h = new InformerHarness(o => o with
        {
            KeyFunction = p => p.Metadata!.Name!.ToUpperInvariant(),
            InitialBackoff = TimeSpan.FromSeconds(2),
            MaxBackoff = TimeSpan.FromSeconds(3),
        });
        (await h.Source.NextListAsync()).Reply.SetException(new KubeConsistency.Client.KubernetesApiException(System.Net.HttpStatusCode.InternalServerError, "InternalError", "boom", null, null));
        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromSeconds(2)).WaitAsync(Guard);
        h.Time.Advance(TimeSpan.FromSeconds(2));
        (await h.Source.NextListAsync()).Reply.SetException(new KubeConsistency.Client.KubernetesApiException(System.Net.HttpStatusCode.InternalServerError, "InternalError", "boom", null, null));
        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromSeconds(3)).WaitAsync(Guard); // doubled, capped at 3 s
        h.Time.Advance(TimeSpan.FromSeconds(3));
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "a", "1")]));
        await h.Informer.WaitForSyncAsync().WaitAsync(Guard);
        Assert.Equal(["A"], h.Informer.Indexer.ListKeys());
        Assert.True(h.Informer.Indexer.TryGetByKey("A", out _));
    }

    /// <summary>A list/watch that says which resource it serves (as an <see cref="KubeConsistency.Client.IResourceClient{T}"/> does).</summary>
    private sealed class ResourceClientStub : KubeConsistency.Client.IResourceClient<TestPod>
    {
        public GroupVersionResource Resource => GroupVersionResource.Pods;

        public ValueTask<KubeConsistency.Client.ListPage<TestPod>> ListAsync(KubeConsistency.Client.ListOptions options, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public IAsyncEnumerable<KubeConsistency.Client.WatchEvent<TestPod>> WatchAsync(KubeConsistency.Client.WatchOptions options, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<TestPod> GetAsync(string? @namespace, string name, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<TestPod> CreateAsync(TestPod obj, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<TestPod> UpdateAsync(TestPod obj, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<TestPod> UpdateStatusAsync(TestPod obj, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<TestPod> PatchAsync(string? @namespace, string name, ReadOnlyMemory<byte> mergePatchJson, bool status = false, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<TestPod?> DeleteAsync(string? @namespace, string name, KubeConsistency.Client.DeleteOptions? options = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }

    [Fact]
    public async Task A_store_RV_that_arrives_while_a_wait_registers_completes_the_wait()
    {
        // The consumer applies the RV and looks for waiters exactly between the waiter's first look at the store RV and
        // its registration: the interleaving that used to leave the wait asleep until the next delta.
        var informer = (SharedIndexInformerImpl<TestPod>)SharedIndexInformer.Create(new FakeListWatch(), new SharedIndexInformerOptions<TestPod> { Resource = GroupVersionResource.Pods });
        informer.Indexer.Bookmark("5");
        informer.TestHookAfterFirstCheck = () =>
        {
            informer.Indexer.Bookmark("10");
            informer.ReleaseResourceVersionWaiters(); // finds no waiter yet
        };

        var wait = informer.WaitForStoreResourceVersionAsync("10");
        await wait.WaitAsync(Guard);
        Assert.True(wait.IsCompletedSuccessfully);

        // And a wait for an RV not yet reached still waits, then completes when the consumer gets there.
        informer.TestHookAfterFirstCheck = null;
        var later = informer.WaitForStoreResourceVersionAsync("20");
        Assert.False(later.IsCompleted);
        informer.Indexer.Bookmark("20");
        informer.ReleaseResourceVersionWaiters();
        await later.WaitAsync(Guard);
    }

    [Fact]
    public async Task Section3_4_ASlowHandler_BlocksNeitherOtherHandlersNorTheQueue()
    {
        await using var h = new InformerHarness();
        var slow = new BlockingHandler();
        var slowRegistration = h.Informer.AddEventHandler(slow);
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "a", "1")]));
        await slow.Entered.Task.WaitAsync(Guard); // the slow handler is stuck in its first call

        var watch = await h.Source.NextWatchAsync();
        for (var i = 0; i < 100; i++)
        {
            watch.Modified(Pod("ns", "a", (11 + i).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        var events = await h.Events.NextAsync(101); // the fast handler gets everything meanwhile
        Assert.Equal("update ns/a 109->110", events[^1]);
        Assert.Equal("110", h.Informer.Indexer.LastStoreSyncResourceVersion);
        Assert.True(h.Informer.HasSynced);
        Assert.False(slowRegistration.HasSynced); // its initial add is still pending

        slow.Gate.Release(101);
        await slowRegistration.Synced.WaitAsync(Guard);
    }

    [Fact]
    public async Task Section3_4_AHandlerAddedLate_ReceivesTheCurrentContentAsInitialAdds()
    {
        await using var h = new InformerHarness();
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "a", "1"), Pod("ns", "b", "2")]));
        await h.Events.NextAsync(2);
        var watch = await h.Source.NextWatchAsync();
        watch.Added(Pod("ns", "c", "11"));
        await h.Events.NextAsync();

        var late = new ChannelHandler();
        var registration = h.Informer.AddEventHandler(late);
        Assert.Equal(["add ns/a@1 initial", "add ns/b@2 initial", "add ns/c@11 initial"], (await late.NextAsync(3)).Order());
        await registration.Synced.WaitAsync(Guard);
        watch.Modified(Pod("ns", "c", "12"));
        Assert.Equal("update ns/c 11->12", await late.NextAsync());
    }

    [Fact]
    public async Task Section3_4_ResyncDeliversSameRvUpdates_OnlyToHandlersWhoseResyncIsDue()
    {
        await using var h = new InformerHarness(o => o with { DefaultResyncPeriod = TimeSpan.Zero }, start: false);
        var resyncing = new ChannelHandler();
        h.Informer.AddEventHandler(resyncing, TimeSpan.FromSeconds(30));
        h.Start();
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "a", "1")]));
        await h.Events.NextAsync();
        await resyncing.NextAsync();
        await h.Source.NextWatchAsync();

        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromSeconds(30)).WaitAsync(TimeSpan.FromSeconds(10));
        h.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal("update ns/a 1->1", await resyncing.NextAsync());
        Assert.False(h.Events.TryNext(out var unexpected), $"a handler without resync got {unexpected}");
    }

    [Fact]
    public async Task Section3_4_UnchangedObjectsOfARelist_AreSyncUpdates_NotDeliveredWithoutResync()
    {
        await using var h = new InformerHarness();
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "a", "1"), Pod("ns", "b", "2")]));
        await h.Events.NextAsync(2);
        var watch = await h.Source.NextWatchAsync();
        watch.Fail(new KubeConsistency.Client.ResourceExpiredException(System.Net.HttpStatusCode.Gone, "Expired", "expired", null, null));
        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromMilliseconds(800)).WaitAsync(TimeSpan.FromSeconds(10));
        h.Time.Advance(TimeSpan.FromMilliseconds(800));
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("20", [Pod("ns", "a", "1"), Pod("ns", "b", "5")]));
        Assert.Equal("update ns/b 2->5", await h.Events.NextAsync()); // a is unchanged (same RV): a sync, not delivered
    }

    [Fact]
    public async Task HandlerExceptions_AreCountedAndSkipped_DeliveryContinues()
    {
        await using var h = new InformerHarness();
        var calls = 0;
        var secondCall = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Informer.AddEventHandler(new ResourceEventHandler<TestPod>
        {
            OnAdd = (_, _) =>
            {
                if (Interlocked.Increment(ref calls) == 1)
                {
                    throw new InvalidOperationException("handler bug");
                }

                secondCall.TrySetResult();
            },
        });
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "a", "1")]));
        var watch = await h.Source.NextWatchAsync();
        watch.Added(Pod("ns", "b", "11"));
        await secondCall.Task.WaitAsync(Guard); // delivery continued after the failure
        Assert.Equal(2, Volatile.Read(ref calls));
        Assert.Equal(1, h.Informer.HandlerFailures);
    }

    [Fact]
    public async Task RemovedHandler_StopsReceiving()
    {
        await using var h = new InformerHarness();
        var extra = new ChannelHandler();
        var registration = h.Informer.AddEventHandler(extra);
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "a", "1")]));
        await extra.NextAsync();
        await h.Events.NextAsync();
        h.Informer.RemoveEventHandler(registration);
        var watch = await h.Source.NextWatchAsync();
        watch.Added(Pod("ns", "b", "11"));
        await h.Events.NextAsync();
        Assert.False(extra.TryNext(out _));
        Assert.Throws<ArgumentException>(() => h.Informer.RemoveEventHandler(new InformerHarness(start: false).Informer.AddEventHandler(new ChannelHandler())));
    }

    [Fact]
    public async Task RunningTwice_Throws()
    {
        await using var h = new InformerHarness();
        await Assert.ThrowsAsync<InvalidOperationException>(() => h.Informer.RunAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Factory_SharesOneInformerPerResource_AndStopsThemAll()
    {
        var source = new FakeListWatch { AutoList = _ => FakeListWatch.Page("1", [Pod("ns", "a", "1")]) };
        var created = 0;
        var factory = new SharedInformerFactory(new SharedInformerFactoryOptions { InformerName = "factory-" + Guid.NewGuid().ToString("N") });
        var first = factory.GetOrAdd(GroupVersionResource.Pods, () => { created++; return (KubeConsistency.Client.IListWatch<TestPod>)source; }, configure: o => o with { UseWatchList = false });
        var second = factory.GetOrAdd(GroupVersionResource.Pods, () => { created++; return (KubeConsistency.Client.IListWatch<TestPod>)source; });
        var other = factory.GetOrAdd(GroupVersionResource.Pods, () => { created++; return (KubeConsistency.Client.IListWatch<TestPod>)source; }, scope: "other", configure: o => o with { UseWatchList = false });
        Assert.Same(first, second);
        Assert.NotSame(first, other);
        Assert.Equal(2, created);
        factory.Start();
        await factory.WaitForCacheSyncAsync().WaitAsync(Guard);
        Assert.Equal(1, first.Indexer.Count);
        await factory.DisposeAsync().AsTask().WaitAsync(Guard);
        Assert.Throws<ObjectDisposedException>(() => factory.Start());
    }
}
