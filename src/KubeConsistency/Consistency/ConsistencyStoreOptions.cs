namespace KubeConsistency.Consistency;

/// <summary>Which upstream rules a <see cref="ConsistencyStore"/> follows (docs/upstream-after-1.36.md §1.4).</summary>
public enum ConsistencySemantics
{
    /// <summary>
    /// Kubernetes v1.36 (<c>pkg/controller/util/consistency</c>, the port target): fails open. A store reporting no
    /// resource version, or no store for the group-resource, counts as ready; any written value is recorded, and one
    /// that does not compare overwrites.
    /// </summary>
    KubernetesV136 = 0,

    /// <summary>
    /// client-go v1.38 (<c>k8s.io/client-go/util/consistency</c>): fails closed. A store reporting no resource version
    /// is not ready (<see cref="ConsistencyErrorReason.CacheNotSynced"/>), a group-resource without a store is an error
    /// (<see cref="ConsistencyErrorReason.NoStoreRegistered"/>), an invalid first write is dropped and a later write
    /// that does not compare is ignored.
    /// </summary>
    ClientGoV138 = 1,
}

/// <summary>Why <see cref="IConsistencyStore.EnsureReady"/> reported an owner not ready.</summary>
public enum ConsistencyErrorReason
{
    /// <summary>The cache has applied an older resource version than the write produced.</summary>
    CacheBehind = 0,

    /// <summary>The cache reports no resource version yet (not synced, or tracking off); v1.38 rules only.</summary>
    CacheNotSynced = 1,

    /// <summary>No store was registered for the written group-resource; v1.38 rules only.</summary>
    NoStoreRegistered = 2,

    /// <summary>
    /// The cache still holds an object this controller deleted (same UID, no <c>deletionTimestamp</c>): a delete whose
    /// answer carried no resource version, tracked by UID (<c>StalenessGateOptions.TrackDeletes</c>,
    /// docs/upstream-after-1.36.md §2.3).
    /// </summary>
    DeleteNotObserved = 3,
}

/// <summary>Options of <see cref="ConsistencyStore.Create(IEnumerable{KeyValuePair{GroupResource, ILastSyncResourceVersionGetter}}, ConsistencyStoreOptions)"/>.</summary>
public sealed class ConsistencyStoreOptions
{
    /// <summary>The rules to follow; <see cref="ConsistencySemantics.KubernetesV136"/> by default.</summary>
    public ConsistencySemantics Semantics { get; init; }
}
