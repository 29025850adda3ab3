using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using KubeConsistency.Samples.Scenario;

// Not KubeConsistency.Benchmarks.Controllers: that name would shadow KubeConsistency.Controllers in the sibling folders.
namespace KubeConsistency.Benchmarks.ControllerThroughput;

/// <summary>
/// Reconcile throughput of the sample ReplicaSet controller on the embedded API server, as a whole run: 1,000
/// ReplicaSets × 3 replicas are created and the measured time ends when every one has exactly 3 ready pods and a matching
/// status (confirmed by a fresh LIST). One warm-up run first: the measured ones are JIT-warm. No injected lag, a kubelet that starts pods at once, 5 workers; with the real
/// consistency store and with the no-op one, so the difference is the gate's cost. ReplicaSets converged per second =
/// 1,000 / the mean (also printed after each iteration).
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 3)]
public class ReplicaSetThroughputBenchmarks
{
    private const int ReplicaSets = 1_000;
    private const int Replicas = 3;
    private ControllerScenario? _scenario;

    [Params(true, false)]
    public bool Consistency { get; set; }

    [IterationSetup]
    public void Setup() => _scenario = ControllerScenario.StartAsync(new ScenarioOptions
    {
        ReplicaSets = ReplicaSets,
        Replicas = Replicas,
        Jobs = 0,
        PodWatchLag = TimeSpan.Zero,
        PodStartDelay = (TimeSpan.Zero, TimeSpan.Zero),
        Consistency = Consistency,
        Timeout = TimeSpan.FromMinutes(5),
    }).GetAwaiter().GetResult();

    [Benchmark(Description = "1,000 ReplicaSets x 3 replicas to convergence")]
    public async Task<ScenarioSummary> ConvergeReplicaSets()
    {
        var summary = await _scenario!.RunToConvergenceAsync();
        if (!summary.Converged)
        {
            throw new InvalidOperationException("Did not converge: " + summary.NotConvergedReason);
        }

        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"// ReplicaSets converged per second: {ReplicaSets / summary.Elapsed.TotalSeconds:0.0} ({summary.Elapsed.TotalSeconds:0.00} s; pods created {summary.PodsCreated}, excess {summary.ExcessPods}, stale sync skips {summary.StaleSyncSkips.Values.Sum()})"));
        return summary;
    }

    [IterationCleanup]
    public void Cleanup()
    {
        _scenario?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _scenario = null;
    }
}
