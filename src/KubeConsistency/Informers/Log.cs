using Microsoft.Extensions.Logging;

namespace KubeConsistency.Informers;

internal static partial class Log
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "{Reflector}: listed {Count} items at resource version {ResourceVersion}")]
    public static partial void Listed(this ILogger logger, string reflector, int count, string resourceVersion);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "{Reflector}: {Phase} failed; retrying the list-and-watch cycle in {Delay}")]
    public static partial void CycleFailed(this ILogger logger, string reflector, string phase, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "{Reflector}: resource version {ResourceVersion} expired ({Reason}); relisting")]
    public static partial void Expired(this ILogger logger, string reflector, string resourceVersion, string reason);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "{Reflector}: watch failed; re-watching from the same resource version in {Delay}")]
    public static partial void WatchFailed(this ILogger logger, string reflector, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "{Reflector}: the watch-list request failed; falling back to LIST + WATCH because making progress is better than deadlocking")]
    public static partial void WatchListFallback(this ILogger logger, string reflector, Exception exception);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Information, Message = "{Reflector}: the server does not support watch-list ({Reason}); using LIST + WATCH from now on")]
    public static partial void WatchListUnsupported(this ILogger logger, string reflector, string reason);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Warning, Message = "{Reflector}: no watch event for {Silence}; the connection looks dead, re-watching")]
    public static partial void WatchSilent(this ILogger logger, string reflector, TimeSpan silence);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Error, Message = "{Reflector}: the queue rejected a {EventType} event at resource version {ResourceVersion}; the event is skipped")]
    public static partial void EventRejected(this ILogger logger, string reflector, string eventType, string resourceVersion, Exception exception);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "{Reflector}: the server throttled the watch; retrying in {Delay}")]
    public static partial void WatchThrottled(this ILogger logger, string reflector, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Debug, Message = "{Reflector}: watch ended cleanly at resource version {ResourceVersion}; re-watching")]
    public static partial void WatchEnded(this ILogger logger, string reflector, string resourceVersion);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Error, Message = "{Informer}: processing popped deltas failed; they are dropped")]
    public static partial void ProcessingFailed(this ILogger logger, string informer, Exception exception);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Error, Message = "{Informer}: event handler {Handler} threw from {Method}; the notification is skipped")]
    public static partial void HandlerFailed(this ILogger logger, string informer, string handler, string method, Exception exception);

    [LoggerMessage(EventId = 2014, Level = LogLevel.Information, Message = "{Reflector}: the watch-list stream ended before the initial-events-end bookmark ({Events} events); re-opening it")]
    public static partial void WatchListReopened(this ILogger logger, string reflector, long events);

    [LoggerMessage(EventId = 2015, Level = LogLevel.Warning, Message = "{Reflector}: the list returned resource version '{ResourceVersion}', which is not a valid resource version; relisting from a consistent read")]
    public static partial void InvalidListResourceVersion(this ILogger logger, string reflector, string resourceVersion);

    [LoggerMessage(EventId = 2016, Level = LogLevel.Warning, Message = "{Reflector}: {Request} made no progress for {Limit}; abandoned and retried")]
    public static partial void RequestStalled(this ILogger logger, string reflector, string request, TimeSpan limit);

    [LoggerMessage(EventId = 2017, Level = LogLevel.Error, Message = "{Reflector}: resync failed; ending the watch")]
    public static partial void ResyncFailed(this ILogger logger, string reflector, Exception exception);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Warning, Message = "{Informer}: resync period {Requested} for handler {Handler} is below the informer's check period {Check} after start; using {Check}")]
    public static partial void ResyncPeriodRaised(this ILogger logger, string informer, string handler, TimeSpan requested, TimeSpan check);
}
