using Microsoft.Extensions.Logging;

namespace KubeConsistency.Controllers;

/// <summary>Source-generated log messages of the controller building blocks.</summary>
internal static partial class ControllerLog
{
    // Controller host: 5001–5099.
    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Starting controller {Controller} with {Workers} workers")]
    public static partial void Starting(ILogger logger, string controller, int workers);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Controller {Controller}: waiting for caches to sync")]
    public static partial void WaitingForCaches(ILogger logger, string controller);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "Controller {Controller}: caches are synced")]
    public static partial void CachesSynced(ILogger logger, string controller);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Controller {Controller}: stopped before the caches synced; no worker was started")]
    public static partial void CacheSyncAborted(ILogger logger, string controller);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Information, Message = "Controller {Controller}: stopping, waiting for reconciles in flight")]
    public static partial void Stopping(ILogger logger, string controller);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Information, Message = "Controller {Controller} stopped")]
    public static partial void Stopped(ILogger logger, string controller);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Error, Message = "Controller {Controller}: reconcile of {Key} failed (requeues so far: {Requeues}); retrying with backoff")]
    public static partial void ReconcileFailed(ILogger logger, string controller, string key, int requeues, Exception exception);

    [LoggerMessage(EventId = 5008, Level = LogLevel.Debug, Message = "Controller {Controller}: reconcile of {Key} cancelled by shutdown")]
    public static partial void ReconcileCancelled(ILogger logger, string controller, string key);

    [LoggerMessage(EventId = 5009, Level = LogLevel.Debug, Message = "Controller {Controller}: sync of {Key} deferred until the {GroupResource} cache catches up; requeued with backoff")]
    public static partial void StaleSyncRequeued(ILogger logger, string controller, string key, string groupResource);

    [LoggerMessage(EventId = 5010, Level = LogLevel.Error, Message = "Controller {Controller}: reconcile of {Key} returned an unknown outcome {Outcome}; requeued with backoff")]
    public static partial void UnknownOutcome(ILogger logger, string controller, string key, int outcome);

    [LoggerMessage(EventId = 5011, Level = LogLevel.Warning, Message = "Event handler: could not compute a key for a {Type}: {Reason}")]
    public static partial void KeyFailed(ILogger logger, string type, string reason);

    // Staleness gate: 5101–5199.
    [LoggerMessage(EventId = 5101, Level = LogLevel.Information, Message = "{Controller}: skipping sync of {Owner}: the {GroupResource} cache has not caught up with this controller's own write (read resource version {ReadResourceVersion}, wrote {WroteResourceVersion}); {Suppressed} similar messages for this owner suppressed since the last one")]
    public static partial void StaleSyncSkipped(ILogger logger, string controller, NamespacedName owner, string groupResource, string readResourceVersion, string wroteResourceVersion, long suppressed);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Debug, Message = "{Controller}: the caches caught up with the writes for {Owner} after {Skips} skipped syncs")]
    public static partial void CaughtUp(ILogger logger, string controller, NamespacedName owner, long skips);

    [LoggerMessage(EventId = 5103, Level = LogLevel.Debug, Message = "{Controller}: delete notification without a last known state ({Key}); nothing to clear")]
    public static partial void TombstoneWithoutObject(ILogger logger, string controller, string key);

    [LoggerMessage(EventId = 5104, Level = LogLevel.Warning, Message = "{Controller}: a write on behalf of {Owner} returned an object without a resource version; nothing recorded for {GroupResource}")]
    public static partial void WriteWithoutResourceVersion(ILogger logger, string controller, NamespacedName owner, string groupResource);

    [LoggerMessage(EventId = 5105, Level = LogLevel.Warning, Message = "{Controller}: a delete of {Key} ({GroupResource}) on behalf of {Owner} cannot be tracked: the answer carried no resource version and no cache (or no UID) was given to observe it in")]
    public static partial void DeleteUntracked(ILogger logger, string controller, NamespacedName owner, string groupResource, string key);

    [LoggerMessage(EventId = 5106, Level = LogLevel.Information, Message = "{Controller}: skipping sync of {Owner}: the {GroupResource} cache has not observed this controller's delete of {Key} (uid {Uid}; read resource version {ReadResourceVersion}); {Suppressed} similar messages for this owner suppressed since the last one")]
    public static partial void StaleSyncSkippedForDelete(ILogger logger, string controller, NamespacedName owner, string groupResource, string? key, string? uid, string readResourceVersion, long suppressed);

    // Expectations: 5201–5299.
    [LoggerMessage(EventId = 5201, Level = LogLevel.Debug, Message = "Setting expectations for {Controller}: add {Add}, del {Del}")]
    public static partial void SettingExpectations(ILogger logger, string controller, long add, long del);

    [LoggerMessage(EventId = 5202, Level = LogLevel.Debug, Message = "Controller expectations of {Controller} expired (add {Add}, del {Del})")]
    public static partial void ExpectationsExpired(ILogger logger, string controller, long add, long del);

    [LoggerMessage(EventId = 5203, Level = LogLevel.Error, Message = "Clobbering the existing expected deletions of {Controller}: {Keys}")]
    public static partial void ClobberingDeleteKeys(ILogger logger, string controller, string keys);

    // Pod control: 5301–5399.
    [LoggerMessage(EventId = 5301, Level = LogLevel.Debug, Message = "Controller {Owner} created pod {Pod}")]
    public static partial void PodCreated(ILogger logger, NamespacedName owner, string pod);

    [LoggerMessage(EventId = 5302, Level = LogLevel.Warning, Message = "Controller {Owner} failed to create a pod; expectations lowered")]
    public static partial void PodCreateFailed(ILogger logger, NamespacedName owner, Exception exception);

    [LoggerMessage(EventId = 5303, Level = LogLevel.Debug, Message = "Controller {Owner} deleting pod {Pod}")]
    public static partial void DeletingPod(ILogger logger, NamespacedName owner, string pod);

    [LoggerMessage(EventId = 5304, Level = LogLevel.Debug, Message = "Pod {Pod} of {Owner} has already been deleted")]
    public static partial void PodAlreadyDeleted(ILogger logger, NamespacedName owner, string pod);

    [LoggerMessage(EventId = 5305, Level = LogLevel.Warning, Message = "Controller {Owner} failed to delete pod {Pod}; expectations lowered")]
    public static partial void PodDeleteFailed(ILogger logger, NamespacedName owner, string pod, Exception exception);
}
