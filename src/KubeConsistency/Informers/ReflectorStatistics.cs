namespace KubeConsistency.Informers;

/// <summary>
/// Counters of what an informer's reflector has done and what went wrong; every failure the reflector
/// recovers from by retrying is counted here (and logged).
/// </summary>
/// <param name="Lists">Completed LIST cycles (all pages of one list count once).</param>
/// <param name="ListFailures">LIST cycles that failed and were retried after a backoff.</param>
/// <param name="WatchLists">Completed watch-list initial syncs.</param>
/// <param name="WatchListFallbacks">Watch-list attempts that failed and fell back to LIST.</param>
/// <param name="Watches">Watch requests started.</param>
/// <param name="WatchFailures">Watches that ended with an error (expired, decode error, server error, …).</param>
/// <param name="Expirations">Resource versions found expired (410 Gone) on a watch or list.</param>
/// <param name="Events">Watch events received (bookmarks included).</param>
/// <param name="RejectedEvents">Watch events the queue rejected (e.g. an object without a key); logged and skipped.</param>
/// <param name="Stalls">Requests abandoned for making no progress (a LIST page, a watch-list's initial stream); retried.</param>
/// <param name="InvalidResourceVersions">Lists whose resource version was not a valid one; rejected and relisted from a consistent read.</param>
public readonly record struct ReflectorStatistics(
    long Lists,
    long ListFailures,
    long WatchLists,
    long WatchListFallbacks,
    long Watches,
    long WatchFailures,
    long Expirations,
    long Events,
    long RejectedEvents,
    long Stalls = 0,
    long InvalidResourceVersions = 0);
