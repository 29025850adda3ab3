using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using KubeConsistency.Cache;
using KubeConsistency.Client;
using KubeConsistency.Informers;
using KubeConsistency.Metrics;
using KubeConsistency.Testing;
using KubeConsistency.Tests.Controllers.WorkQueue;
using Microsoft.Extensions.Logging;
using static KubeConsistency.Tests.TestObjects;

namespace KubeConsistency.Tests.Informers;

/// <summary>
/// Edge cases of the shared informer that mutation testing found unasserted: option boundaries, argument checks,
/// names in messages and metrics, logging, resync period rules and scheduling, resource-version waits, registration
/// sync, handler removal, quiescence, the non-atomic FIFO and batch processing, and shutdown.
/// </summary>
public sealed class SharedIndexInformerEdgeTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);

    private const int HandlerFailedEvent = 2012;
    private const int ProcessingFailedEvent = 2011;
    private const int ResyncPeriodRaisedEvent = 2013;

    // ---- options and arguments -------------------------------------------------------------------------------

    [Fact]
    public void Options_exactly_at_their_limits_are_valid()
    {
        // MinWatchTimeout may be exactly 1 s, MaxBackoff may equal InitialBackoff, zero resync disables resync.
        var informer = SharedIndexInformer.Create(new FakeListWatch(), new SharedIndexInformerOptions<TestPod>
        {
            MinWatchTimeout = TimeSpan.FromSeconds(1),
            InitialBackoff = TimeSpan.FromSeconds(2),
            MaxBackoff = TimeSpan.FromSeconds(2),
            DefaultResyncPeriod = TimeSpan.Zero,
        });
        Assert.NotNull(informer.Indexer);
    }

    [Theory]
    [InlineData("empty name next to a valid index")]
    [InlineData("named index without a function")]
    public void Indexers_with_an_empty_name_or_a_null_function_are_rejected_naming_the_option(string shape)
    {
        IndexFunc<TestPod> byName = p => [p.Metadata!.Name!];
        var indexers = shape.StartsWith("empty", StringComparison.Ordinal)
            ? new Dictionary<string, IndexFunc<TestPod>> { ["ok"] = byName, [""] = byName }
            : new Dictionary<string, IndexFunc<TestPod>> { ["ok"] = byName, ["broken"] = null! };

        var error = Assert.Throws<ArgumentException>(() => SharedIndexInformer.Create(new FakeListWatch(), new SharedIndexInformerOptions<TestPod> { Indexers = indexers }));
        Assert.Equal("Indexers", error.ParamName);
        Assert.Contains("SharedIndexInformerOptions.Indexers has an empty name or a null index function", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Null_arguments_are_rejected_naming_the_parameter()
    {
        Assert.Equal("listWatch", Assert.Throws<ArgumentNullException>(() => SharedIndexInformer.Create<TestPod>(null!)).ParamName);

        var informer = SharedIndexInformer.Create(new FakeListWatch());
        Assert.Equal("handler", Assert.Throws<ArgumentNullException>(() => informer.AddEventHandler(null!)).ParamName);
        Assert.Equal("registration", Assert.Throws<ArgumentNullException>(() => informer.RemoveEventHandler(null!)).ParamName);

        var foreign = SharedIndexInformer.Create(new FakeListWatch()).AddEventHandler(new ChannelHandler());
        var error = Assert.Throws<ArgumentException>(() => informer.RemoveEventHandler(foreign));
        Assert.Equal("registration", error.ParamName);
        Assert.Contains("does not belong to this informer", error.Message, StringComparison.Ordinal);
    }

    // ---- names, metrics and accessors ------------------------------------------------------------------------

    [Fact]
    public async Task Without_a_name_the_informer_is_called_after_its_group_resource_in_messages()
    {
        await using var h = new InformerHarness();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => h.Informer.RunAsync(CancellationToken.None));
        Assert.Equal($"informer {GroupVersionResource.Pods.GroupResource} was already started; an informer runs once.", error.Message);
    }

    [Fact]
    public async Task A_named_informer_uses_its_name_in_messages()
    {
        var name = "named-" + Guid.NewGuid().ToString("N");
        await using var h = new InformerHarness(o => o with { Name = name });
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => h.Informer.RunAsync(CancellationToken.None));
        Assert.Equal($"{name} was already started; an informer runs once.", error.Message);
    }

    [Fact]
    public async Task A_named_informer_exports_its_store_resource_version_until_it_stops()
    {
        using var meters = new TestMeterFactory();
        using var metrics = new MetricCollector(meters);
        var name = "edge-" + Guid.NewGuid().ToString("N");
        var h = new InformerHarness(o => o with { Name = name, MeterFactory = meters });
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "a", "1")]));
        await h.Informer.WaitForSyncAsync().WaitAsync(Guard);
        Assert.Equal(10, metrics.Observe(InformerMetrics.StoreResourceVersionInstrument, name));

        // Stopping releases the metrics: the gauge no longer reports this informer.
        await h.DisposeAsync();
        Assert.True(h.Run!.IsCompletedSuccessfully);
        Assert.Null(metrics.Observe(InformerMetrics.StoreResourceVersionInstrument, name));
    }

    [Fact]
    public async Task An_unnamed_informer_exports_no_metrics()
    {
        using var meters = new TestMeterFactory();
        using var metrics = new MetricCollector(meters);
        await using var h = new InformerHarness(o => o with { MeterFactory = meters });
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "a", "1")]));
        await h.Informer.WaitForSyncAsync().WaitAsync(Guard);
        await h.Events.NextAsync();
        metrics.Observe(InformerMetrics.StoreResourceVersionInstrument, "unused");
        Assert.Empty(metrics.All);
        Assert.Empty(metrics.Instruments);
    }

    [Fact]
    public void The_namespace_index_is_always_there_even_without_indexers()
    {
        var informer = SharedIndexInformer.Create(new FakeListWatch(), new SharedIndexInformerOptions<TestPod> { Resource = GroupVersionResource.Pods });
        informer.Indexer.Add(Pod("ns", "a", "1"));
        informer.Indexer.Add(Pod("other", "b", "2"));
        Assert.Equal("a", Assert.Single(informer.Indexer.ByIndex(Indexes.Namespace, "ns")).Metadata!.Name);
    }

    [Fact]
    public void A_custom_metadata_accessor_feeds_the_store_and_its_namespace_index()
    {
        var accessor = ObjectMetadataAccessor.Create<TestPod>(
            getNamespace: _ => "from-accessor",
            getName: p => p.Metadata?.Name,
            getUid: p => p.Metadata?.Uid,
            getResourceVersion: p => p.Metadata?.ResourceVersion);
        var informer = SharedIndexInformer.Create(new FakeListWatch(), new SharedIndexInformerOptions<TestPod> { MetadataAccessor = accessor, KeyFunction = p => p.Metadata!.Name! });
        informer.Indexer.Add(Pod("ns", "a", "1"));
        Assert.Single(informer.Indexer.ByIndex(Indexes.Namespace, "from-accessor"));
        Assert.Empty(informer.Indexer.ByIndex(Indexes.Namespace, "ns"));
    }

    [Fact]
    public async Task An_update_from_an_object_without_metadata_is_a_real_update_even_with_equal_resource_versions()
    {
        // The custom accessor says the listed copy has no metadata: the same-RV update that follows is not a resync and
        // reaches a handler without resync (it would be filtered as a sync if either side lacking metadata were ignored).
        var accessor = ObjectMetadataAccessor.Create<TestPod>(
            getNamespace: p => p.Metadata?.NamespaceProperty,
            getName: p => p.Metadata?.Name,
            getUid: p => p.Metadata?.Uid,
            getResourceVersion: p => p.Metadata?.ResourceVersion,
            hasMetadata: p => p.Metadata is not null && p.Payload != "nometa");
        await using var h = new InformerHarness(o => o with
        {
            MetadataAccessor = accessor,
            KeyFunction = p => p.Metadata!.NamespaceProperty + "/" + p.Metadata.Name,
            Indexers = null,
        });
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "a", "1", payload: "nometa")]));
        Assert.Equal("add ns/a@1 initial", await h.Events.NextAsync());
        var watch = await h.Source.NextWatchAsync();
        watch.Modified(Pod("ns", "a", "1"));
        watch.Added(Pod("ns", "b", "12"));
        Assert.Equal(["update ns/a 1->1", "add ns/b@12"], await h.Events.NextAsync(2));
    }

    [Fact]
    public async Task LastSyncResourceVersion_is_empty_before_start_and_the_listed_version_after()
    {
        await using var h = new InformerHarness(start: false);
        Assert.Equal(string.Empty, h.Informer.LastSyncResourceVersion);
        h.Start();
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", []));
        await h.Informer.WaitForSyncAsync().WaitAsync(Guard);
        Assert.Equal("10", h.Informer.LastSyncResourceVersion);
    }

    [Fact]
    public async Task The_transform_is_applied_to_what_enters_the_store()
    {
        await using var h = new InformerHarness(o => o with { Transform = p => { p.Payload = "transformed"; return p; } });
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "a", "1")]));
        await h.Informer.WaitForSyncAsync().WaitAsync(Guard);
        Assert.True(h.Informer.Indexer.TryGetByKey("ns/a", out var stored));
        Assert.Equal("transformed", stored!.Payload);
    }

    // ---- logging ---------------------------------------------------------------------------------------------

    [Fact]
    public async Task Handler_failures_are_logged_with_the_informer_the_handler_type_and_the_method()
    {
        var logs = new RecordingLoggerFactory();
        var name = "logged-" + Guid.NewGuid().ToString("N");
        await using var h = new InformerHarness(o => o with { Name = name, LoggerFactory = logs });
        var handler = new ThrowingHandler();
        h.Informer.AddEventHandler(handler);
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "a", "1")]));
        var watch = await h.Source.NextWatchAsync();
        watch.Modified(Pod("ns", "a", "2"));
        watch.Deleted(Pod("ns", "a", "3"));
        watch.Added(Pod("ns", "marker", "4"));
        await handler.Marker.Task.WaitAsync(Guard); // the same handler task logged the three failures before

        Assert.Contains("KubeConsistency.Informers.SharedIndexInformer", logs.Categories);
        var failures = logs.Collector.GetSnapshot().Where(e => e.Id.Id == HandlerFailedEvent).Select(e => e.Message).ToList();
        Assert.Equal(
            [
                $"{name}: event handler ThrowingHandler threw from OnAdd; the notification is skipped",
                $"{name}: event handler ThrowingHandler threw from OnUpdate; the notification is skipped",
                $"{name}: event handler ThrowingHandler threw from OnDelete; the notification is skipped",
            ],
            failures);
        Assert.Equal(3, h.Informer.HandlerFailures);
    }

    [Fact]
    public async Task A_delta_whose_processing_fails_is_logged_and_dropped_and_processing_goes_on()
    {
        var logs = new RecordingLoggerFactory();
        await using var h = new InformerHarness(o => o with
        {
            LoggerFactory = logs,
            BatchProcessing = false, // one delta per pop, so the bad one fails alone
            Indexers = new Dictionary<string, IndexFunc<TestPod>>
            {
                ["boom"] = p => p.Metadata!.Name == "bad" ? throw new InvalidOperationException("index bug") : [],
            },
        });
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "a", "1")]));
        Assert.Equal("add ns/a@1 initial", await h.Events.NextAsync());
        var watch = await h.Source.NextWatchAsync();
        watch.Added(Pod("ns", "bad", "11"));
        watch.Added(Pod("ns", "c", "12"));
        Assert.Equal("add ns/c@12", await h.Events.NextAsync()); // the bad delta reached no handler; the next one did

        var failure = Assert.Single(logs.Collector.GetSnapshot(), e => e.Id.Id == ProcessingFailedEvent);
        Assert.Equal(LogLevel.Error, failure.Level);
        Assert.StartsWith($"informer {GroupVersionResource.Pods.GroupResource}: processing popped deltas failed", failure.Message, StringComparison.Ordinal);
        Assert.False(h.Run!.IsCompleted);
    }

    // ---- resync periods --------------------------------------------------------------------------------------

    [Fact]
    public void Before_start_each_handler_keeps_its_own_period_and_the_shortest_becomes_the_check_period()
    {
        var informer = SharedIndexInformer.Create(new FakeListWatch(), new SharedIndexInformerOptions<TestPod> { DefaultResyncPeriod = TimeSpan.FromSeconds(10) });
        var byDefault = Listener(informer.AddEventHandler(new ChannelHandler()));
        var longer = Listener(informer.AddEventHandler(new ChannelHandler(), TimeSpan.FromSeconds(30)));
        Assert.Equal(TimeSpan.FromSeconds(30), longer.ResyncPeriod);
        Assert.Equal(TimeSpan.FromSeconds(10), byDefault.ResyncPeriod); // a longer handler does not raise the check period

        var none = Listener(informer.AddEventHandler(new ChannelHandler(), TimeSpan.Zero));
        Assert.Equal(TimeSpan.Zero, none.ResyncPeriod);

        var shorter = Listener(informer.AddEventHandler(new ChannelHandler(), TimeSpan.FromSeconds(4)));
        Assert.Equal(TimeSpan.FromSeconds(4), shorter.ResyncPeriod);
        Assert.Equal(TimeSpan.FromSeconds(10), byDefault.ResyncPeriod); // a shorter check period never lowers a handler's own
        Assert.Equal(TimeSpan.FromSeconds(30), longer.ResyncPeriod);
        Assert.Equal(TimeSpan.Zero, none.ResyncPeriod);
    }

    [Fact]
    public void A_resync_period_below_one_second_is_raised_to_one_second()
    {
        var informer = SharedIndexInformer.Create(new FakeListWatch(), new SharedIndexInformerOptions<TestPod>());
        var listener = Listener(informer.AddEventHandler(new ChannelHandler(), TimeSpan.FromMilliseconds(100)));
        Assert.Equal(TimeSpan.FromSeconds(1), listener.RequestedResyncPeriod);
        Assert.Equal(TimeSpan.FromSeconds(1), listener.ResyncPeriod);

        var exactlyOne = Listener(informer.AddEventHandler(new ChannelHandler(), TimeSpan.FromSeconds(1)));
        Assert.Equal(TimeSpan.FromSeconds(1), exactlyOne.ResyncPeriod);
    }

    [Fact]
    public async Task After_start_a_period_below_the_check_period_is_raised_and_logged_an_equal_or_longer_one_is_kept()
    {
        var logs = new RecordingLoggerFactory();
        await using var h = new InformerHarness(o => o with { DefaultResyncPeriod = TimeSpan.FromSeconds(10), LoggerFactory = logs });
        var below = Listener(h.Informer.AddEventHandler(new ThrowingHandler(), TimeSpan.FromSeconds(5)));
        var raised = Assert.Single(logs.Collector.GetSnapshot(), e => e.Id.Id == ResyncPeriodRaisedEvent);
        Assert.Contains("handler ThrowingHandler", raised.Message, StringComparison.Ordinal);
        Assert.StartsWith($"informer {GroupVersionResource.Pods.GroupResource}: resync period 00:00:05", raised.Message, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(10), below.ResyncPeriod);

        var equal = Listener(h.Informer.AddEventHandler(new ChannelHandler(), TimeSpan.FromSeconds(10)));
        var longer = Listener(h.Informer.AddEventHandler(new ChannelHandler(), TimeSpan.FromSeconds(20)));
        Assert.Equal(TimeSpan.FromSeconds(10), equal.ResyncPeriod);
        Assert.Equal(TimeSpan.FromSeconds(20), longer.ResyncPeriod);
        Assert.Single(logs.Collector.GetSnapshot(), e => e.Id.Id == ResyncPeriodRaisedEvent);
    }

    [Fact]
    public async Task After_start_with_resync_disabled_a_handlers_resync_stays_disabled_silently()
    {
        // client-go: a handler added after start cannot turn on resync the informer does not check for.
        var logs = new RecordingLoggerFactory();
        await using var h = new InformerHarness(o => o with { DefaultResyncPeriod = TimeSpan.Zero, LoggerFactory = logs });
        var listener = Listener(h.Informer.AddEventHandler(new ChannelHandler(), TimeSpan.FromSeconds(5)));
        Assert.Equal(TimeSpan.Zero, listener.ResyncPeriod);
        Assert.Equal(TimeSpan.FromSeconds(5), listener.RequestedResyncPeriod);
        Assert.DoesNotContain(logs.Collector.GetSnapshot(), e => e.Id.Id == ResyncPeriodRaisedEvent);
    }

    [Fact]
    public void A_new_handler_is_first_due_one_period_after_it_was_added()
    {
        var time = new ManualTimeProvider();
        var informer = SharedIndexInformer.Create(new FakeListWatch(), new SharedIndexInformerOptions<TestPod> { TimeProvider = time, DefaultResyncPeriod = TimeSpan.FromSeconds(20) });
        var added = time.GetUtcNow();
        var listener = Listener(informer.AddEventHandler(new ChannelHandler()));
        Assert.False(listener.ShouldResync(added));
        Assert.False(listener.ShouldResync(added + TimeSpan.FromSeconds(20) - TimeSpan.FromTicks(1)));
        Assert.True(listener.ShouldResync(added + TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task Resyncs_reach_each_handler_only_when_its_own_period_is_due()
    {
        // Check period 10 s (the default handler), a second handler every 20 s: the 20 s handler is skipped on the 1st
        // and 3rd check and resynced on the 2nd and 4th. A watch update after each check fixes where it lands.
        var period = TimeSpan.FromSeconds(10);
        await using var h = new InformerHarness(o => o with { DefaultResyncPeriod = period, MinWatchTimeout = TimeSpan.FromHours(1), WatchProgressTimeout = TimeSpan.FromHours(1) }, start: false);
        var slow = new ChannelHandler();
        h.Informer.AddEventHandler(slow, TimeSpan.FromSeconds(20));
        h.Start();
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "a", "1")]));
        var watch = await h.Source.NextWatchAsync();
        var everyCheck = new List<string> { await h.Events.NextAsync() };
        for (var tick = 1; tick <= 4; tick++)
        {
            await h.Time.WaitForTimerDueInAsync(period).WaitAsync(Guard);
            h.Time.Advance(period);
            await h.Time.WaitForTimerDueInAsync(period).WaitAsync(Guard); // the check ran and queued its resync, if any
            watch.Modified(Pod("ns", "a", (tick + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            everyCheck.AddRange(await h.Events.NextAsync(2)); // this round is processed before the next check
        }

        Assert.Equal(
            ["add ns/a@1 initial", "update ns/a 1->1", "update ns/a 1->2", "update ns/a 2->2", "update ns/a 2->3", "update ns/a 3->3", "update ns/a 3->4", "update ns/a 4->4", "update ns/a 4->5"],
            everyCheck);
        Assert.Equal(
            ["add ns/a@1 initial", "update ns/a 1->2", "update ns/a 2->2", "update ns/a 2->3", "update ns/a 3->4", "update ns/a 4->4", "update ns/a 4->5"],
            await slow.NextAsync(7));
    }

    [Fact]
    public async Task A_check_with_no_handler_due_and_a_removed_handler_trigger_no_resync()
    {
        // Check period 10 s, the only live resyncing handler every 20 s, a removed 10 s handler, the harness handler without
        // resync: the first check finds nothing due, so the informer never re-reads its objects; the second resyncs the
        // 20 s handler.
        var calls = new ConcurrentDictionary<TestPod, int>(ReferenceEqualityComparer.Instance);
        var accessor = ObjectMetadataAccessor.Create<TestPod>(
            getNamespace: p => p.Metadata?.NamespaceProperty,
            getName: p => p.Metadata?.Name,
            getUid: p => p.Metadata?.Uid,
            getResourceVersion: p => p.Metadata?.ResourceVersion,
            hasMetadata: p =>
            {
                calls.AddOrUpdate(p, 1, (_, n) => n + 1);
                return p.Metadata is not null;
            });
        var period = TimeSpan.FromSeconds(10);
        await using var h = new InformerHarness(
            o => o with { MetadataAccessor = accessor, Indexers = null, DefaultResyncPeriod = TimeSpan.Zero, MinWatchTimeout = TimeSpan.FromHours(1), WatchProgressTimeout = TimeSpan.FromHours(1) },
            start: false);

        // The first resyncing handler sets the check period to 10 s; removing it does not change that.
        var removed = h.Informer.AddEventHandler(new ChannelHandler(), period);
        h.Informer.RemoveEventHandler(removed);
        var resyncing = new ChannelHandler();
        h.Informer.AddEventHandler(resyncing, TimeSpan.FromSeconds(20));
        var quiet = new ChannelHandler();
        h.Informer.AddEventHandler(quiet, TimeSpan.Zero);

        h.Start();
        var a = Pod("ns", "a", "1");
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", [a]));
        Assert.Equal("add ns/a@1 initial", await quiet.NextAsync());
        Assert.Equal("add ns/a@1 initial", await resyncing.NextAsync());
        var watch = await h.Source.NextWatchAsync();
        var before = calls.GetValueOrDefault(a);

        await h.Time.WaitForTimerDueInAsync(period).WaitAsync(Guard);
        h.Time.Advance(period);
        await h.Time.WaitForTimerDueInAsync(period).WaitAsync(Guard);
        watch.Added(Pod("ns", "b", "11"));
        Assert.Equal("add ns/b@11", await quiet.NextAsync());
        Assert.Equal(before, calls.GetValueOrDefault(a)); // nothing resynced: a was not looked at again

        h.Time.Advance(period);
        Assert.Equal(["update ns/a 1->1", "update ns/b 11->11"], (await resyncing.NextAsync(3)).Skip(1).Order());
        Assert.True(calls.GetValueOrDefault(a) > before);
    }

    // ---- waiting for a store resource version ----------------------------------------------------------------

    [Fact]
    public void An_ill_formed_resource_version_is_rejected()
    {
        var informer = SharedIndexInformer.Create(new FakeListWatch(), new SharedIndexInformerOptions<TestPod>());
        // Thrown at the call, not through the returned task.
        Assert.Throws<InvalidResourceVersionException>(() => { _ = informer.WaitForStoreResourceVersionAsync("abc"); });
        Assert.Throws<InvalidResourceVersionException>(() => { _ = informer.WaitForStoreResourceVersionAsync(""); });
    }

    [Fact]
    public void A_version_the_store_already_has_completes_at_once_without_registering_a_waiter()
    {
        var informer = Impl(SharedIndexInformer.Create(new FakeListWatch(), new SharedIndexInformerOptions<TestPod>()));
        informer.Indexer.Bookmark("10");
        var registrations = 0;
        informer.TestHookAfterFirstCheck = () => registrations++;
        Assert.True(informer.WaitForStoreResourceVersionAsync("10").IsCompletedSuccessfully);
        Assert.True(informer.WaitForStoreResourceVersionAsync("7").IsCompletedSuccessfully);
        Assert.Equal(0, registrations);
        Assert.Equal(0, PendingWaiters(informer));
    }

    [Fact]
    public void A_version_reached_while_the_wait_registers_leaves_no_waiter_behind()
    {
        var informer = Impl(SharedIndexInformer.Create(new FakeListWatch(), new SharedIndexInformerOptions<TestPod>()));
        informer.Indexer.Bookmark("5");
        informer.TestHookAfterFirstCheck = () => informer.Indexer.Bookmark("10"); // no release: the second look finds it
        Assert.True(informer.WaitForStoreResourceVersionAsync("10").IsCompletedSuccessfully);
        Assert.Equal(0, PendingWaiters(informer));
    }

    [Fact]
    public async Task A_cancelled_wait_throws_and_is_forgotten_and_a_later_wait_still_completes()
    {
        var informer = Impl(SharedIndexInformer.Create(new FakeListWatch(), new SharedIndexInformerOptions<TestPod>()));
        informer.Indexer.Bookmark("5");
        using var cts = new CancellationTokenSource();
        var cancelled = informer.WaitForStoreResourceVersionAsync("20", cts.Token);
        Assert.Equal(1, PendingWaiters(informer));
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(Guard));
        Assert.Equal(0, PendingWaiters(informer));

        var later = informer.WaitForStoreResourceVersionAsync("20");
        var beyond = informer.WaitForStoreResourceVersionAsync("30");
        Assert.Equal(2, PendingWaiters(informer));
        informer.Indexer.Bookmark("20");
        informer.ReleaseResourceVersionWaiters();
        await later.WaitAsync(Guard);
        Assert.False(beyond.IsCompleted);
        Assert.Equal(1, PendingWaiters(informer)); // released waiters are removed, the others stay
        informer.Indexer.Bookmark("30");
        informer.ReleaseResourceVersionWaiters();
        await beyond.WaitAsync(Guard);
        Assert.Equal(0, PendingWaiters(informer));
    }

    [Fact]
    public async Task A_running_informer_releases_a_waiter_when_a_single_delta_brings_the_store_to_its_version()
    {
        await using var h = new InformerHarness();
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", []));
        await h.Informer.WaitForSyncAsync().WaitAsync(Guard);
        var watch = await h.Source.NextWatchAsync();
        var wait = h.Informer.WaitForStoreResourceVersionAsync("11");
        Assert.False(wait.IsCompleted);
        watch.Added(Pod("ns", "a", "11"));
        await wait.WaitAsync(Guard);
        Assert.Equal("11", h.Informer.Indexer.LastStoreSyncResourceVersion);
    }

    [Fact]
    public async Task A_running_informer_releases_a_waiter_when_a_batch_brings_the_store_to_its_version()
    {
        // The consumer is held inside one delta while two more arrive; they are then applied as one batch.
        var gate = new SemaphoreSlim(0);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var h = new InformerHarness(o => o with
        {
            BatchProcessing = true,
            AtomicFifo = true,
            UnlockWhileProcessingFifo = true,
            Indexers = new Dictionary<string, IndexFunc<TestPod>>
            {
                ["hold"] = p =>
                {
                    if (p.Metadata!.Name == "blocker")
                    {
                        entered.TrySetResult();
                        gate.Wait(Guard);
                    }

                    return [];
                },
            },
        });
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", []));
        await h.Informer.WaitForSyncAsync().WaitAsync(Guard);
        var watch = await h.Source.NextWatchAsync();
        watch.Added(Pod("ns", "blocker", "11"));
        await entered.Task.WaitAsync(Guard);
        var wait = h.Informer.WaitForStoreResourceVersionAsync("13");
        watch.Added(Pod("ns", "a", "12"));
        watch.Added(Pod("ns", "b", "13"));
        Assert.True(SpinWait.SpinUntil(() => h.Informer.LastSyncResourceVersion == "13", Guard)); // both are queued
        gate.Release();
        await wait.WaitAsync(Guard);
        Assert.Equal(["add ns/blocker@11", "add ns/a@12", "add ns/b@13"], await h.Events.NextAsync(3));
    }

    // ---- registration sync -----------------------------------------------------------------------------------

    [Fact]
    public async Task A_handler_registered_before_an_empty_list_syncs_with_the_informer()
    {
        await using var h = new InformerHarness(start: false);
        var registration = h.Informer.AddEventHandler(new ChannelHandler());
        Assert.False(registration.HasSynced);
        h.Start();
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", []));
        await registration.Synced.WaitAsync(Guard);
    }

    [Fact]
    public async Task A_handler_added_late_to_an_empty_synced_informer_is_synced_at_once()
    {
        await using var h = new InformerHarness();
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", []));
        await h.Informer.WaitForSyncAsync().WaitAsync(Guard);
        Assert.True(h.Informer.AddEventHandler(new ChannelHandler()).HasSynced);
    }

    [Fact]
    public async Task A_registration_syncs_after_its_initial_adds_without_waiting_for_later_updates_and_deletes()
    {
        await using var h = new InformerHarness(start: false);
        var slow = new BlockingHandler();
        var slowRegistration = h.Informer.AddEventHandler(slow);
        var after = new ChannelHandler(); // registered after the slow one: when it has a notification, so has the slow one
        h.Informer.AddEventHandler(after);
        h.Start();
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "a", "1")]));
        await slow.Entered.Task.WaitAsync(Guard);
        var watch = await h.Source.NextWatchAsync();
        watch.Modified(Pod("ns", "a", "2"));
        watch.Deleted(Pod("ns", "a", "3"));
        Assert.Equal(["add ns/a@1 initial", "update ns/a 1->2", "delete ns/a@3"], await after.NextAsync(3));
        Assert.False(slowRegistration.HasSynced);

        slow.Gate.Release(); // only the initial add returns; the update and the delete are still queued for it
        await slowRegistration.Synced.WaitAsync(Guard);
        slow.Gate.Release(2);
    }

    // ---- removal and quiescence ------------------------------------------------------------------------------

    [Fact]
    public async Task Removing_a_handler_drops_what_is_buffered_for_it_and_ends_its_task_only()
    {
        await using var h = new InformerHarness(start: false);
        var slow = new BlockingHandler();
        var slowRegistration = h.Informer.AddEventHandler(slow);
        var idle = new ChannelHandler();
        var idleRegistration = h.Informer.AddEventHandler(idle);
        h.Start();
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "a", "1"), Pod("ns", "b", "2")]));
        await slow.Entered.Task.WaitAsync(Guard);
        await idle.NextAsync(2); // the second add is buffered for the slow handler too

        h.Informer.RemoveEventHandler(slowRegistration);
        h.Informer.RemoveEventHandler(idleRegistration);
        slow.Gate.Release(10);
        await Listener(slowRegistration).Completion.WaitAsync(Guard);
        await Listener(idleRegistration).Completion.WaitAsync(Guard);
        Assert.Equal(1, Volatile.Read(ref slow.Calls)); // the call in progress finished, the buffered add was dropped

        // The other handler still receives.
        var watch = await h.Source.NextWatchAsync();
        watch.Added(Pod("ns", "c", "11"));
        Assert.Equal("add ns/c@11", (await h.Events.NextAsync(3))[^1]);
        Assert.False(idle.TryNext(out _));
    }

    [Fact]
    public async Task The_informer_is_quiescent_only_when_its_queue_is_idle_and_every_handler_has_caught_up()
    {
        var gate = new SemaphoreSlim(0);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var h = new InformerHarness(
            o => o with
            {
                Indexers = new Dictionary<string, IndexFunc<TestPod>>
                {
                    ["hold"] = p =>
                    {
                        if (p.Metadata!.Name == "blocker")
                        {
                            entered.TrySetResult();
                            gate.Wait(Guard);
                        }

                        return [];
                    },
                },
            },
            start: false);
        var informer = Impl(h.Informer);
        Assert.True(informer.IsQuiescent); // not started: no queue, nothing buffered

        h.Start();
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "a", "1")]));
        await h.Events.NextAsync();
        Assert.True(SpinWait.SpinUntil(() => informer.IsQuiescent, Guard));

        // The queue is busy: not quiescent although every handler is idle.
        var watch = await h.Source.NextWatchAsync();
        watch.Added(Pod("ns", "blocker", "11"));
        await entered.Task.WaitAsync(Guard);
        Assert.False(informer.IsQuiescent);
        gate.Release();
        await h.Events.NextAsync();
        Assert.True(SpinWait.SpinUntil(() => informer.IsQuiescent, Guard));

        // One handler busy, the other idle: not quiescent.
        var slow = new BlockingHandler();
        var fast = new ChannelHandler();
        var fastRegistration = h.Informer.AddEventHandler(fast);
        await fast.NextAsync(2);
        Assert.True(SpinWait.SpinUntil(() => Listener(fastRegistration).IsIdle, Guard));
        h.Informer.AddEventHandler(slow);
        await slow.Entered.Task.WaitAsync(Guard);
        Assert.False(informer.IsQuiescent);
        slow.Gate.Release(10);
        Assert.True(SpinWait.SpinUntil(() => informer.IsQuiescent, Guard));
        Assert.Equal(2, Volatile.Read(ref slow.Calls));
    }

    // ---- FIFO modes ------------------------------------------------------------------------------------------

    [Fact]
    public async Task Without_the_atomic_FIFO_a_relist_deletes_what_the_indexer_holds_and_the_list_lacks()
    {
        // Non-atomic mode computes relist deletions against the indexer (KnownObjects); unlocking while processing
        // is an atomic-only feature and is simply not used here.
        await using var h = new InformerHarness(o => o with { AtomicFifo = false, UnlockWhileProcessingFifo = true, BatchProcessing = false });
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "a", "1"), Pod("ns", "b", "2")]));
        Assert.Equal(["add ns/a@1 initial", "add ns/b@2 initial"], (await h.Events.NextAsync(2)).Order());
        var watch = await h.Source.NextWatchAsync();
        watch.Fail(new ResourceExpiredException(System.Net.HttpStatusCode.Gone, "Expired", "expired", null, null));
        await h.Time.WaitForTimerDueInAsync(TimeSpan.FromMilliseconds(800)).WaitAsync(Guard);
        h.Time.Advance(TimeSpan.FromMilliseconds(800));
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("20", [Pod("ns", "a", "1"), Pod("ns", "c", "5")]));
        Assert.Equal(["add ns/c@5", "delete-tombstone ns/b"], (await h.Events.NextAsync(2)).Order());
        Assert.Equal(["ns/a", "ns/c"], h.Informer.Indexer.ListKeys().Order());
    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 3)]
    public async Task Batch_processing_applies_an_initial_list_in_one_pop_single_processing_one_pop_per_item(bool batch, int pops)
    {
        using var meters = new TestMeterFactory();
        using var metrics = new MetricCollector(meters);
        var name = "pops-" + Guid.NewGuid().ToString("N");
        await using var h = new InformerHarness(o => o with { Name = name, MeterFactory = meters, AtomicFifo = false, UnlockWhileProcessingFifo = false, BatchProcessing = batch });
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "a", "1"), Pod("ns", "b", "2"), Pod("ns", "c", "3")]));
        await h.Informer.WaitForSyncAsync().WaitAsync(Guard);
        Assert.Equal(["ns/a", "ns/b", "ns/c"], h.Informer.Indexer.ListKeys().Order());
        var latencies = metrics.Of(InformerMetrics.ProcessingLatencyInstrument).Count(m => m.Tags.GetValueOrDefault("name") as string == name);
        Assert.Equal(pops, latencies);
        Assert.Equal(3, (await h.Events.NextAsync(3)).Count);
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    private static SharedIndexInformerImpl<TestPod> Impl(ISharedIndexInformer<TestPod> informer) => (SharedIndexInformerImpl<TestPod>)informer;

    private static ProcessorListener<TestPod> Listener(IEventHandlerRegistration registration) => (ProcessorListener<TestPod>)registration;

    /// <summary>White-box: the waiters still registered (abandoned or released waits must not accumulate).</summary>
    private static int PendingWaiters(SharedIndexInformerImpl<TestPod> informer)
    {
        var field = typeof(SharedIndexInformerImpl<TestPod>).GetField("_rvWaiters", BindingFlags.NonPublic | BindingFlags.Instance);
        Assert.NotNull(field);
        return ((ICollection)field.GetValue(informer)!).Count;
    }

    /// <summary>Throws from every callback except for the pod named <c>marker</c>, which it signals.</summary>
    private sealed class ThrowingHandler : IResourceEventHandler<TestPod>
    {
        public TaskCompletionSource Marker { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void OnAdd(TestPod obj, bool isInInitialList)
        {
            if (obj.Metadata?.Name == "marker")
            {
                Marker.TrySetResult();
                return;
            }

            throw new InvalidOperationException("add bug");
        }

        public void OnUpdate(TestPod oldObj, TestPod newObj) => throw new InvalidOperationException("update bug");

        public void OnDelete(object obj) => throw new InvalidOperationException("delete bug");
    }
}
