namespace KubeConsistency.Controllers;

/// <summary>Fast delays for the first attempts of a key, slow ones after (Go: <c>TypedItemFastSlowRateLimiter</c>).</summary>
internal sealed class ItemFastSlowRateLimiter<T>(TimeSpan fastDelay, TimeSpan slowDelay, int maxFastAttempts, IEqualityComparer<T>? comparer) : IRateLimiter<T>
    where T : notnull
{
    private readonly Lock _lock = new();
    private readonly Dictionary<T, int> _failures = new(comparer);

    public TimeSpan When(T item)
    {
        int failures;
        lock (_lock)
        {
            _failures.TryGetValue(item, out failures);
            failures = failures == int.MaxValue ? failures : failures + 1;
            _failures[item] = failures;
        }

        return failures <= maxFastAttempts ? fastDelay : slowDelay;
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
