namespace KubeConsistency.Controllers;

/// <summary>Caps another limiter's delays (Go: <c>TypedWithMaxWaitRateLimiter</c>).</summary>
internal sealed class WithMaxWaitRateLimiter<T>(IRateLimiter<T> limiter, TimeSpan maxDelay) : IRateLimiter<T>
    where T : notnull
{
    public TimeSpan When(T item)
    {
        var delay = limiter.When(item);
        return delay > maxDelay ? maxDelay : delay;
    }

    public int NumRequeues(T item) => limiter.NumRequeues(item);

    public void Forget(T item) => limiter.Forget(item);
}
