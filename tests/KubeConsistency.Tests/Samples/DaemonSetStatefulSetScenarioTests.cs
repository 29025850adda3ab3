using System.Globalization;
using k8s.Models;
using KubeConsistency.Cache;
using KubeConsistency.Samples.Controllers;
using KubeConsistency.Samples.Scenario;
using KubeConsistency.Testing;
using Xunit.Abstractions;

namespace KubeConsistency.Tests.Samples;

/// <summary>
/// The DaemonSet- and StatefulSet-style sample controllers end to end against the embedded API server over loopback HTTP,
/// with the pod watch lagging (upstream-semantics.md §8.2, §8.5, §8.6): with the gate no node gets a second daemon pod and
/// no ordinal is asked for twice; without it the same lag makes both controllers act on pod caches older than their own
/// creates.
/// </summary>
[Collection(MetricsScrapeCollection.Name)]
public sealed class DaemonSetStatefulSetScenarioTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(120);

    private static ScenarioOptions Options(bool consistency, TimeSpan podLag, int daemonSets = 4, int statefulSets = 3) => new()
    {
        ReplicaSets = 0,
        Jobs = 0,
        DaemonSets = daemonSets,
        Nodes = 3,
        StatefulSets = statefulSets,
        StatefulSetReplicas = 3,
        PodWatchLag = podLag,
        Consistency = consistency,
        Timeout = TimeSpan.FromSeconds(90),
        NamePrefix = "t",
    };

    [Fact]
    public async Task Section8_2_and_8_5_with_the_gate_no_node_gets_a_second_daemon_pod_and_no_ordinal_is_created_twice()
    {
        await using var scenario = await ControllerScenario.StartAsync(Options(consistency: true, TimeSpan.FromMilliseconds(300))).WaitAsync(Guard);

        var summary = await scenario.RunToConvergenceAsync().WaitAsync(Guard);
        output.WriteLine(summary.ToString());

        Assert.True(summary.Converged, summary.NotConvergedReason);
        Assert.Equal(4 * 3, summary.DaemonSetPodsCreated);
        Assert.Equal(0, summary.DaemonSetExcessPods);
        Assert.Equal(3 * 3, summary.StatefulSetPodsCreated);
        Assert.Equal(0, summary.StatefulSetDuplicateCreates);
        Assert.All(scenario.PodWrites.CreateRequestsByName.Values, n => Assert.Equal(1, n));

        // The lag was real: both gates deferred syncs on the pod cache, counted under their own subsystems.
        Assert.True(Skips(scenario, DaemonSetController.MetricSubsystem) > 0, "the DaemonSet controller never found its pod cache stale");
        Assert.True(Skips(scenario, StatefulSetController.MetricSubsystem) > 0, "the StatefulSet controller never found its pod cache stale");
    }

    [Fact]
    public async Task Without_the_gate_the_same_lag_puts_second_daemon_pods_on_nodes_and_asks_for_ordinals_twice()
    {
        // A longer lag, so the resync that the first status write triggers runs long before the pods' events arrive.
        await using var scenario = await ControllerScenario.StartAsync(Options(consistency: false, TimeSpan.FromSeconds(1))).WaitAsync(Guard);

        var summary = await scenario.RunToConvergenceAsync().WaitAsync(Guard);
        output.WriteLine(summary.ToString());

        Assert.True(summary.Converged, summary.NotConvergedReason);
        Assert.True(summary.DaemonSetExcessPods > 0, $"no node got a second daemon pod: {summary}");
        Assert.True(summary.StatefulSetDuplicateCreates > 0, $"no ordinal was asked for twice: {summary}");
        Assert.Equal(0, scenario.Skips.Total);
    }

    [Fact]
    public async Task Section8_2_a_node_added_gets_a_daemon_pod_and_a_node_removed_loses_it()
    {
        await using var scenario = await ControllerScenario.StartAsync(Options(consistency: true, TimeSpan.FromMilliseconds(100), daemonSets: 2, statefulSets: 0)).WaitAsync(Guard);
        var summary = await scenario.RunToConvergenceAsync().WaitAsync(Guard);
        Assert.True(summary.Converged, summary.NotConvergedReason);
        using var changed = new SemaphoreSlim(0);
        scenario.PodInformer.AddEventHandler(new ResourceEventHandler<V1Pod> { OnAdd = (_, _) => changed.Release(), OnUpdate = (_, _) => changed.Release(), OnDelete = _ => changed.Release() });

        scenario.AddNode("t-node-new");
        await WaitUntilAsync(changed, () => DaemonPodsOn(scenario, "t-node-new") == 2);

        scenario.RemoveNode("t-node-000");
        await WaitUntilAsync(changed, () => DaemonPodsOn(scenario, "t-node-000") == 0);

        Assert.Equal(2, DaemonPodsOn(scenario, "t-node-new"));
        Assert.Equal(2, DaemonPodsOn(scenario, "t-node-001"));
    }

    private static long Skips(ControllerScenario scenario, string controller) =>
        scenario.Skips.ByController().Where(s => s.Controller == controller && s.Resource == "/pods").Sum(s => s.Count);

    private static int DaemonPodsOn(ControllerScenario scenario, string node) =>
        scenario.Server!.Objects.List(ApiResourceDefinition.Pods, scenario.Namespace).Items.Count(p =>
            p["spec"]?["affinity"]?["nodeAffinity"]?["requiredDuringSchedulingIgnoredDuringExecution"]?["nodeSelectorTerms"]?[0]?["matchFields"]?[0]?["values"]?[0]?.GetValue<string>() == node
            && p["metadata"]?["deletionTimestamp"] is null);

    private static async Task WaitUntilAsync(SemaphoreSlim changed, Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Guard);
        while (!condition())
        {
            // Woken by every pod event; the short bound covers events that raced the check.
            await changed.WaitAsync(TimeSpan.FromMilliseconds(100), timeout.Token);
        }
    }
}
