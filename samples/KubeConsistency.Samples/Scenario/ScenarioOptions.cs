using k8s;
using Microsoft.Extensions.Logging;

namespace KubeConsistency.Samples.Scenario;

/// <summary>What <see cref="ControllerScenario"/> runs: the workload, the injected staleness and the mitigation.</summary>
public sealed class ScenarioOptions
{
    /// <summary>ReplicaSets to create. Default 20.</summary>
    public int ReplicaSets { get; init; } = 20;

    /// <summary><c>spec.replicas</c> of each ReplicaSet. Default 5.</summary>
    public int Replicas { get; init; } = 5;

    /// <summary>Jobs to create. Default 10.</summary>
    public int Jobs { get; init; } = 10;

    /// <summary><c>spec.completions</c> of each Job. Default 5.</summary>
    public int Completions { get; init; } = 5;

    /// <summary><c>spec.parallelism</c> of each Job; <see langword="null"/> uses <c>min(2, completions)</c>.</summary>
    public int? Parallelism { get; init; }

    /// <summary>
    /// How long the embedded API server holds back every pod watch event (<c>Faults.SetWatchDelay("", "pods", lag)</c>):
    /// the controllers' pod caches are this far behind their own writes. Default 300 ms. Ignored against a real cluster.
    /// </summary>
    public TimeSpan PodWatchLag { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// How long the embedded API server holds back ReplicaSet and Job watch events; default zero (only pods lag). A lag
    /// here makes the owners' own status stale too (a Job that reads its old counts undercounts and over-creates).
    /// </summary>
    public TimeSpan OwnerWatchLag { get; init; }

    /// <summary>Gate the syncs with the real ConsistencyStore (default) or the no-op store.</summary>
    public bool Consistency { get; init; } = true;

    /// <summary>Also use controller expectations (kube-controller-manager always does). Default off.</summary>
    public bool Expectations { get; init; }

    /// <summary>DaemonSets in the workload (one pod per node each). Default 0.</summary>
    public int DaemonSets { get; init; }

    /// <summary>Nodes the embedded API server registers for the DaemonSets (ignored on a real cluster). Default 3.</summary>
    public int Nodes { get; init; } = 3;

    /// <summary>StatefulSets in the workload (ordinal pods, OrderedReady). Default 0.</summary>
    public int StatefulSets { get; init; }

    /// <summary>Replicas per StatefulSet. Default 3.</summary>
    public int StatefulSetReplicas { get; init; } = 3;

    /// <summary>Track pod deletes in the gate (<c>StalenessGateOptions.TrackDeletes</c>, beyond v1.36). Default off.</summary>
    public bool TrackDeletes { get; init; }

    /// <summary>Concurrent syncs per controller. Default 5 (kube-controller-manager's default).</summary>
    public int Workers { get; init; } = 5;

    /// <summary>Give up waiting for convergence after this long. Default 2 minutes.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Seed of the simulated kubelet's random delays.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>The simulated kubelet's Pending → Running delay range; default 20–80 ms.</summary>
    public (TimeSpan Min, TimeSpan Max) PodStartDelay { get; init; } = (TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(80));

    /// <summary>The simulated kubelet's Job pod run-time range; default 50–250 ms.</summary>
    public (TimeSpan Min, TimeSpan Max) PodRunDuration { get; init; } = (TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(250));

    /// <summary>
    /// Run against this cluster instead of an embedded API server (e.g. from
    /// <c>KubernetesClientConfiguration.BuildConfigFromConfigFile(path, context)</c>): no simulated kubelet, no injected lag;
    /// the workload is created in <see cref="Namespace"/>, which must exist, and deleted afterwards. The scenario builds
    /// its own <see cref="Kubernetes"/> client from it, with a <c>ConsistencyRecordingHandler</c> in its handler chain.
    /// </summary>
    public KubernetesClientConfiguration? Cluster { get; init; }

    /// <summary>
    /// The namespace of the workload; <see langword="null"/> uses the configuration's (else <c>default</c>). On the embedded
    /// server it is created when missing.
    /// </summary>
    public string? Namespace { get; init; }

    /// <summary>Prefix of the workload's object names. Default <c>demo</c>.</summary>
    public string NamePrefix { get; init; } = "demo";

    /// <summary>The clock of the controllers, informers, kubelet and embedded server.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Logging; <see langword="null"/> logs nothing.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>The Jobs' parallelism after defaulting.</summary>
    public int EffectiveParallelism => Parallelism ?? Math.Min(2, Completions);

    /// <summary>Checks the values.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ReplicaSets);
        ArgumentOutOfRangeException.ThrowIfNegative(Replicas);
        ArgumentOutOfRangeException.ThrowIfNegative(Jobs);
        ArgumentOutOfRangeException.ThrowIfNegative(DaemonSets);
        ArgumentOutOfRangeException.ThrowIfNegative(Nodes);
        ArgumentOutOfRangeException.ThrowIfNegative(StatefulSets);
        ArgumentOutOfRangeException.ThrowIfNegative(StatefulSetReplicas);
        ArgumentOutOfRangeException.ThrowIfLessThan(Completions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(EffectiveParallelism, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(Workers, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(PodWatchLag.Ticks);
        ArgumentOutOfRangeException.ThrowIfNegative(OwnerWatchLag.Ticks);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Timeout, TimeSpan.Zero);
    }
}
