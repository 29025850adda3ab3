namespace KubeConsistency.Consistency;

/// <summary>
/// Records a controller's own writes per owner and tells whether the caches have caught up with them
/// (upstream: <c>k8s.io/kubernetes/pkg/controller/util/consistency.ConsistencyStore</c>, §7).
/// </summary>
/// <remarks>
/// The owner is the object being reconciled (e.g. a ReplicaSet); the <see cref="GroupResource"/> is the
/// type that was written (pods, replicasets, …). Gating is per owner, never global. As upstream documents,
/// <see cref="EnsureReady"/> must not run concurrently with <see cref="WroteAt"/> for the same owner — a work
/// queue that hands each key to one worker at a time guarantees this.
/// </remarks>
public interface IConsistencyStore
{
    /// <summary>
    /// Records that a write on behalf of <paramref name="owner"/> produced <paramref name="resourceVersion"/>
    /// for <paramref name="resource"/> (§7.3). A different <paramref name="ownerUid"/> than the recorded one
    /// starts a fresh record (the owner was recreated under the same name). Under the default v1.36 rules the value is
    /// stored as given — even an empty or malformed one — and replaces a recorded value unless that one compares as
    /// newer or equal; under <see cref="ConsistencySemantics.ClientGoV138"/> an invalid first value is dropped and a
    /// later value that does not compare is ignored.
    /// </summary>
    /// <param name="owner">The reconciled object.</param>
    /// <param name="ownerUid">The reconciled object's UID.</param>
    /// <param name="resource">The group-resource that was written.</param>
    /// <param name="resourceVersion">The resource version the server returned for the write.</param>
    void WroteAt(NamespacedName owner, string ownerUid, GroupResource resource, string resourceVersion);

    /// <summary>
    /// Checks every write recorded for <paramref name="owner"/> against its store's
    /// <see cref="ILastSyncResourceVersionGetter.LastStoreSyncResourceVersion"/> (§7.3).
    /// </summary>
    /// <param name="owner">The reconciled object.</param>
    /// <returns>
    /// <see langword="null"/> when the owner may be synced (its record, if any, is then forgotten); otherwise the
    /// first stale group-resource found. This mirrors upstream's <c>error</c> return without throwing on a hot path;
    /// <see cref="ConsistencyError.ToException"/> gives an exception when one is wanted.
    /// </returns>
    ConsistencyError? EnsureReady(NamespacedName owner);

    /// <summary>
    /// Forgets <paramref name="owner"/>'s record when <paramref name="ownerUid"/> is <c>""</c> or matches the
    /// recorded UID (§7.3) — call it from the owner's delete handler (with its UID) and when the owner is not
    /// found (with <c>""</c>).
    /// </summary>
    /// <param name="owner">The reconciled object.</param>
    /// <param name="ownerUid">The UID to match, or <c>""</c> to forget unconditionally.</param>
    void Clear(NamespacedName owner, string ownerUid);
}

/// <summary>
/// A cache has not yet observed a write made on behalf of an owner (upstream: <c>ConsistencyError</c>, §7.1).
/// </summary>
public sealed class ConsistencyError
{
    /// <summary>Creates the error.</summary>
    /// <param name="readResourceVersion">The store's <c>LastStoreSyncResourceVersion</c>.</param>
    /// <param name="wroteResourceVersion">The resource version of the recorded write.</param>
    /// <param name="groupResource">The group-resource whose store is behind.</param>
    public ConsistencyError(string readResourceVersion, string wroteResourceVersion, GroupResource groupResource)
        : this(readResourceVersion, wroteResourceVersion, groupResource, ConsistencyErrorReason.CacheBehind)
    {
    }

    /// <summary>Creates the error with the reason the owner is not ready.</summary>
    /// <param name="readResourceVersion">The store's <c>LastStoreSyncResourceVersion</c> (<c>""</c> when it has none, or there is no store).</param>
    /// <param name="wroteResourceVersion">The resource version of the recorded write.</param>
    /// <param name="groupResource">The group-resource whose store is behind, unsynced or missing.</param>
    /// <param name="reason">Why the owner is not ready.</param>
    public ConsistencyError(string readResourceVersion, string wroteResourceVersion, GroupResource groupResource, ConsistencyErrorReason reason)
    {
        ReadResourceVersion = readResourceVersion;
        WroteResourceVersion = wroteResourceVersion;
        GroupResource = groupResource;
        Reason = reason;
    }

    /// <summary>
    /// Creates the error for a tracked delete the cache has not observed yet (<see cref="ConsistencyErrorReason.DeleteNotObserved"/>).
    /// </summary>
    /// <param name="readResourceVersion">The cache's <c>LastStoreSyncResourceVersion</c>.</param>
    /// <param name="groupResource">The deleted object's group-resource.</param>
    /// <param name="deletedObjectKey">The deleted object's key (<c>namespace/name</c>).</param>
    /// <param name="deletedObjectUid">The deleted object's UID.</param>
    public ConsistencyError(string readResourceVersion, GroupResource groupResource, string deletedObjectKey, string deletedObjectUid)
        : this(readResourceVersion, string.Empty, groupResource, ConsistencyErrorReason.DeleteNotObserved)
    {
        DeletedObjectKey = deletedObjectKey;
        DeletedObjectUid = deletedObjectUid;
    }

    /// <summary>
    /// Why the owner is not ready; <see cref="ConsistencyErrorReason.CacheNotSynced"/> and
    /// <see cref="ConsistencyErrorReason.NoStoreRegistered"/> occur only with <see cref="ConsistencySemantics.ClientGoV138"/>,
    /// <see cref="ConsistencyErrorReason.DeleteNotObserved"/> only with a gate that tracks deletes.
    /// </summary>
    public ConsistencyErrorReason Reason { get; }

    /// <summary>What the store has applied.</summary>
    public string ReadResourceVersion { get; }

    /// <summary>What the write produced (<c>""</c> for <see cref="ConsistencyErrorReason.DeleteNotObserved"/>).</summary>
    public string WroteResourceVersion { get; }

    /// <summary>The key of the deleted object the cache still holds, for <see cref="ConsistencyErrorReason.DeleteNotObserved"/>.</summary>
    public string? DeletedObjectKey { get; }

    /// <summary>The UID of the deleted object the cache still holds, for <see cref="ConsistencyErrorReason.DeleteNotObserved"/>.</summary>
    public string? DeletedObjectUid { get; }

    /// <summary>The group-resource whose store is behind (label values of <c>*_stale_sync_skips_total</c>).</summary>
    public GroupResource GroupResource { get; }

    /// <summary>A readable description.</summary>
    public string Message => Reason switch
    {
        ConsistencyErrorReason.CacheNotSynced => $"cache for {GroupResource} is not synced: it reports no resource version yet (written resource version {WroteResourceVersion})",
        ConsistencyErrorReason.DeleteNotObserved => $"cache for {GroupResource} has not observed the deletion of {DeletedObjectKey} (uid {DeletedObjectUid}): it still holds the object at read resource version {ReadResourceVersion}",
        ConsistencyErrorReason.NoStoreRegistered => $"no store registered for group resource {GroupResource} (written resource version {WroteResourceVersion})",
        _ => $"cache for {GroupResource} is stale: read resource version {ReadResourceVersion} is not as new as written resource version {WroteResourceVersion}",
    };

    /// <summary>The error as an exception, for callers that prefer to throw.</summary>
    public StaleCacheException ToException() => new(this);

    /// <inheritdoc/>
    public override string ToString() => Message;
}

/// <summary>Thrown by callers that turn a <see cref="ConsistencyError"/> into an exception.</summary>
public sealed class StaleCacheException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="error">The consistency error.</param>
    public StaleCacheException(ConsistencyError error)
        : base((error ?? throw new ArgumentNullException(nameof(error))).Message) => Error = error;

    /// <summary>The consistency error.</summary>
    public ConsistencyError Error { get; }
}
