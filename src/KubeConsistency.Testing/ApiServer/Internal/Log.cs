using Microsoft.Extensions.Logging;

namespace KubeConsistency.Testing.ApiServer;

internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Embedded API server listening on {Address}")]
    public static partial void Listening(ILogger logger, Uri address);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Embedded API server stopped listening on {Address}")]
    public static partial void Stopped(ILogger logger, Uri address);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Unexpected error handling {Method} {Path}")]
    public static partial void UnexpectedError(ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Watch on {Resource} ended: the client fell {Capacity} events behind")]
    public static partial void WatcherOverflow(ILogger logger, string resource, int capacity);

    [LoggerMessage(EventId = 5, Level = LogLevel.Debug, Message = "{Method} {Path} -> {StatusCode}")]
    public static partial void Request(ILogger logger, string method, string path, int statusCode);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "Injected fault on {Method} {Path}: HTTP {StatusCode}")]
    public static partial void InjectedFault(ILogger logger, string method, string path, int statusCode);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "History compacted to revision {Revision}")]
    public static partial void Compacted(ILogger logger, long revision);

    [LoggerMessage(EventId = 8, Level = LogLevel.Debug, Message = "Watch on {Resource} dropped after {Events} events (fault injection)")]
    public static partial void WatchDropped(ILogger logger, string resource, int events);

    [LoggerMessage(EventId = 9, Level = LogLevel.Debug, Message = "Watch stream on {Resource} ended: {Reason}")]
    public static partial void WatchEnded(ILogger logger, string resource, string reason);
}
