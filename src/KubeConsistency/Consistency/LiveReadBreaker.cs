namespace KubeConsistency.Consistency;

/// <summary>
/// The live-read circuit breaker of KEP-5647's GA direction (the v1.37 node-lifecycle lease pattern,
/// docs/upstream-after-1.36.md §1.2–§1.3): after a controller reads an object live because its cache looked wrong, it
/// records the live read's resource version, and every decision that depends on that cache waits until the cache has
/// caught up to it — decisions about <em>other</em> objects too, since a cache found stale for one object is stale for all.
/// </summary>
/// <remarks>
/// Unlike <see cref="IConsistencyStore"/>, which gates one owner on its own writes, the breaker gates the whole cache.
/// Record only what a live read proved (a newer resource version than the cache holds); a breaker that is ready forgets
/// what it recorded, so it costs nothing on the next check. Thread-safe.
/// </remarks>
public abstract class LiveReadBreaker
{
    private protected LiveReadBreaker()
    {
    }

    /// <summary>Creates a breaker over the caches of the group-resources a controller reads live.</summary>
    /// <param name="stores">For each group-resource, the cache (any <see cref="Cache.IStore{T}"/>) its live reads are checked against.</param>
    /// <param name="options">The rules for a cache that reports no resource version or is not registered (v1.36's fail-open ones by default).</param>
    /// <returns>The breaker.</returns>
    public static LiveReadBreaker Create(IEnumerable<KeyValuePair<GroupResource, ILastSyncResourceVersionGetter>> stores, ConsistencyStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stores);
        return new RealLiveReadBreaker(ConsistencyStore.Create(stores, options ?? new ConsistencyStoreOptions()));
    }

    /// <summary>
    /// Records that a live read of <paramref name="resource"/> returned <paramref name="resourceVersion"/>: the cache is
    /// not ready until it has applied that version. A newer recorded version is kept.
    /// </summary>
    /// <param name="resource">The group-resource read live.</param>
    /// <param name="resourceVersion">The resource version of the object the live read returned.</param>
    public abstract void RecordLiveRead(GroupResource resource, string resourceVersion);

    /// <summary>
    /// Whether every cache has caught up to the live reads recorded for it. Check it before acting on anything read from
    /// those caches; when it is not <see langword="null"/>, skip the whole pass and try again later.
    /// </summary>
    /// <returns><see langword="null"/> when closed (caught up; what was recorded is forgotten); otherwise the cache that is behind.</returns>
    public abstract ConsistencyError? EnsureReady();
}

/// <summary>A consistency store with one owner that stands for "this controller's live reads".</summary>
internal sealed class RealLiveReadBreaker(IConsistencyStore store) : LiveReadBreaker
{
    // Owner names come from object names, which are never empty, so ("", "") cannot collide with a real owner.
    private static readonly NamespacedName LiveReads = new(string.Empty, string.Empty);

    public override void RecordLiveRead(GroupResource resource, string resourceVersion)
    {
        ArgumentNullException.ThrowIfNull(resourceVersion);
        store.WroteAt(LiveReads, string.Empty, resource, resourceVersion);
    }

    public override ConsistencyError? EnsureReady() => store.EnsureReady(LiveReads);
}
