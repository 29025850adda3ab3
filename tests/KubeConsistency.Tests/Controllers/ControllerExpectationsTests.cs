using KubeConsistency.Controllers;
using KubeConsistency.Testing;
using KubeConsistency.Tests.Controllers.WorkQueue;
using Microsoft.Extensions.Logging;

namespace KubeConsistency.Tests.Controllers;

/// <summary>ControllerExpectations and UIDTrackingControllerExpectations of kube-controller-manager's controller_utils.go.</summary>
public sealed class ControllerExpectationsTests
{
    private const string Key = "ns/web";

    [Fact]
    public void Owners_without_expectations_are_satisfied()
    {
        var expectations = ControllerExpectations.Create(new ManualTimeProvider());

        Assert.True(expectations.SatisfiedExpectations(Key));
        Assert.False(expectations.TryGetExpectations(Key, out _, out _));

        // Observations without expectations are ignored (no entry is created).
        expectations.CreationObserved(Key);
        expectations.RaiseExpectations(Key, 1, 1);
        Assert.False(expectations.TryGetExpectations(Key, out _, out _));
    }

    [Fact]
    public void Expectations_are_met_once_every_add_and_delete_was_observed()
    {
        var expectations = ControllerExpectations.Create(new ManualTimeProvider());
        expectations.SetExpectations(Key, 2, 1);
        Assert.False(expectations.SatisfiedExpectations(Key));

        expectations.CreationObserved(Key);
        expectations.CreationObserved(Key);
        Assert.False(expectations.SatisfiedExpectations(Key));
        expectations.DeletionObserved(Key);
        Assert.True(expectations.SatisfiedExpectations(Key));
        Assert.True(expectations.TryGetExpectations(Key, out var add, out var del));
        Assert.Equal((0L, 0L), (add, del));

        // Extra observations go negative and stay satisfied.
        expectations.CreationObserved(Key);
        Assert.True(expectations.TryGetExpectations(Key, out add, out _));
        Assert.Equal(-1, add);
        Assert.True(expectations.SatisfiedExpectations(Key));

        // Raise and lower adjust both counters.
        expectations.RaiseExpectations(Key, 3, 2);
        Assert.True(expectations.TryGetExpectations(Key, out add, out del));
        Assert.Equal((2L, 2L), (add, del));
        expectations.LowerExpectations(Key, 2, 2);
        Assert.True(expectations.SatisfiedExpectations(Key));

        // Setting replaces; deleting forgets.
        expectations.ExpectCreations(Key, 4);
        Assert.True(expectations.TryGetExpectations(Key, out add, out del));
        Assert.Equal((4L, 0L), (add, del));
        expectations.ExpectDeletions(Key, 1);
        Assert.True(expectations.TryGetExpectations(Key, out add, out del));
        Assert.Equal((0L, 1L), (add, del));
        expectations.DeleteExpectations(Key);
        Assert.False(expectations.TryGetExpectations(Key, out _, out _));
        Assert.True(expectations.SatisfiedExpectations(Key));
    }

    [Fact]
    public void Unmet_expectations_expire_after_five_minutes()
    {
        var time = new ManualTimeProvider();
        var logger = new FakeLogger();
        var expectations = ControllerExpectations.Create(time, logger);
        Assert.Equal(TimeSpan.FromMinutes(5), ControllerExpectations.Timeout);
        expectations.ExpectCreations(Key, 3);

        time.Advance(ControllerExpectations.Timeout);
        Assert.False(expectations.SatisfiedExpectations(Key));

        // Strictly more than the timeout (Go: Since(timestamp) > ExpectationsTimeout).
        time.Advance(TimeSpan.FromTicks(1));
        Assert.True(expectations.SatisfiedExpectations(Key));
        Assert.Contains(logger.Collector.GetSnapshot(), e => e.Id.Id == 5202 && e.Level == LogLevel.Debug);

        // Lowering keeps the timestamp; setting restarts it.
        expectations.LowerExpectations(Key, 1, 0);
        Assert.True(expectations.SatisfiedExpectations(Key));
        expectations.ExpectCreations(Key, 3);
        Assert.False(expectations.SatisfiedExpectations(Key));
    }

    [Fact]
    public async Task Concurrent_observations_are_all_counted()
    {
        var expectations = ControllerExpectations.Create();
        const int N = 20_000;
        expectations.SetExpectations(Key, N, N);

        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(() =>
        {
            for (var i = w; i < N; i += 8)
            {
                expectations.CreationObserved(Key);
                expectations.DeletionObserved(Key);
                expectations.RaiseExpectations(Key, 1, 0);
                expectations.LowerExpectations(Key, 1, 0);
                _ = expectations.SatisfiedExpectations(Key);
            }
        }))).WaitAsync(ControllerTest.Guard);

        Assert.True(expectations.TryGetExpectations(Key, out var add, out var del));
        Assert.Equal((0L, 0L), (add, del));
        Assert.True(expectations.SatisfiedExpectations(Key));
    }

    [Fact]
    public void Uid_tracking_counts_each_expected_deletion_once()
    {
        var logger = new FakeLogger();
        var expectations = ControllerExpectations.CreateUidTracking(new ManualTimeProvider(), logger);
        expectations.ExpectDeletions(Key, ["ns/p1", "ns/p2", "ns/p1"]);
        Assert.True(expectations.TryGetExpectations(Key, out _, out var del));
        Assert.Equal(2, del);
        Assert.Equal(new HashSet<string> { "ns/p1", "ns/p2" }, expectations.GetUids(Key));

        // The deletion timestamp update and the final delete of p1 both report it: counted once.
        expectations.DeletionObserved(Key, "ns/p1");
        expectations.DeletionObserved(Key, "ns/p1");
        expectations.DeletionObserved(Key, "ns/unrelated");
        Assert.False(expectations.SatisfiedExpectations(Key));
        Assert.True(expectations.TryGetExpectations(Key, out _, out del));
        Assert.Equal(1, del);

        // Creations pass through.
        expectations.ExpectCreations(Key, 1);
        Assert.Equal(new HashSet<string> { "ns/p2" }, expectations.GetUids(Key));
        expectations.CreationObserved(Key);
        Assert.True(expectations.SatisfiedExpectations(Key));

        // New expected deletions replace outstanding ones, with an error log.
        expectations.ExpectDeletions(Key, ["ns/p3"]);
        Assert.Contains(logger.Collector.GetSnapshot(), e => e.Id.Id == 5203 && e.Message.Contains("ns/p2", StringComparison.Ordinal));
        Assert.Equal(new HashSet<string> { "ns/p3" }, expectations.GetUids(Key));

        expectations.DeleteExpectations(Key);
        Assert.Null(expectations.GetUids(Key));
        Assert.False(expectations.TryGetExpectations(Key, out _, out _));
    }
}
