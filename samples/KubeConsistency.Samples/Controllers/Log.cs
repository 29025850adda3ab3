using Microsoft.Extensions.Logging;

namespace KubeConsistency.Samples.Controllers;

/// <summary>The sample controllers' log messages.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "{Kind} {Key} has been deleted")]
    public static partial void OwnerDeleted(ILogger logger, string kind, string key);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "{Kind} {Key} has an invalid selector")]
    public static partial void InvalidSelector(ILogger logger, string kind, string key, Exception error);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Too few replicas for {Key}: creating {Count}")]
    public static partial void CreatingReplicas(ILogger logger, string key, int count);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "Too many replicas for {Key}: deleting {Count}")]
    public static partial void DeletingReplicas(ILogger logger, string key, int count);

    [LoggerMessage(EventId = 5, Level = LogLevel.Debug, Message = "Adopted pod {Pod} into {Owner}")]
    public static partial void AdoptedPod(ILogger logger, string pod, NamespacedName owner);

    [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "Released pod {Pod} from {Owner}")]
    public static partial void ReleasedPod(ILogger logger, string pod, NamespacedName owner);

    [LoggerMessage(EventId = 7, Level = LogLevel.Debug, Message = "{Kind} {Key} changed since the cache saw it; retrying")]
    public static partial void StatusConflict(ILogger logger, string kind, string key);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "The status write of {Kind} {Owner} was not recorded for the consistency gate: the Kubernetes client needs a ConsistencyRecordingHandler in its handler chain")]
    public static partial void StatusWriteNotRecorded(ILogger logger, string kind, NamespacedName owner);
}
