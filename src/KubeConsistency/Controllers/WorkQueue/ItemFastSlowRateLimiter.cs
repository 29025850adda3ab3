namespace KubeConsistency.Controllers;

/// <summary>Fast delays for the first attempts of a key, slow ones after (Go: <c>TypedItemFastSlowRateLimiter</c>).</summary>
internal sealed class ItemFastSlowRateLimiter<T>(TimeSpan fastDelay, TimeSpan slowDelay, int maxFastAttempts, IEqualityComparer<T>? comparer) : IRateLimiter<T>
    where T : notnull
{
    private readonly FailureCounter<T> _failures = new(comparer);

    public TimeSpan When(T item) => _failures.Increment(item) <= maxFastAttempts ? fastDelay : slowDelay;

    public int NumRequeues(T item) => _failures.Count(item);

    public void Forget(T item) => _failures.Forget(item);
}
