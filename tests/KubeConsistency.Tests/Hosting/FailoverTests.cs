using System.Diagnostics;
using System.Text.Json.Nodes;
using KubeConsistency.Hosting;
using KubeConsistency.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit.Abstractions;

namespace KubeConsistency.Tests.Hosting;

/// <summary>
/// Issue 11: two operator hosts against one embedded server with leader election. Only the leader reconciles; when it stops
/// (or loses the Lease) mid-scale-up under pod-watch lag, the standby takes over within the Lease duration, the pods end up
/// equal to the spec with no excess, and no two replicas ever run their controllers at once.
/// </summary>
public sealed class FailoverTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(3);
    private EmbeddedApiServer _server = null!;
    private string _kubeconfig = null!;

    public async Task InitializeAsync()
    {
        _server = await EmbeddedApiServer.StartAsync();
        _kubeconfig = Path.Combine(Path.GetTempPath(), "kc-failover-" + Guid.NewGuid().ToString("N") + ".yaml");
        _server.WriteKubeconfig(_kubeconfig, OperatorHost.Namespace);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        File.Delete(_kubeconfig);
    }

    private IHost Replica(string identity, OperatorHost.RunTracker tracker) => OperatorHost.Build(_kubeconfig, o =>
    {
        o.LeaderElection.Enabled = true;
        o.LeaderElection.LeaseName = "replicaset-operator";
        o.LeaderElection.LeaseNamespace = OperatorHost.Namespace;
        o.LeaderElection.Identity = identity;
        o.LeaderElection.LeaseDuration = LeaseDuration;
        o.LeaderElection.RenewDeadline = TimeSpan.FromSeconds(2);
        o.LeaderElection.RetryPeriod = TimeSpan.FromMilliseconds(250);
    }, tracker);

    private static bool Leads(IHost host) => host.Services.GetRequiredService<ILeadership>().IsLeader;

    [Theory]
    [InlineData("stop")]
    [InlineData("lease-loss")]
    public async Task TheStandbyTakesOverWithinTheLeaseDuration_WithNoExcessAndNoDoubleReconcile(string failure)
    {
        var tracker = new OperatorHost.RunTracker();
        using var a = Replica("replica-a", tracker);
        using var b = Replica("replica-b", tracker);
        await a.StartAsync();
        await OperatorHost.WaitUntilAsync(() => Leads(a), TimeSpan.FromSeconds(20), "replica-a leads");
        await b.StartAsync();
        var bSynced = b.Services.GetRequiredService<KubeConsistency.Informers.ISharedIndexInformer<k8s.Models.V1Pod>>();
        await OperatorHost.WaitUntilAsync(() => bSynced.HasSynced, TimeSpan.FromSeconds(20), "replica-b's caches are warm");
        Assert.False(Leads(b));

        // Scale-up under a lagging pod watch; fail the leader once it has created some pods but not all.
        _server.Faults.SetWatchDelay("", "pods", TimeSpan.FromMilliseconds(300));
        _server.Objects.Create(ApiResourceDefinition.ReplicaSets, OperatorHost.ReplicaSet("web", 20));
        await OperatorHost.WaitUntilAsync(() => _server.Faults.GetRequestCount("create", "", "pods") >= 1, TimeSpan.FromSeconds(20), "the scale-up started");
        var failedAt = Stopwatch.GetTimestamp();
        var createdBeforeFailure = _server.Faults.GetRequestCount("create", "", "pods");
        if (failure == "stop")
        {
            await a.StopAsync();
        }
        else
        {
            // Another client takes the Lease (for a full lease duration): replica-a's renewals see a foreign holder until its
            // renew deadline passes, and it gives up leading; replica-b must wait for the thief's lease to run out.
            _server.Objects.Patch(ApiResourceDefinition.Leases, OperatorHost.Namespace, "replicaset-operator", new JsonObject
            {
                ["spec"] = new JsonObject { ["holderIdentity"] = "thief", ["leaseDurationSeconds"] = (int)LeaseDuration.TotalSeconds, ["renewTime"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", System.Globalization.CultureInfo.InvariantCulture) },
            }.ToJsonString());
            await OperatorHost.WaitUntilAsync(() => !Leads(a), TimeSpan.FromSeconds(20), "replica-a stops leading");
            await a.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.WaitHandle.WaitOneAsync(TimeSpan.FromSeconds(20));
        }

        var takeover = await OperatorHost.WaitUntilAsync(() => Leads(b), LeaseDuration + TimeSpan.FromSeconds(5), "replica-b takes over");
        var takeoverSeconds = Stopwatch.GetElapsedTime(failedAt).TotalSeconds;
        _server.Faults.SetWatchDelay("", "pods", TimeSpan.Zero);
        await OperatorHost.WaitUntilAsync(() => OperatorHost.LivePods(_server, "web") == 20, TimeSpan.FromSeconds(30), "20 pods");

        // Let the new leader settle, then count: every create made a pod that is still there (no excess, nothing deleted).
        await OperatorHost.WaitUntilAsync(() => b.Services.GetRequiredService<KubeConsistency.Informers.ISharedIndexInformer<k8s.Models.V1Pod>>().Indexer.List().Count == 20, TimeSpan.FromSeconds(20), "replica-b sees 20 pods");
        var creates = _server.Faults.GetRequestCount("create", "", "pods");
        var deletes = _server.Faults.GetRequestCount("delete", "", "pods");
        output.WriteLine($"{failure}: takeover {takeoverSeconds:0.00} s after the failure (lease duration {LeaseDuration.TotalSeconds} s), " +
            $"pod creates before the failure {createdBeforeFailure}, create requests in all {creates} (cancelled in flight on shutdown: {creates - 20 - deletes}), " +
            $"surplus pods deleted {deletes}, max controllers running at once {tracker.MaxConcurrent}");
        Assert.True(takeoverSeconds <= LeaseDuration.TotalSeconds + 2, $"takeover took {takeoverSeconds:0.00} s");
        Assert.Equal(20, OperatorHost.LivePods(_server, "web"));

        // No excess: every pod that was ever created is one of the 20 (a surplus would have been deleted). Create requests
        // can exceed 20 by those the old leader cancelled on shutdown that never committed.
        Assert.Equal(0, deletes);
        Assert.Equal(1, tracker.MaxConcurrent);
        Assert.True(takeover > TimeSpan.Zero);
        await b.StopAsync();
    }
}

internal static class WaitHandleExtensions
{
    public static Task WaitOneAsync(this WaitHandle handle, TimeSpan timeout)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var registration = ThreadPool.RegisterWaitForSingleObject(handle, (_, timedOut) =>
        {
            if (timedOut)
            {
                done.TrySetException(new TimeoutException("the wait handle was not signalled in time"));
            }
            else
            {
                done.TrySetResult();
            }
        }, null, timeout, executeOnlyOnce: true);
        return done.Task.ContinueWith(t =>
        {
            registration.Unregister(null);
            return t;
        }, TaskScheduler.Default).Unwrap();
    }
}
