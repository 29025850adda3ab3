namespace KubeConsistency.Consistency;

/// <summary>
/// Anything that can say which resource version it has applied (upstream: <c>LastSyncRVGetter</c>, §7.1).
/// Every <see cref="Cache.IStore{T}"/> implements it; the <see cref="IConsistencyStore"/> reads it.
/// </summary>
public interface ILastSyncResourceVersionGetter
{
    /// <summary>
    /// The resource version of what the store has actually applied; <c>""</c> before the first sync or when
    /// resource-version tracking is off (§4.3).
    /// </summary>
    string LastStoreSyncResourceVersion { get; }
}
