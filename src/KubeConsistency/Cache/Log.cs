using Microsoft.Extensions.Logging;

namespace KubeConsistency.Cache;

internal static partial class Log
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Error, Message = "{Fifo}: key {Key} is not in the known objects; queuing a tombstone without an object")]
    public static partial void KnownObjectMissing(this ILogger logger, string fifo, string key);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "{Fifo}: key {Key} is not in the known objects; cannot queue it for sync")]
    public static partial void SyncObjectMissing(this ILogger logger, string fifo, string key);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "{Fifo}: processing {Count} deltas took {Elapsed} with {Depth} more queued; slow event handlers are blocking the queue")]
    public static partial void SlowProcessing(this ILogger logger, string fifo, int count, TimeSpan elapsed, int depth);
}
