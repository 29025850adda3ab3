using k8s.LeaderElection;
using KubeConsistency.KubernetesClient;
using KubeConsistency.Tests.Informers;
using Microsoft.Extensions.Logging;

namespace KubeConsistency.Tests.KubernetesClient;

/// <summary>
/// Releasing the Lease on stop, against a scripted lock: KubernetesClient's elector can leave a renewal in flight after
/// cancellation, whose update wins the race and turns the release's update into a 409 (reported by the lock as
/// <see langword="false"/>). The release must read again and retry, not give up silently.
/// </summary>
public sealed class LeaderElectionReleaseTests
{
    [Fact]
    public async Task A_release_whose_update_loses_to_an_in_flight_renewal_reads_again_and_shortens_the_Lease()
    {
        var leaseLock = new ScriptedLock("a", holder: "a", updateResults: [false, true]);
        var logger = new FakeLogger();

        Assert.True(await LeaderElection.ReleaseAsync(leaseLock, logger, CancellationToken.None));

        Assert.Equal(2, leaseLock.Gets);
        Assert.Equal([1, 1], leaseLock.UpdatedDurations);
        Assert.Empty(logger.Collector.GetSnapshot());
    }

    [Fact]
    public async Task A_release_that_fails_every_attempt_says_so_in_a_warning()
    {
        var leaseLock = new ScriptedLock("a", holder: "a", updateResults: [.. Enumerable.Repeat(false, LeaderElection.ReleaseAttempts)]);
        var logger = new FakeLogger();

        Assert.False(await LeaderElection.ReleaseAsync(leaseLock, logger, CancellationToken.None));

        Assert.Equal(LeaderElection.ReleaseAttempts, leaseLock.UpdatedDurations.Count);
        var warning = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("Releasing the Lease failed", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Lease_another_replica_holds_is_left_alone()
    {
        var leaseLock = new ScriptedLock("a", holder: "b", updateResults: []);

        Assert.True(await LeaderElection.ReleaseAsync(leaseLock, new FakeLogger(), CancellationToken.None));

        Assert.Empty(leaseLock.UpdatedDurations);
    }

    [Fact]
    public async Task A_read_that_throws_is_logged_with_its_exception()
    {
        var leaseLock = new ScriptedLock("a", holder: "a", updateResults: []) { GetFailure = new HttpRequestException("connection refused") };
        var logger = new FakeLogger();

        Assert.False(await LeaderElection.ReleaseAsync(leaseLock, logger, CancellationToken.None));

        Assert.IsType<HttpRequestException>(Assert.Single(logger.Collector.GetSnapshot()).Exception);
    }

    /// <summary>A lock whose record has a fixed holder and whose updates succeed or fail in a given order.</summary>
    private sealed class ScriptedLock(string identity, string holder, bool[] updateResults) : ILock
    {
        private int _updates;

        public string Identity => identity;

        public int Gets { get; private set; }

        public List<int> UpdatedDurations { get; } = [];

        public Exception? GetFailure { get; init; }

        public Task<LeaderElectionRecord> GetAsync(CancellationToken cancellationToken = default)
        {
            Gets++;
            return GetFailure is null
                ? Task.FromResult(new LeaderElectionRecord { HolderIdentity = holder, LeaseDurationSeconds = 2, AcquireTime = DateTime.UtcNow, RenewTime = DateTime.UtcNow })
                : Task.FromException<LeaderElectionRecord>(GetFailure);
        }

        public Task<bool> CreateAsync(LeaderElectionRecord record, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("a release never creates the Lease");

        public Task<bool> UpdateAsync(LeaderElectionRecord record, CancellationToken cancellationToken = default)
        {
            UpdatedDurations.Add(record.LeaseDurationSeconds);
            return Task.FromResult(updateResults[_updates++]);
        }

        public string Describe() => "kube-system/test-operator";
    }
}
