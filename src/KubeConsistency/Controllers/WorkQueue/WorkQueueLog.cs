using Microsoft.Extensions.Logging;

namespace KubeConsistency.Controllers;

/// <summary>Source-generated log messages of the work queue.</summary>
internal static partial class WorkQueueLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Debug, Message = "Work queue {QueueName} shutting down (drain: {Drain}; queued: {Queued}, processing: {Processing}, delayed keys dropped: {Dropped})")]
    public static partial void ShuttingDown(ILogger logger, string queueName, bool drain, int queued, int processing, int dropped);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Debug, Message = "Work queue {QueueName} drained")]
    public static partial void Drained(ILogger logger, string queueName);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Work queue {QueueName}: Done called for key {Key}, which is not being processed; ignored")]
    public static partial void DoneNotProcessing(ILogger logger, string queueName, object key);
}
