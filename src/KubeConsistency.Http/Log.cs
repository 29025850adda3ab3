using Microsoft.Extensions.Logging;

namespace KubeConsistency.Http;

/// <summary>Log messages of the Kubernetes client. No message ever carries a credential.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Retrying {Method} {Path} in {Delay} (retry {Attempt} of {MaxRetries}) after HTTP {StatusCode}")]
    public static partial void RetryingAfterStatus(ILogger logger, string method, string path, TimeSpan delay, int attempt, int maxRetries, int statusCode);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Retrying {Method} {Path} in {Delay} (retry {Attempt} of {MaxRetries}) after a transport error")]
    public static partial void RetryingAfterTransportError(ILogger logger, string method, string path, TimeSpan delay, int attempt, int maxRetries, Exception exception);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Could not re-read the bearer token file {Path} ({Reason}); keeping the previous token")]
    public static partial void TokenFileReadFailed(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Debug, Message = "Watch {Path} opened")]
    public static partial void WatchOpened(ILogger logger, string path);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Debug, Message = "Watch {Path} ended cleanly after {Events} events")]
    public static partial void WatchEnded(ILogger logger, string path, long events);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Error, Message = "Expected to load the in-cluster root CA from {Path}, but could not ({Reason}); using the system trust store")]
    public static partial void InClusterCaUnavailable(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Debug, Message = "{Method} {Path} failed with HTTP {StatusCode} ({Reason})")]
    public static partial void RequestFailed(ILogger logger, string method, string path, int statusCode, string? reason);
}
