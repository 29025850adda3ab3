using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace KubeConsistency.Controllers;

/// <summary>Options for the queues made by <see cref="WorkQueue"/>.</summary>
/// <typeparam name="T">The key type.</typeparam>
public sealed class WorkQueueOptions<T>
    where T : notnull
{
    /// <summary>
    /// The queue's name: the <c>name</c> tag of its <c>workqueue_*</c> metrics. As in client-go, an unnamed queue
    /// (<see langword="null"/> or empty) emits no metrics.
    /// </summary>
    public string? Name { get; init; }

    /// <summary>The clock for delays, rate limiting and metrics; defaults to <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// The rate limiter of a rate-limiting queue; defaults to
    /// <see cref="RateLimiters.DefaultController{T}(TimeProvider?)"/> on <see cref="TimeProvider"/>.
    /// Ignored by queues that do not rate limit.
    /// </summary>
    public IRateLimiter<T>? RateLimiter { get; init; }

    /// <summary>Where metrics go; <see langword="null"/> uses the static <c>KubeConsistency</c> meter.</summary>
    public IMeterFactory? MeterFactory { get; init; }

    /// <summary>Where the queue logs; defaults to no logging.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Compares keys; defaults to <see cref="EqualityComparer{T}.Default"/>.</summary>
    public IEqualityComparer<T>? Comparer { get; init; }
}
