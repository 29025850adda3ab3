using KubeConsistency.Consistency;
using KubeConsistency.Controllers;
using KubeConsistency.Testing;
using KubeConsistency.Tests.Controllers.WorkQueue;
using Microsoft.Extensions.Logging;

namespace KubeConsistency.Tests.Controllers;

/// <summary>The staleness gate: upstream-semantics.md §8.1 (pattern) and §8.6 (behavioural contract).</summary>
public sealed class StalenessGateTests : IDisposable
{
    private const string Instrument = "replicaset_controller.stale_sync_skips";
    private static readonly NamespacedName Owner = new("ns", "web");

    private readonly FakeRvGetter _pods = new("5");
    private readonly FakeRvGetter _replicaSets = new("5");
    private readonly TestMeterFactory _meters = new();
    private readonly MetricCollector _metrics;
    private readonly FakeLogger _logger = new();
    private readonly ManualTimeProvider _time = new();
    private readonly StalenessGate _gate;

    public StalenessGateTests()
    {
        _metrics = new MetricCollector(_meters);
        _gate = StalenessGate.Create(new StalenessGateOptions
        {
            ControllerName = "replicaset_controller",
            ConsistencyStore = ConsistencyStore.Create([new(GroupResource.Pods, _pods), new(GroupResource.ReplicaSets, _replicaSets)]),
            MeterFactory = _meters,
            Logger = _logger,
            TimeProvider = _time,
        });
    }

    public void Dispose()
    {
        _metrics.Dispose();
        _meters.Dispose();
    }

    [Fact]
    public void Section8_1_stale_owner_is_skipped_and_counted_with_the_stale_group_resource()
    {
        _gate.WroteAt(Owner, "uid-1", GroupResource.Pods, "10");

        var stale = _gate.EnsureReady(Owner);

        Assert.NotNull(stale);
        Assert.Equal((GroupResource.Pods, "5", "10"), (stale.GroupResource, stale.ReadResourceVersion, stale.WroteResourceVersion));
        Assert.Equal("{skip}", _metrics.Instruments[Instrument].Unit);
        var skip = Assert.Single(_metrics.Of(Instrument));
        Assert.Equal(1, skip.Value);
        Assert.Equal(string.Empty, skip.Tags["group"]);
        Assert.Equal("pods", skip.Tags["resource"]);

        // Every deferred sync counts once.
        Assert.NotNull(_gate.EnsureReady(Owner));
        Assert.Equal(2, _metrics.Of(Instrument).Sum(m => m.Value));
        Assert.Equal(ReconcileOutcome.StaleSyncSkipped, ReconcileResult.StaleSyncSkipped(stale).Outcome);
    }

    [Fact]
    public void Section8_6_once_the_cache_catches_up_the_sync_runs_and_the_record_is_gone()
    {
        _gate.WroteAt(Owner, "uid-1", GroupResource.Pods, "10");
        Assert.NotNull(_gate.EnsureReady(Owner));

        _pods.LastStoreSyncResourceVersion = "10";
        Assert.Null(_gate.EnsureReady(Owner));

        // The record went with the successful check (§7.3): a store that moves back does not block again.
        _pods.LastStoreSyncResourceVersion = "5";
        Assert.Null(_gate.EnsureReady(Owner));
        Assert.Single(_metrics.Of(Instrument));
    }

    [Fact]
    public void Section8_1_own_status_writes_are_labelled_with_their_group()
    {
        _gate.WroteAt(Owner, "uid-1", GroupResource.ReplicaSets, "7");

        Assert.NotNull(_gate.EnsureReady(Owner));

        var skip = Assert.Single(_metrics.Of(Instrument));
        Assert.Equal(("apps", "replicasets"), ((string)skip.Tags["group"]!, (string)skip.Tags["resource"]!));
    }

    [Fact]
    public void Section8_6_gating_is_per_owner()
    {
        _gate.WroteAt(Owner, "uid-1", GroupResource.Pods, "10");

        Assert.Null(_gate.EnsureReady(new NamespacedName("ns", "other")));
        Assert.Null(_gate.EnsureReady(new NamespacedName("other-ns", "web")));
        Assert.NotNull(_gate.EnsureReady(Owner));
    }

    [Fact]
    public void Section8_6_recreated_owner_survives_the_late_delete_of_the_old_uid()
    {
        // The old owner wrote at 10; the owner is recreated under the same name and its first write (20) replaces the record.
        _gate.WroteAt(Owner, "old-uid", GroupResource.Pods, "10");
        _gate.WroteAt(Owner, "new-uid", GroupResource.Pods, "20");
        _pods.LastStoreSyncResourceVersion = "15";
        Assert.Equal("20", _gate.EnsureReady(Owner)?.WroteResourceVersion);

        // The old owner's delete notification arrives late: its UID no longer matches, the new record stays.
        var deleted = _gate.OwnerDeleted<CtlReplicaSet>(ControllerTest.ReplicaSet("ns", "web", "old-uid"));
        Assert.Equal("old-uid", deleted?.Metadata?.Uid);
        Assert.NotNull(_gate.EnsureReady(Owner));

        // The new owner's delete, seen only as a tombstone after a relist, clears it.
        Assert.NotNull(_gate.OwnerDeleted<CtlReplicaSet>(new DeletedFinalStateUnknown<CtlReplicaSet>("ns/web", ControllerTest.ReplicaSet("ns", "web", "new-uid"))));
        Assert.Null(_gate.EnsureReady(Owner));
    }

    [Fact]
    public void Section8_1_step4_tombstone_without_state_clears_nothing_and_not_found_clears_unconditionally()
    {
        _gate.WroteAt(Owner, "uid-1", GroupResource.Pods, "10");

        Assert.Null(_gate.OwnerDeleted<CtlReplicaSet>(new DeletedFinalStateUnknown<CtlReplicaSet>("ns/web", null)));
        Assert.NotNull(_gate.EnsureReady(Owner));

        _gate.OwnerNotFound(Owner);
        Assert.Null(_gate.EnsureReady(Owner));
    }

    [Fact]
    public void Stale_log_lines_are_rate_limited_per_owner_and_report_the_suppressed_count()
    {
        var other = new NamespacedName("ns", "other");
        _gate.WroteAt(Owner, "uid-1", GroupResource.Pods, "10");
        _gate.WroteAt(other, "uid-2", GroupResource.Pods, "10");

        for (var i = 0; i < 5; i++)
        {
            Assert.NotNull(_gate.EnsureReady(Owner));
        }

        Assert.NotNull(_gate.EnsureReady(other));
        Assert.Equal(2, SkipLines().Count);

        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.NotNull(_gate.EnsureReady(Owner));
        Assert.Equal(2, SkipLines().Count);

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.NotNull(_gate.EnsureReady(Owner));
        var lines = SkipLines();
        Assert.Equal(3, lines.Count);
        Assert.Contains("0 similar messages", lines[0].Message, StringComparison.Ordinal);
        Assert.Contains("5 similar messages", lines[2].Message, StringComparison.Ordinal);
        Assert.Contains("ns/web", lines[2].Message, StringComparison.Ordinal);
        Assert.Contains("read resource version 5, wrote 10", lines[2].Message, StringComparison.Ordinal);

        // The metric counts every skip, logged or not.
        Assert.Equal(8, _metrics.Of(Instrument).Sum(m => m.Value));

        // Caught up within the interval: the bookkeeping stays until the interval passes, then goes with a summary.
        var gate = (RealStalenessGate)_gate;
        _pods.LastStoreSyncResourceVersion = "10";
        Assert.Null(_gate.EnsureReady(Owner));
        Assert.Equal(2, gate.LogStateCount);
        _gate.WroteAt(Owner, "uid-1", GroupResource.Pods, "11");
        _time.Advance(TimeSpan.FromSeconds(10));
        _pods.LastStoreSyncResourceVersion = "11";
        Assert.Null(_gate.EnsureReady(Owner));
        Assert.Equal(1, gate.LogStateCount);
        Assert.Contains(_logger.Collector.GetSnapshot(), e => e.Id.Id == 5102 && e.Message.Contains("after 7 skipped syncs", StringComparison.Ordinal));

        // Clearing drops the other owner's bookkeeping.
        _gate.OwnerNotFound(other);
        Assert.Equal(0, gate.LogStateCount);
    }

    [Fact]
    public void Noop_store_never_skips()
    {
        var gate = StalenessGate.Create(new StalenessGateOptions { ControllerName = "job_controller", ConsistencyStore = ConsistencyStore.Noop, MeterFactory = _meters });
        gate.WroteAt(Owner, "uid", GroupResource.Jobs, "100");

        Assert.Null(gate.EnsureReady(Owner));
        Assert.Equal("job_controller.stale_sync_skips", gate.SkipsInstrumentName);
    }

    [Theory]
    [InlineData("")]
    [InlineData("1controller")]
    [InlineData("replicaset-controller")]
    [InlineData("replicaset.controller")]
    public void Controller_name_must_be_a_metric_subsystem(string name)
    {
        var ex = Assert.Throws<ArgumentException>(() => StalenessGate.Create(new StalenessGateOptions { ControllerName = name, ConsistencyStore = ConsistencyStore.Noop }));
        Assert.Contains($"\"{name}\"", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RecordWrite_reads_the_returned_resource_version_and_skips_objects_without_one()
    {
        var pod = new CtlPod { Metadata = new CtlMeta { NamespaceProperty = "ns", Name = "web-abc", ResourceVersion = "42" } };
        Assert.True(_gate.RecordWrite(Owner, "uid-1", GroupResource.Pods, pod));
        Assert.Equal("42", _gate.EnsureReady(Owner)?.WroteResourceVersion);

        Assert.False(_gate.RecordWrite(new NamespacedName("ns", "x"), "uid-2", GroupResource.Pods, new CtlPod { Metadata = new CtlMeta() }));
        Assert.Null(_gate.EnsureReady(new NamespacedName("ns", "x")));
        Assert.Contains(_logger.Collector.GetSnapshot(), e => e.Level == LogLevel.Warning && e.Id.Id == 5104);
    }

    private List<FakeLogRecord> SkipLines() => [.. _logger.Collector.GetSnapshot().Where(e => e.Id.Id == 5101)];
}
