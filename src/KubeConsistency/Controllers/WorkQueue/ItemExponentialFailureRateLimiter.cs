namespace KubeConsistency.Controllers;

/// <summary>Per-key <c>baseDelay * 2^failures</c>, capped (Go: <c>TypedItemExponentialFailureRateLimiter</c>).</summary>
internal sealed class ItemExponentialFailureRateLimiter<T>(TimeSpan baseDelay, TimeSpan maxDelay, IEqualityComparer<T>? comparer) : IRateLimiter<T>
    where T : notnull
{
    private readonly FailureCounter<T> _failures = new(comparer);

    public TimeSpan When(T item)
    {
        // The exponent is the number of earlier failures (the first retry waits baseDelay).
        var exponent = _failures.Increment(item) - 1;
        if (baseDelay == TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        // As upstream: compute in floating point so that the doubling can never overflow, then cap.
        var backoff = baseDelay.Ticks * Math.Pow(2, exponent);
        if (backoff >= maxDelay.Ticks)
        {
            return maxDelay;
        }

        return TimeSpan.FromTicks((long)backoff);
    }

    public int NumRequeues(T item) => _failures.Count(item);

    public void Forget(T item) => _failures.Forget(item);
}
