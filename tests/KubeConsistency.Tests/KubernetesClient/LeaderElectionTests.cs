using System.Diagnostics;
using k8s;
using k8s.Models;
using KubeConsistency.KubernetesClient;

namespace KubeConsistency.Tests.KubernetesClient;

/// <summary>
/// Leader election with KubernetesClient's own <c>LeaderElector</c> and <c>LeaseLock</c> over the embedded server's
/// <c>coordination.k8s.io/v1</c> Leases. KubernetesClient's elector reads the wall clock, so these tests use short lease
/// timings and wait on explicit signals with a guard, never on sleeps.
/// </summary>
public sealed class LeaderElectionTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private static LeaderElectionOptions Options(string identity) => new()
    {
        LeaseNamespace = "kube-system",
        LeaseName = "test-operator",
        Identity = identity,
        LeaseDuration = TimeSpan.FromSeconds(2),
        RenewDeadline = TimeSpan.FromSeconds(1),
        RetryPeriod = TimeSpan.FromMilliseconds(100),
    };

    [Fact]
    public async Task Only_one_replica_leads_and_a_stopped_leader_hands_over_at_once()
    {
        await using var h = await KubernetesClientHarness.StartAsync();
        using var clientB = h.NewClient();
        var a = new Replica("a");
        var b = new Replica("b");
        using var stopA = new CancellationTokenSource();
        using var stopB = new CancellationTokenSource();
        var runA = LeaderElection.RunAsync(h.Client, Options("a"), a.LeadAsync, stopA.Token);
        await a.Leading.Task.WaitAsync(Guard);
        var runB = LeaderElection.RunAsync(clientB, Options("b"), b.LeadAsync, stopB.Token);

        // b campaigns (it reads the Lease held by a) but does not lead.
        var lease = await h.Client.CoordinationV1.ReadNamespacedLeaseAsync("test-operator", "kube-system");
        Assert.Equal("a", lease.Spec.HolderIdentity);
        Assert.False(b.Leading.Task.IsCompleted);

        // a stops: its work ends first, then the Lease is shortened so that b takes over without waiting it out.
        await stopA.CancelAsync();
        await runA.WaitAsync(Guard);
        Assert.True(a.Stopped.Task.IsCompleted);
        await b.Leading.Task.WaitAsync(Guard);
        Assert.False(a.OverlappedWith(b), "both replicas ran their leading work at the same time");
        lease = await h.Client.CoordinationV1.ReadNamespacedLeaseAsync("test-operator", "kube-system");
        Assert.Equal("b", lease.Spec.HolderIdentity);
        Assert.Equal(1, lease.Spec.LeaseTransitions);

        await stopB.CancelAsync();
        await runB.WaitAsync(Guard);
    }

    [Fact]
    public async Task A_replica_that_stops_shortens_its_Lease_to_one_second()
    {
        await using var h = await KubernetesClientHarness.StartAsync();
        var a = new Replica("a");
        using var stop = new CancellationTokenSource();
        var run = LeaderElection.RunAsync(h.Client, Options("a"), a.LeadAsync, stop.Token);
        await a.Leading.Task.WaitAsync(Guard);
        Assert.Equal(2, (await h.Client.CoordinationV1.ReadNamespacedLeaseAsync("test-operator", "kube-system")).Spec.LeaseDurationSeconds);
        await stop.CancelAsync();
        await run.WaitAsync(Guard);
        var released = await h.Client.CoordinationV1.ReadNamespacedLeaseAsync("test-operator", "kube-system");
        Assert.Equal(("a", 1), (released.Spec.HolderIdentity, released.Spec.LeaseDurationSeconds));
    }

    [Fact]
    public async Task Losing_the_Lease_cancels_the_leading_work_at_once_and_the_replica_campaigns_again()
    {
        await using var h = await KubernetesClientHarness.StartAsync();
        var a = new Replica("a");
        using var stop = new CancellationTokenSource();
        var run = LeaderElection.RunAsync(h.Client, Options("a"), a.LeadAsync, stop.Token);
        await a.Leading.Task.WaitAsync(Guard);

        // Another holder takes the Lease over (as after a partition): a's renewals fail, and its work stops at the deadline.
        // (Read-modify-write with optimistic concurrency: a 409 means a's renewal got in first, so read again.)
        while (true)
        {
            var lease = await h.Client.CoordinationV1.ReadNamespacedLeaseAsync("test-operator", "kube-system");
            lease.Spec.HolderIdentity = "intruder";
            lease.Spec.LeaseDurationSeconds = 3;
            lease.Spec.RenewTime = DateTime.UtcNow;
            try
            {
                await h.Client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, "test-operator", "kube-system");
                break;
            }
            catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.Conflict)
            {
            }
        }

        await a.Stopped.Task.WaitAsync(Guard);
        Assert.Equal(1, a.Terms);

        // Not stopped by its caller, a campaigns again and leads a second term once the intruder's Lease expires.
        await a.SecondTerm.Task.WaitAsync(Guard);
        Assert.Equal(2, a.Terms);
        await stop.CancelAsync();
        await run.WaitAsync(Guard);
    }

    [Fact]
    public async Task Work_that_fails_while_leading_ends_the_election_with_its_exception()
    {
        await using var h = await KubernetesClientHarness.StartAsync();
        var run = LeaderElection.RunAsync(h.Client, Options("a"), _ => throw new InvalidOperationException("controller crashed"));
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => run.WaitAsync(Guard));
        Assert.Equal("controller crashed", error.Message);
    }

    [Theory]
    [InlineData(0.5, 0.4, 0.1, "LeaseDuration")]
    [InlineData(2, 2, 0.1, "RenewDeadline")]
    [InlineData(2, 1, 1, "RetryPeriod")]
    public async Task Inconsistent_timings_are_rejected_naming_the_option(double lease, double renew, double retry, string option)
    {
        using var client = new Kubernetes(new KubernetesClientConfiguration { Host = "http://127.0.0.1:1" });
        var options = new LeaderElectionOptions
        {
            LeaseNamespace = "ns",
            LeaseName = "l",
            LeaseDuration = TimeSpan.FromSeconds(lease),
            RenewDeadline = TimeSpan.FromSeconds(renew),
            RetryPeriod = TimeSpan.FromSeconds(retry),
        };
        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => LeaderElection.RunAsync(client, options, _ => Task.CompletedTask));
        Assert.Equal(option, error.ParamName);
    }

    /// <summary>One replica's leading work: records its terms and when they ran.</summary>
    private sealed class Replica(string name)
    {
        private readonly List<(long Start, long End)> _terms = [];

        public string Name => name;

        public TaskCompletionSource Leading { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource SecondTerm { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Stopped { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Terms
        {
            get
            {
                lock (_terms)
                {
                    return _terms.Count;
                }
            }
        }

        public async Task LeadAsync(CancellationToken whileLeading)
        {
            var start = Stopwatch.GetTimestamp();
            int term;
            lock (_terms)
            {
                _terms.Add((start, long.MaxValue));
                term = _terms.Count;
            }

            (term == 1 ? Leading : SecondTerm).TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, whileLeading);
            }
            catch (OperationCanceledException)
            {
            }

            lock (_terms)
            {
                _terms[term - 1] = (start, Stopwatch.GetTimestamp());
            }

            Stopped.TrySetResult();
        }

        public bool OverlappedWith(Replica other)
        {
            lock (_terms)
            {
                lock (other._terms)
                {
                    return _terms.Any(a => other._terms.Any(b => a.Start < b.End && b.Start < a.End));
                }
            }
        }
    }
}
