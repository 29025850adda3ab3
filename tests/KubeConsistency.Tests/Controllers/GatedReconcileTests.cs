using System.Threading.Channels;
using KubeConsistency.Cache;
using KubeConsistency.Consistency;
using KubeConsistency.Controllers;
using KubeConsistency.Testing;
using KubeConsistency.Tests.Controllers.WorkQueue;

namespace KubeConsistency.Tests.Controllers;

/// <summary>
/// <see cref="StalenessGate.Wrap{TOwner}"/>: the §8.1 pattern (gate first, record every write, clear on NotFound) around
/// any reconcile delegate, with kube-controller-manager's rate-limited requeue or Cluster API's fixed 100 ms
/// (upstream-after-1.36.md §2.2).
/// </summary>
public sealed class GatedReconcileTests : IDisposable
{
    private const string Key = "ns/web";
    private const string Instrument = "replicaset_controller.stale_sync_skips";
    private static readonly NamespacedName Owner = new("ns", "web");

    private readonly FakeRvGetter _pods = new("10");
    private readonly IIndexer<CtlReplicaSet> _replicaSets = Store.Create(new StoreOptions<CtlReplicaSet> { TrackResourceVersion = true });
    private readonly TestMeterFactory _meters = new();
    private readonly MetricCollector _metrics;
    private readonly ManualTimeProvider _time = new();
    private readonly StalenessGate _gate;

    public GatedReconcileTests()
    {
        _metrics = new MetricCollector(_meters);
        _replicaSets.Replace([ControllerTest.ReplicaSet("ns", "web", "uid-1")], "10");
        _gate = StalenessGate.Create(new StalenessGateOptions
        {
            ControllerName = "replicaset_controller",
            ConsistencyStore = ConsistencyStore.Create([new(GroupResource.Pods, _pods), new(GroupResource.ReplicaSets, _replicaSets)]),
            MeterFactory = _meters,
            TimeProvider = _time,
        });
    }

    public void Dispose()
    {
        _metrics.Dispose();
        _meters.Dispose();
    }

    [Fact]
    public async Task Section8_1_a_stale_sync_never_reaches_the_delegate_and_is_counted_and_requeued_rate_limited()
    {
        _gate.WroteAt(Owner, "uid-1", GroupResource.Pods, "20");
        var calls = 0;
        var reconcile = _gate.Wrap<CtlReplicaSet>(_replicaSets, (_, _) =>
        {
            calls++;
            return ValueTask.FromResult(ReconcileResult.Done);
        });

        var result = await reconcile(Key, CancellationToken.None);

        Assert.Equal(0, calls);
        Assert.Equal(ReconcileOutcome.StaleSyncSkipped, result.Outcome);
        Assert.Equal(TimeSpan.Zero, result.Delay);
        Assert.Equal((GroupResource.Pods, "10", "20"), (result.StaleCache!.GroupResource, result.StaleCache.ReadResourceVersion, result.StaleCache.WroteResourceVersion));
        var skip = Assert.Single(_metrics.Of(Instrument));
        Assert.Equal("pods", skip.Tags["resource"]);
    }

    [Fact]
    public async Task The_cluster_api_policy_requeues_a_stale_sync_after_a_fixed_delay()
    {
        _gate.WroteAt(Owner, "uid-1", GroupResource.Pods, "20");
        var reconcile = _gate.Wrap<CtlReplicaSet>(_replicaSets, static (_, _) => ValueTask.FromResult(ReconcileResult.Done), new GatedReconcileOptions { StaleSyncRequeue = StaleSyncRequeue.AfterDelay });

        var result = await reconcile(Key, CancellationToken.None);

        Assert.Equal(ReconcileOutcome.StaleSyncSkipped, result.Outcome);
        Assert.Equal(TimeSpan.FromMilliseconds(100), result.Delay);
        Assert.Contains("00:00:00.1", result.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(StaleSyncRequeue.RateLimited, 1)]
    [InlineData(StaleSyncRequeue.AfterDelay, 0)]
    public async Task The_host_requeues_a_stale_sync_by_the_chosen_policy(StaleSyncRequeue policy, int requeuesAfterSkip)
    {
        _gate.WroteAt(Owner, "uid-1", GroupResource.Pods, "20");
        var synced = Channel.CreateUnbounded<string>();
        var controller = Controller.Create(
            new ControllerOptions { Name = ControllerTest.UniqueName("gated"), TimeProvider = _time },
            _gate.Wrap<CtlReplicaSet>(_replicaSets, (context, _) =>
            {
                synced.Writer.TryWrite(context.OwnerUid);
                return ValueTask.FromResult(ReconcileResult.Done);
            }, new GatedReconcileOptions { StaleSyncRequeue = policy, StaleSyncRequeueDelay = TimeSpan.FromMilliseconds(250) }));
        using var stop = new CancellationTokenSource();
        var run = controller.RunAsync(stop.Token);
        controller.Queue.Add(Key);

        // Rate-limited: the first backoff step (5 ms) with one requeue counted; fixed: 250 ms, backoff forgotten.
        var due = policy == StaleSyncRequeue.RateLimited ? TimeSpan.FromMilliseconds(5) : TimeSpan.FromMilliseconds(250);
        await _time.WaitForTimerDueInAsync(due).WaitAsync(ControllerTest.Guard);
        Assert.Equal(requeuesAfterSkip, controller.Queue.NumRequeues(Key));
        Assert.False(synced.Reader.TryRead(out _));

        _pods.LastStoreSyncResourceVersion = "20";
        _time.Advance(due);
        Assert.Equal("uid-1", await synced.Reader.NextAsync());

        await stop.CancelAsync();
        await run.WaitAsync(ControllerTest.Guard);
    }

    [Fact]
    public async Task Section8_1_a_ready_sync_gets_the_cached_owner_and_its_writes_are_recorded_for_it()
    {
        WriteScope? during = null;
        var reconcile = _gate.Wrap<CtlReplicaSet>(_replicaSets, (context, _) =>
        {
            during = WriteScope.Current;
            Assert.Equal("web", context.Owner!.Metadata!.Name);
            Assert.Equal((Key, Owner, "uid-1"), (context.Key, context.Name, context.OwnerUid));
            Assert.True(context.RecordWrite(GroupResource.Pods, "30"));
            Assert.True(context.RecordWrite(GroupResource.ReplicaSets, new CtlReplicaSet { Metadata = new CtlMeta { ResourceVersion = "31" } }));
            Assert.False(context.RecordWrite(GroupResource.ReplicaSets, new CtlReplicaSet { Metadata = new CtlMeta() }));
            Assert.Equal(2, context.RecordedWrites);
            return ValueTask.FromResult(ReconcileResult.Done);
        });

        Assert.Equal(ReconcileResult.Done, await reconcile(Key, CancellationToken.None));

        // The sync ran inside a write scope for the owner (recording clients record into it), which ended with it.
        Assert.Equal((Owner, "uid-1"), (during!.Owner, during.OwnerUid));
        Assert.Null(WriteScope.Current);

        // The next sync waits for both writes.
        var stale = _gate.EnsureReady(Owner);
        Assert.NotNull(stale);
        _pods.LastStoreSyncResourceVersion = "30";
        Assert.Equal(GroupResource.ReplicaSets, _gate.EnsureReady(Owner)!.GroupResource);
        _replicaSets.Bookmark("31");
        Assert.Null(_gate.EnsureReady(Owner));
    }

    [Fact]
    public async Task Section8_1_step4_an_owner_gone_from_the_cache_is_cleared_and_the_delegate_runs_to_clean_up()
    {
        ReconcileContext<CtlReplicaSet>? seen = null;
        var reconcile = _gate.Wrap<CtlReplicaSet>(_replicaSets, (context, _) =>
        {
            seen = context;
            return ValueTask.FromResult(ReconcileResult.Done);
        });

        await reconcile("ns/gone", CancellationToken.None);

        Assert.NotNull(seen);
        Assert.Null(seen.Owner);
        Assert.Equal(string.Empty, seen.OwnerUid);

        // After the sync returned, its context records nothing more.
        Assert.False(seen.RecordWrite(GroupResource.Pods, "99"));
        Assert.Null(_gate.EnsureReady(new NamespacedName("ns", "gone")));
    }

    [Fact]
    public async Task A_throwing_delegate_keeps_the_writes_it_made_and_ends_its_scope()
    {
        var reconcile = _gate.Wrap<CtlReplicaSet>(_replicaSets, (context, _) =>
        {
            context.RecordWrite(GroupResource.Pods, "40");
            throw new InvalidOperationException("boom");
        });

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await reconcile(Key, CancellationToken.None));

        Assert.Null(WriteScope.Current);
        Assert.Equal("40", _gate.EnsureReady(Owner)!.WroteResourceVersion);
    }

    [Fact]
    public void Options_are_validated_when_the_delegate_is_wrapped()
    {
        static ValueTask<ReconcileResult> Done(ReconcileContext<CtlReplicaSet> c, CancellationToken t) => ValueTask.FromResult(ReconcileResult.Done);

        Assert.Throws<ArgumentOutOfRangeException>(() => _gate.Wrap<CtlReplicaSet>(_replicaSets, Done, new GatedReconcileOptions { StaleSyncRequeueDelay = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => _gate.Wrap<CtlReplicaSet>(_replicaSets, Done, new GatedReconcileOptions { StaleSyncRequeue = (StaleSyncRequeue)7 }));
        Assert.Throws<ArgumentNullException>(() => _gate.Wrap<CtlReplicaSet>(null!, Done));
        Assert.Throws<ArgumentNullException>(() => _gate.Wrap<CtlReplicaSet>(_replicaSets, null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => ReconcileResult.StaleSyncSkipped(new ConsistencyError("1", "2", GroupResource.Pods), TimeSpan.Zero));
    }
}
