using FsCheck;
using FsCheck.Fluent;
using KubeConsistency.Cache;
using KubeConsistency.Client;
using KubeConsistency.Consistency;
using KubeConsistency.Http;
using KubeConsistency.Informers;
using KubeConsistency.Testing;
using KubeConsistency.Tests.Controllers;
using KubeConsistency.Tests.Controllers.WorkQueue;

namespace KubeConsistency.Tests.Consistency;

/// <summary>
/// Read-your-writes reads (controller-runtime v0.25 semantics, docs/upstream-after-1.36.md §2.1, bounded by a default
/// timeout, §2.3 for deletes without a resource version) over a cache the test moves by hand.
/// </summary>
public sealed class ReadYourWritesTests : IDisposable
{
    private static readonly GroupResource Pods = GroupResource.Pods;
    private readonly ManualInformer _informer = new();
    private readonly ManualTimeProvider _time = new();
    private readonly TestMeterFactory _meters = new();
    private readonly MetricCollector _metrics;

    public ReadYourWritesTests() => _metrics = new MetricCollector(_meters);

    public void Dispose()
    {
        _metrics.Dispose();
        _meters.Dispose();
    }

    [Fact]
    public async Task Section2_1_a_get_after_a_write_waits_until_the_cache_has_the_written_version()
    {
        var reader = Reader();
        _informer.Apply(Pod("a", "uid-a", "5"));
        using (var barrier = reader.BeginWrite("ns/a"))
        {
            barrier.Written(Pod("a", "uid-a", "9"));
        }

        var read = reader.GetAsync("ns/a").AsTask();
        Assert.False(read.IsCompleted);
        _informer.Apply(Pod("b", "uid-b", "8"));
        Assert.False(read.IsCompleted);

        _informer.Apply(Pod("a", "uid-a", "9"));
        var result = await read.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(ReadSource.Cache, result.Source);
        Assert.Equal("9", result.Object!.Metadata!.ResourceVersion);
        Assert.Equal(0, reader.PendingWrites);
        Assert.Single(_metrics.Of("kubeconsistency.read_your_writes_wait_duration"));
    }

    [Fact]
    public async Task Section2_1_reads_of_other_keys_do_not_wait_and_a_list_waits_for_the_kind()
    {
        var reader = Reader();
        using (var barrier = reader.BeginWrite("ns/a"))
        {
            barrier.Written(Pod("a", "uid-a", "9"));
        }

        var other = await reader.GetAsync("ns/b").AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal((null, ReadSource.Cache), (other.Object, other.Source));

        var list = reader.ListAsync().AsTask();
        Assert.False(list.IsCompleted);
        _informer.Apply(Pod("a", "uid-a", "9"));
        Assert.Single((await list.WaitAsync(TimeSpan.FromSeconds(10))).Items);
    }

    [Fact]
    public async Task Section2_1_a_read_waits_for_a_write_in_flight_and_a_failed_write_releases_it()
    {
        var reader = Reader();
        var barrier = reader.BeginWrite("ns/a");
        var read = reader.GetAsync("ns/a").AsTask();
        Assert.False(read.IsCompleted);

        barrier.Dispose();

        Assert.Equal(ReadSource.Cache, (await read.WaitAsync(TimeSpan.FromSeconds(10))).Source);
        Assert.Equal(0, reader.PendingWrites);
    }

    [Fact]
    public async Task Section2_1_a_read_never_waits_for_a_write_that_began_after_it()
    {
        var reader = Reader();
        _informer.Apply(Pod("a", "uid-a", "5"));
        using var first = reader.BeginWrite("ns/a");
        var read = reader.GetAsync("ns/a").AsTask();

        // A later write to the same key: the read started before it, so it waits only for the first.
        using var later = reader.BeginWrite("ns/a");
        first.Written(Pod("a", "uid-a", "6"));
        _informer.Apply(Pod("a", "uid-a", "6"));

        Assert.Equal("6", (await read.WaitAsync(TimeSpan.FromSeconds(10))).Object!.Metadata!.ResourceVersion);
        Assert.Equal(1, reader.PendingWrites);
    }

    [Fact]
    public async Task Every_wait_ends_in_a_typed_counted_timeout_and_the_opt_out_reads_the_cache_as_it_is()
    {
        var reader = Reader();
        _informer.Apply(Pod("a", "uid-a", "5"));
        using (var barrier = reader.BeginWrite("ns/a"))
        {
            barrier.Written(Pod("a", "uid-a", "9"));
        }

        var read = reader.GetAsync("ns/a", new ReadOptions { Timeout = TimeSpan.FromSeconds(2) }).AsTask();
        await _time.WaitForTimerDueInAsync(TimeSpan.FromSeconds(2));
        _time.Advance(TimeSpan.FromSeconds(2));

        var error = await Assert.ThrowsAsync<ReadYourWritesTimeoutException>(() => read);
        Assert.Equal(("ns/a", "5", Pods), (error.Key, error.StoreResourceVersion, error.Resource));
        Assert.Contains("resourceVersion ≥ 9", error.Awaited, StringComparison.Ordinal);
        var timeout = Assert.Single(_metrics.Of("kubeconsistency.read_your_writes_timeouts"));
        Assert.Equal(("", "pods"), ((string)timeout.Tags["group"]!, (string)timeout.Tags["resource"]!));

        var unchecked_ = await reader.GetAsync("ns/a", ReadOptions.NoWait);
        Assert.Equal((ReadSource.CacheUnchecked, "5"), (unchecked_.Source, unchecked_.Object!.Metadata!.ResourceVersion));
        Assert.Equal(ReadSource.CacheUnchecked, (await reader.ListAsync(ReadOptions.NoWait)).Source);
    }

    [Fact]
    public async Task The_default_timeout_bounds_a_read_without_one_and_the_callers_token_still_cancels()
    {
        var reader = Reader();
        using (var barrier = reader.BeginWrite("ns/a"))
        {
            barrier.Written(Pod("a", "uid-a", "9"));
        }

        var read = reader.GetAsync("ns/a").AsTask();
        await _time.WaitForTimerDueInAsync(TimeSpan.FromSeconds(10));
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(TimeSpan.FromSeconds(10), (await Assert.ThrowsAsync<ReadYourWritesTimeoutException>(() => read)).Timeout);

        using var cancel = new CancellationTokenSource();
        var cancelled = reader.GetAsync("ns/a", cancellationToken: cancel.Token).AsTask();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Single(_metrics.Of("kubeconsistency.read_your_writes_timeouts"));
    }

    [Fact]
    public async Task Section2_3_a_delete_without_a_resource_version_is_observed_when_gone_replaced_or_terminating()
    {
        var reader = Reader();
        foreach (var observe in new Action[]
        {
            () => _informer.Remove("ns/a"),
            () => _informer.Apply(Pod("a", "uid-new", "20")),
            () => _informer.Apply(Pod("a", "uid-a", "21", deleting: true)),
        })
        {
            _informer.Apply(Pod("a", "uid-a", "10"));
            using (var barrier = reader.BeginWrite("ns/a"))
            {
                barrier.Deleted(new DeleteResult<CtlPod>(null));
            }

            var read = reader.GetAsync("ns/a").AsTask();
            Assert.False(read.IsCompleted);
            observe();
            await read.WaitAsync(TimeSpan.FromSeconds(10));
        }

        // With a resource version (an object behind finalizers, or a v1.38 Status) the read waits for it instead.
        using (var barrier = reader.BeginWrite("ns/a"))
        {
            barrier.Deleted(new DeleteResult<CtlPod>(null, "30"));
        }

        var byVersion = reader.GetAsync("ns/a").AsTask();
        _informer.Remove("ns/a");
        Assert.False(byVersion.IsCompleted);
        _informer.Bookmark("30");
        await byVersion.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Writes_to_objects_the_informer_does_not_watch_raise_no_barrier_and_are_counted()
    {
        var reader = Reader(o => new ReadYourWritesOptions<CtlPod> { Resource = o.Resource, Namespace = "ns", LabelSelector = LabelSelector.Parse("app=web"), TimeProvider = o.TimeProvider, MeterFactory = o.MeterFactory });
        using (var otherNamespace = reader.BeginWrite("elsewhere/a"))
        {
            otherNamespace.Written(Pod("a", "uid-a", "9", ns: "elsewhere", app: "web"));
        }

        using (var unselected = reader.BeginWrite("ns/b"))
        {
            unselected.Written(Pod("b", "uid-b", "9", app: "db"));
        }

        Assert.Equal(0, reader.PendingWrites);
        Assert.Equal(ReadSource.Cache, (await reader.GetAsync("ns/b").AsTask().WaitAsync(TimeSpan.FromSeconds(10))).Source);
        Assert.Equal(2, _metrics.Of("kubeconsistency.read_your_writes_unwatched_writes").Sum(m => m.Value));
    }

    /// <summary>
    /// Model-based (§2.1): for random interleavings of write begins, answers, cache applies and read starts, a read returns
    /// only once the cache has applied every write answered or begun before it started, and never waits on a write that
    /// began after it.
    /// </summary>
    [Fact]
    public void Section2_1_property_reads_see_every_earlier_write_and_wait_for_no_later_one()
    {
        var op = Gen.Choose(0, 3).SelectMany(kind => Gen.Choose(0, 2), (kind, key) => (Kind: kind, Key: key));
        Prop.ForAll(Arb.From(Gen.ListOf(op)), ops =>
        {
            var informer = new ManualInformer();
            var reader = ReadYourWritesReader<CtlPod>.Create(informer, new ReadYourWritesOptions<CtlPod> { Resource = Pods });
            var rv = 1L;
            var inFlight = new List<(WriteBarrier<CtlPod> Barrier, int Key, long Seq)>();
            var answered = new List<(int Key, long Rv, long Seq)>();
            var reads = new List<(Task<ReadResult<CtlPod>> Task, int Key, long Seq)>();
            var seq = 0L;
            var applied = 0L;
            foreach (var (kind, key) in ops)
            {
                switch (kind)
                {
                    case 0:
                        inFlight.Add((reader.BeginWrite("ns/p" + key), key, ++seq));
                        break;
                    case 1 when inFlight.Count > 0:
                        var w = inFlight[0];
                        inFlight.RemoveAt(0);
                        var version = ++rv;
                        w.Barrier.Written(Pod("p" + w.Key, "u" + w.Key, version.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                        answered.Add((w.Key, version, w.Seq));
                        break;
                    case 2 when answered.Count > 0:
                        var next = answered.Where(a => a.Rv > applied).OrderBy(a => a.Rv).FirstOrDefault();
                        if (next.Rv > 0)
                        {
                            applied = next.Rv;
                            informer.Apply(Pod("p" + next.Key, "u" + next.Key, next.Rv.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                        }

                        break;
                    default:
                        reads.Add((reader.GetAsync("ns/p" + key).AsTask(), key, seq));
                        break;
                }

                // The model: a read of key k started at sequence s may complete only when no write of k with seq ≤ s is in
                // flight and every answered one has been applied; it must complete once that holds.
                foreach (var r in reads)
                {
                    var mustWait = inFlight.Any(x => x.Key == r.Key && x.Seq <= r.Seq)
                        || answered.Any(a => a.Key == r.Key && a.Seq <= r.Seq && a.Rv > applied);
                    if (mustWait && r.Task.IsCompleted)
                    {
                        return false;
                    }

                    if (!mustWait && !r.Task.Wait(TimeSpan.FromSeconds(5)))
                    {
                        return false;
                    }
                }
            }

            return true;
        }).QuietCheckThrowOnFailure();
    }

    [Fact]
    public async Task Over_loopback_http_a_get_after_a_create_through_the_writer_waits_for_the_lagging_watch()
    {
        await using var server = await EmbeddedApiServer.StartAsync();
        using var connection = KubernetesConnection.ForServer(server.BaseAddress);
        var pods = connection.Resource(new ResourceClientOptions<CtlPod> { Resource = GroupVersionResource.Pods, Kind = "Pod", Namespace = "default" });
        var informer = SharedIndexInformer.Create(pods, new SharedIndexInformerOptions<CtlPod> { Resource = GroupVersionResource.Pods, AtomicFifo = true });
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var reader = ReadYourWritesReader<CtlPod>.Create(informer, new ReadYourWritesOptions<CtlPod> { Resource = Pods, Namespace = "default" }, pods);
        var writer = reader.Writer(pods);
        server.Faults.SetWatchDelay("", "pods", TimeSpan.FromMilliseconds(300));

        var created = await writer.CreateAsync(new CtlPod { Metadata = new CtlMeta { Name = "web" }, Spec = new CtlPodSpec { Containers = [new CtlContainer { Name = "c", Image = "i" }] } });
        var unchecked_ = await reader.GetAsync("default/web", ReadOptions.NoWait);
        var read = await reader.GetAsync("default/web");

        Assert.Null(unchecked_.Object);
        Assert.Equal(ReadSource.Cache, read.Source);
        Assert.Equal(created.Metadata!.ResourceVersion, read.Object!.Metadata!.ResourceVersion);

        // Deleted through the writer: the pod (no node) is removed at once and the answer carries the deletion's version.
        await writer.DeleteAsync("default", "web");
        Assert.False((await reader.GetAsync("default/web")).Found);

        // A wait that cannot end in time falls back to the server when asked.
        server.Faults.SetWatchDelay("", "pods", TimeSpan.FromSeconds(30));
        await writer.CreateAsync(new CtlPod { Metadata = new CtlMeta { Name = "late" }, Spec = new CtlPodSpec { Containers = [new CtlContainer { Name = "c", Image = "i" }] } });
        var live = await reader.GetAsync("default/late", new ReadOptions { Timeout = TimeSpan.FromMilliseconds(100), FallBackToServer = true });
        Assert.Equal((ReadSource.Server, "late"), (live.Source, live.Object!.Metadata!.Name));

        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private ReadYourWritesReader<CtlPod> Reader(Func<ReadYourWritesOptions<CtlPod>, ReadYourWritesOptions<CtlPod>>? configure = null)
    {
        var options = new ReadYourWritesOptions<CtlPod> { Resource = Pods, TimeProvider = _time, MeterFactory = _meters };
        return ReadYourWritesReader<CtlPod>.Create(_informer, configure?.Invoke(options) ?? options);
    }

    private static CtlPod Pod(string name, string uid, string rv, bool deleting = false, string ns = "ns", string? app = null) => new()
    {
        Metadata = new CtlMeta
        {
            NamespaceProperty = ns,
            Name = name,
            Uid = uid,
            ResourceVersion = rv,
            DeletionTimestamp = deleting ? new DateTime(2026, 12, 4, 0, 0, 0, DateTimeKind.Utc) : null,
            Labels = app is null ? null : new Dictionary<string, string> { ["app"] = app },
        },
    };

    /// <summary>An informer whose store the test moves: apply, remove and bookmark, each delivered to handlers at once.</summary>
    private sealed class ManualInformer : ISharedIndexInformer<CtlPod>
    {
        private readonly List<IResourceEventHandler<CtlPod>> _handlers = [];
        private readonly List<(string Rv, TaskCompletionSource Reached)> _waiters = [];

        public IIndexer<CtlPod> Indexer { get; } = Store.Create(new StoreOptions<CtlPod> { TrackResourceVersion = true });

        public GroupVersionResource Resource => GroupVersionResource.Pods;

        public bool HasSynced => true;

        public string LastSyncResourceVersion => Indexer.LastStoreSyncResourceVersion;

        public ReflectorStatistics Statistics => default;

        public long HandlerFailures => 0;

        public void Apply(CtlPod pod)
        {
            var existed = Indexer.TryGetByKey(ObjectKeys.MetaNamespaceKey(pod.Metadata!.NamespaceProperty, pod.Metadata.Name!), out var old);
            Indexer.Update(pod);
            foreach (var h in _handlers)
            {
                if (existed)
                {
                    h.OnUpdate(old!, pod);
                }
                else
                {
                    h.OnAdd(pod, false);
                }
            }

            Release();
        }

        public void Remove(string key)
        {
            if (Indexer.TryGetByKey(key, out var old))
            {
                Indexer.Delete(old);
                foreach (var h in _handlers)
                {
                    h.OnDelete(old);
                }
            }

            Release();
        }

        public void Bookmark(string rv)
        {
            Indexer.Bookmark(rv);
            Release();
        }

        public Task WaitForStoreResourceVersionAsync(string resourceVersion, CancellationToken cancellationToken = default)
        {
            lock (_waiters)
            {
                if (Reached(resourceVersion))
                {
                    return Task.CompletedTask;
                }

                var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiters.Add((resourceVersion, tcs));
                return tcs.Task.WaitAsync(cancellationToken);
            }
        }

        public Task WaitForSyncAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public IEventHandlerRegistration AddEventHandler(IResourceEventHandler<CtlPod> handler, TimeSpan? resyncPeriod = null)
        {
            _handlers.Add(handler);
            return new FakeRegistration();
        }

        public void RemoveEventHandler(IEventHandlerRegistration registration)
        {
        }

        public Task RunAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        private bool Reached(string rv) => ResourceVersion.TryCompare(Indexer.LastStoreSyncResourceVersion, rv, out var c) && c >= 0;

        private void Release()
        {
            lock (_waiters)
            {
                foreach (var w in _waiters.Where(w => Reached(w.Rv)).ToList())
                {
                    w.Reached.TrySetResult();
                    _waiters.Remove(w);
                }
            }
        }
    }
}
