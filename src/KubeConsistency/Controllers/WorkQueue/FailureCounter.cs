namespace KubeConsistency.Controllers;

/// <summary>The per-item failure counts that client-go's per-item rate limiters keep (thread-safe, saturating).</summary>
internal sealed class FailureCounter<T>(IEqualityComparer<T>? comparer)
    where T : notnull
{
    private readonly Lock _lock = new();
    private readonly Dictionary<T, int> _failures = new(comparer);

    /// <summary>Counts one more failure of <paramref name="item"/>; returns the count including it.</summary>
    public int Increment(T item)
    {
        lock (_lock)
        {
            _failures.TryGetValue(item, out var failures);
            failures = failures == int.MaxValue ? failures : failures + 1;
            _failures[item] = failures;
            return failures;
        }
    }

    /// <summary>Go: <c>NumRequeues</c>.</summary>
    public int Count(T item)
    {
        lock (_lock)
        {
            return _failures.TryGetValue(item, out var failures) ? failures : 0;
        }
    }

    /// <summary>Go: <c>Forget</c>.</summary>
    public void Forget(T item)
    {
        lock (_lock)
        {
            _failures.Remove(item);
        }
    }
}
