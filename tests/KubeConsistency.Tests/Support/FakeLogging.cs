using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace KubeConsistency.Tests;

/// <summary>Look-ups by <c>LoggerMessage</c> event name (e.g. <c>CycleFailed</c>), which <see cref="FakeLogger"/> does not offer.</summary>
internal static class FakeLoggerEvents
{
    /// <summary>The records of one log event, in the order logged.</summary>
    public static IReadOnlyList<FakeLogRecord> Named(this FakeLogger logger, string eventName) =>
        [.. logger.Collector.GetSnapshot().Where(r => r.Id.Name == eventName)];

    /// <summary>The one record of a log event; fails the test when there is none or more than one.</summary>
    public static FakeLogRecord Single(this FakeLogger logger, string eventName) => Assert.Single(logger.Named(eventName));
}

/// <summary>
/// A logger factory whose loggers all write to one <see cref="FakeLogCollector"/>, and which records every category asked
/// for, logged to or not (<see cref="FakeLoggerProvider"/> records only the categories of what was logged).
/// </summary>
internal sealed class RecordingLoggerFactory : ILoggerFactory
{
    private readonly ConcurrentQueue<string> _categories = new();

    public FakeLogCollector Collector { get; } = new();

    public IReadOnlyList<string> Categories => [.. _categories];

    public ILogger CreateLogger(string categoryName)
    {
        _categories.Enqueue(categoryName);
        return new FakeLogger(Collector, categoryName);
    }

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("Tests log to the collector only.");

    public void Dispose()
    {
    }
}
