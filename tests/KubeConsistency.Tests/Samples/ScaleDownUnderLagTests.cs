using System.Globalization;
using System.Text.Json.Nodes;
using KubeConsistency.Samples.Scenario;
using KubeConsistency.Testing;
using KubeConsistency.Testing.ApiServer;
using Xunit.Abstractions;

namespace KubeConsistency.Tests.Samples;

/// <summary>
/// A ReplicaSet scale-down while the pod watch lags, end to end over loopback HTTP (docs/upstream-after-1.36.md §1.5,
/// §2.3): without delete tracking the resync that the controller's own status write triggers still sees the deleted pods
/// and deletes them again; with <c>TrackDeletes</c> the gate defers it until the pod cache has observed every delete, so
/// no pod is deleted twice and none is recreated.
/// </summary>
[Collection(MetricsScrapeCollection.Name)]
public sealed class ScaleDownUnderLagTests(ITestOutputHelper output)
{
    private const int ReplicaSets = 6;
    private const int From = 5;
    private const int To = 1;
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task With_delete_tracking_a_scale_down_under_lag_deletes_no_pod_twice_and_recreates_none()
    {
        var result = await ScaleDownAsync(consistency: true, trackDeletes: true);

        Assert.Equal(0, result.DuplicateDeletes);
        Assert.Equal(0, result.CreatesAfterScaleDown);
        Assert.Equal(ReplicaSets * (From - To), result.PodsDeleted);
        Assert.True(result.PodSkips > 0, $"the gate never waited for a delete: {result}");
    }

    [Fact]
    public async Task Without_delete_tracking_the_same_scale_down_deletes_pods_twice_with_or_without_the_v1_36_gate()
    {
        var noGate = await ScaleDownAsync(consistency: false, trackDeletes: false);
        var gateOnly = await ScaleDownAsync(consistency: true, trackDeletes: false);

        // The v1.36 gate waits only for the status write (the ReplicaSet cache does not lag), not for the deletes.
        Assert.True(noGate.DuplicateDeletes > 0, $"no pod was deleted twice without the gate: {noGate}");
        Assert.True(gateOnly.DuplicateDeletes > 0, $"no pod was deleted twice with the v1.36 gate: {gateOnly}");
    }

    private async Task<ScaleDownResult> ScaleDownAsync(bool consistency, bool trackDeletes)
    {
        await using var scenario = await ControllerScenario.StartAsync(new ScenarioOptions
        {
            ReplicaSets = ReplicaSets,
            Replicas = From,
            Jobs = 0,
            PodWatchLag = TimeSpan.FromMilliseconds(500),
            Consistency = consistency,
            TrackDeletes = trackDeletes,
            Timeout = TimeSpan.FromSeconds(60),
            NamePrefix = "sd",
        }).WaitAsync(Guard);
        var up = await scenario.RunToConvergenceAsync().WaitAsync(Guard);
        Assert.True(up.Converged, up.NotConvergedReason);
        var server = scenario.Server!;
        var createsBefore = scenario.PodWrites.Creates;
        var deletesBefore = scenario.PodWrites.DeletesByPod.ToDictionary(StringComparer.Ordinal);
        var skipsBefore = scenario.Skips.ByResource().GetValueOrDefault("/pods");

        // Someone scales every ReplicaSet down (a write straight to the server, as kubectl scale would be).
        using var changed = new SemaphoreSlim(0);
        scenario.PodInformer.AddEventHandler(new KubeConsistency.Cache.ResourceEventHandler<k8s.Models.V1Pod> { OnDelete = _ => changed.Release() });
        for (var i = 0; i < ReplicaSets; i++)
        {
            server.Objects.Patch(ApiResourceDefinition.ReplicaSets, scenario.Namespace, string.Create(CultureInfo.InvariantCulture, $"sd-rs-{i:000}"), "{\"spec\":{\"replicas\":" + To.ToString(CultureInfo.InvariantCulture) + "}}");
        }

        // Settled: the server holds exactly the remaining pods, running, the pod cache holds only them and the
        // queue is empty, so no sync can still act on an older view.
        using var timeout = new CancellationTokenSource(Guard);
        while (!Settled(scenario, server))
        {
            await changed.WaitAsync(TimeSpan.FromMilliseconds(100), timeout.Token);
        }

        var result = new ScaleDownResult(
            consistency,
            trackDeletes,
            scenario.PodWrites.DeletesByPod.Count(d => !deletesBefore.ContainsKey(d.Key)),
            scenario.PodWrites.DeletesByPod.Sum(d => d.Value - deletesBefore.GetValueOrDefault(d.Key) - (deletesBefore.ContainsKey(d.Key) ? 0 : 1)),
            scenario.PodWrites.Creates - createsBefore,
            scenario.Skips.ByResource().GetValueOrDefault("/pods") - skipsBefore);
        output.WriteLine(result.ToString());
        return result;
    }

    private static bool Settled(ControllerScenario scenario, EmbeddedApiServer server)
    {
        var pods = server.Objects.List(ApiResourceDefinition.Pods, scenario.Namespace).Items;
        var perOwner = pods.GroupBy(p => p["metadata"]?["ownerReferences"]?[0]?["name"]?.GetValue<string>() ?? string.Empty).ToList();
        return pods.Count == ReplicaSets * To
            && perOwner.Count == ReplicaSets && perOwner.All(g => g.Count() == To && g.All(IsRunning))
            && scenario.PodInformer.Indexer.List().Count == ReplicaSets * To
            && scenario.ReplicaSetController.Controller.Queue.Len == 0;
    }

    private static bool IsRunning(JsonObject pod) => pod["status"]?["phase"]?.GetValue<string>() == "Running";

    private sealed record ScaleDownResult(bool Consistency, bool TrackDeletes, int PodsDeleted, int DuplicateDeletes, long CreatesAfterScaleDown, long PodSkips)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"gate={Consistency} trackDeletes={TrackDeletes}: {PodsDeleted} pods deleted ({ReplicaSets * (From - To)} needed), {DuplicateDeletes} duplicate delete requests, {CreatesAfterScaleDown} pods created after the scale-down, {PodSkips} stale skips on pods");
    }
}
