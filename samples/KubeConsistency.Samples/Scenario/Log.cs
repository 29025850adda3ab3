using Microsoft.Extensions.Logging;

namespace KubeConsistency.Samples.Scenario;

/// <summary>The scenario runner's log messages.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Scenario finished: {Summary}")]
    public static partial void ScenarioFinished(ILogger logger, ScenarioSummary summary);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Cleaning up the workload (label {Label}={Run}) failed; delete it by hand")]
    public static partial void CleanUpFailed(ILogger logger, string label, string run, Exception error);
}
