using System.Globalization;
using System.Text;
using System.Text.Json;

namespace KubeConsistency.Samples.Scenario;

/// <summary>A cache's applied resource version against the server's, for one resource at the end of a run.</summary>
/// <param name="Resource">The group-resource, e.g. <c>pods</c> or <c>replicasets.apps</c>.</param>
/// <param name="StoreResourceVersion">The informer store's <c>LastStoreSyncResourceVersion</c>.</param>
/// <param name="ServerResourceVersion">The resource version of a fresh LIST from the server (the server's current revision).</param>
/// <param name="NewestObjectResourceVersion">The newest resource version among the listed objects.</param>
/// <param name="CaughtUp">Whether the store has applied every listed object (store RV ≥ newest object RV).</param>
public sealed record ResourceVersionReport(string Resource, string StoreResourceVersion, string ServerResourceVersion, string NewestObjectResourceVersion, bool CaughtUp);

/// <summary>A live view of a running scenario, computed from the informer caches.</summary>
/// <param name="Elapsed">Time since the workload was created.</param>
/// <param name="ReplicaSetsReady">ReplicaSets whose cached status shows every replica ready.</param>
/// <param name="ReplicaSets">ReplicaSets in the workload.</param>
/// <param name="JobsComplete">Jobs with a <c>Complete</c> condition in the cache.</param>
/// <param name="Jobs">Jobs in the workload.</param>
/// <param name="PodsCreated">Pods the controllers created so far.</param>
/// <param name="MinimumPods">Pods the specs need.</param>
/// <param name="StaleSyncSkips">Syncs the gates deferred so far.</param>
/// <param name="ReplicaSetQueueDepth">Keys waiting in the ReplicaSet controller's queue.</param>
/// <param name="JobQueueDepth">Keys waiting in the Job controller's queue.</param>
public sealed record ScenarioProgress(
    TimeSpan Elapsed,
    int ReplicaSetsReady,
    int ReplicaSets,
    int JobsComplete,
    int Jobs,
    long PodsCreated,
    long MinimumPods,
    long StaleSyncSkips,
    int ReplicaSetQueueDepth,
    int JobQueueDepth);

/// <summary>The outcome of a scenario run.</summary>
public sealed record ScenarioSummary
{
    /// <summary>Whether the real ConsistencyStore gated the syncs.</summary>
    public required bool Consistency { get; init; }

    /// <summary>Whether controller expectations were on.</summary>
    public required bool Expectations { get; init; }

    /// <summary>Whether the run used the embedded API server (with the simulated kubelet and injected lag).</summary>
    public required bool Embedded { get; init; }

    /// <summary>The injected pod watch lag.</summary>
    public required TimeSpan PodWatchLag { get; init; }

    /// <summary>The injected ReplicaSet/Job watch lag.</summary>
    public required TimeSpan OwnerWatchLag { get; init; }

    /// <summary>ReplicaSets in the workload.</summary>
    public required int ReplicaSets { get; init; }

    /// <summary>Replicas per ReplicaSet.</summary>
    public required int Replicas { get; init; }

    /// <summary>Jobs in the workload.</summary>
    public required int Jobs { get; init; }

    /// <summary>Completions per Job.</summary>
    public required int Completions { get; init; }

    /// <summary>Parallelism per Job.</summary>
    public required int Parallelism { get; init; }

    /// <summary>DaemonSets in the workload.</summary>
    public int DaemonSets { get; init; }

    /// <summary>Nodes the DaemonSets ran on.</summary>
    public int Nodes { get; init; }

    /// <summary>StatefulSets in the workload.</summary>
    public int StatefulSets { get; init; }

    /// <summary>Replicas per StatefulSet.</summary>
    public int StatefulSetReplicas { get; init; }

    /// <summary>Pods the DaemonSet controller created.</summary>
    public long DaemonSetPodsCreated { get; init; }

    /// <summary>DaemonSet creates beyond one per node, per DaemonSet: each is a second daemon pod on a node.</summary>
    public long DaemonSetExcessPods { get; init; }

    /// <summary>Pods the StatefulSet controller created.</summary>
    public long StatefulSetPodsCreated { get; init; }

    /// <summary>Create requests for an ordinal beyond the first (a sync on a stale pod cache asking for a pod that exists).</summary>
    public long StatefulSetDuplicateCreates { get; init; }

    /// <summary>Pods on the server at the end.</summary>
    public required int PodsAtEnd { get; init; }

    /// <summary>Objects on the server at the end: ReplicaSets, Jobs and pods.</summary>
    public int Objects => ReplicaSets + Jobs + DaemonSets + StatefulSets + PodsAtEnd;

    /// <summary>Pods the ReplicaSet controller created.</summary>
    public required long ReplicaSetPodsCreated { get; init; }

    /// <summary>Pods the Job controller created.</summary>
    public required long JobPodsCreated { get; init; }

    /// <summary>Every pod create the controllers made.</summary>
    public long PodsCreated => ReplicaSetPodsCreated + JobPodsCreated + DaemonSetPodsCreated + StatefulSetPodsCreated;

    /// <summary>The fewest creates that satisfy the specs: replicas per ReplicaSet plus completions per Job.</summary>
    public long MinimumPods => ((long)ReplicaSets * Replicas) + ((long)Jobs * Completions) + ((long)DaemonSets * Nodes) + ((long)StatefulSets * StatefulSetReplicas);

    /// <summary>Creates beyond the minimum, per owner (an owner that got fewer does not offset another that got more).</summary>
    public required long ReplicaSetExcessPods { get; init; }

    /// <summary>The same for the Jobs.</summary>
    public required long JobExcessPods { get; init; }

    /// <summary>All excess creates.</summary>
    public long ExcessPods => ReplicaSetExcessPods + JobExcessPods + DaemonSetExcessPods;

    /// <summary>Jobs whose <c>status.succeeded</c> differs from the number of their succeeded pods (a double count or a lost count).</summary>
    public required int JobsMiscounted { get; init; }

    /// <summary>Deferred syncs per <c>"&lt;group&gt;/&lt;resource&gt;"</c> over both controllers.</summary>
    public required IReadOnlyDictionary<string, long> StaleSyncSkips { get; init; }

    /// <summary>Deferred syncs per controller subsystem and resource.</summary>
    public required IReadOnlyList<(string Controller, string Resource, long Count)> StaleSyncSkipsByController { get; init; }

    /// <summary>Store against server resource versions, per resource.</summary>
    public required IReadOnlyList<ResourceVersionReport> ResourceVersions { get; init; }

    /// <summary>Whether every ReplicaSet had exactly its replicas ready (status matching) and every Job completed in time.</summary>
    public required bool Converged { get; init; }

    /// <summary>What was still missing when the run gave up; <see langword="null"/> when converged.</summary>
    public string? NotConvergedReason { get; init; }

    /// <summary>From the first workload create until convergence (or the timeout).</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary>
    /// The summary as the demo's <c>--summary-json</c> writes it, exactly:
    /// <c>{"consistency":…,"replicaSets":…,"jobs":…,"podsCreated":…,"excessPods":…,"staleSyncSkips":{"&lt;group&gt;/&lt;resource&gt;":…},"converged":…,"seconds":…}</c>.
    /// </summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteBoolean("consistency", Consistency);
            json.WriteNumber("replicaSets", ReplicaSets);
            json.WriteNumber("jobs", Jobs);
            json.WriteNumber("podsCreated", PodsCreated);
            json.WriteNumber("excessPods", ExcessPods);
            if (DaemonSets > 0 || StatefulSets > 0)
            {
                json.WriteNumber("daemonSets", DaemonSets);
                json.WriteNumber("daemonSetExcessPods", DaemonSetExcessPods);
                json.WriteNumber("statefulSets", StatefulSets);
                json.WriteNumber("statefulSetDuplicateCreates", StatefulSetDuplicateCreates);
            }

            json.WriteStartObject("staleSyncSkips");
            foreach (var (resource, count) in StaleSyncSkips)
            {
                json.WriteNumber(resource, count);
            }

            json.WriteEndObject();
            json.WriteBoolean("converged", Converged);
            json.WriteNumber("seconds", Math.Round(Elapsed.TotalSeconds, 3));
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>A one-line description for logs.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"consistency={Consistency} expectations={Expectations} converged={Converged} seconds={Elapsed.TotalSeconds:0.00} podsCreated={PodsCreated} minimum={MinimumPods} excess={ExcessPods} (rs {ReplicaSetExcessPods}, job {JobExcessPods}, ds {DaemonSetExcessPods}) stsDuplicateCreates={StatefulSetDuplicateCreates} miscountedJobs={JobsMiscounted} skips={string.Join(",", StaleSyncSkips.Select(s => s.Key + "=" + s.Value))}");
}
