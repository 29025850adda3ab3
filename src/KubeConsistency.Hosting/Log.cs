using Microsoft.Extensions.Logging;

namespace KubeConsistency.Hosting;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Started {Count} informer(s): {Names}")]
    public static partial void InformersStarted(ILogger logger, int count, string names);

    [LoggerMessage(2, LogLevel.Information, "Informers stopped")]
    public static partial void InformersStopped(ILogger logger);

    [LoggerMessage(3, LogLevel.Information, "Caches synced")]
    public static partial void CachesSynced(ILogger logger);

    [LoggerMessage(4, LogLevel.Information, "{Identity} is leading: starting {Count} controller(s)")]
    public static partial void Leading(ILogger logger, string identity, int count);

    [LoggerMessage(5, LogLevel.Information, "Controller {Name} stopped")]
    public static partial void ControllerStopped(ILogger logger, string name);

    [LoggerMessage(6, LogLevel.Warning, "{Identity} lost the leader Lease: controllers stopped, stopping the application")]
    public static partial void LeaseLost(ILogger logger, string identity);

    [LoggerMessage(7, LogLevel.Error, "The controllers failed; stopping the application")]
    public static partial void ControllersFailed(ILogger logger, Exception exception);

    [LoggerMessage(8, LogLevel.Warning, "The controllers did not drain within the host's shutdown timeout")]
    public static partial void DrainTimedOut(ILogger logger);

    [LoggerMessage(9, LogLevel.Information, "Caches caught up with the server in {Milliseconds:0} ms before leading")]
    public static partial void CaughtUp(ILogger logger, double milliseconds);

    [LoggerMessage(10, LogLevel.Warning, "Caches did not catch up with the server within {Timeout}; starting the controllers anyway")]
    public static partial void CatchUpTimedOut(ILogger logger, TimeSpan timeout);
}
