namespace KubeConsistency.Controllers;

/// <summary>Per-key <c>baseDelay * 2^failures</c>, capped (Go: <c>TypedItemExponentialFailureRateLimiter</c>).</summary>
internal sealed class ItemExponentialFailureRateLimiter<T>(TimeSpan baseDelay, TimeSpan maxDelay, IEqualityComparer<T>? comparer) : IRateLimiter<T>
    where T : notnull
{
    private readonly Lock _lock = new();
    private readonly Dictionary<T, int> _failures = new(comparer);

    public TimeSpan When(T item)
    {
        int exponent;
        lock (_lock)
        {
            _failures.TryGetValue(item, out exponent);
            _failures[item] = exponent == int.MaxValue ? exponent : exponent + 1;
        }

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

    public int NumRequeues(T item)
    {
        lock (_lock)
        {
            return _failures.TryGetValue(item, out var failures) ? failures : 0;
        }
    }

    public void Forget(T item)
    {
        lock (_lock)
        {
            _failures.Remove(item);
        }
    }
}
