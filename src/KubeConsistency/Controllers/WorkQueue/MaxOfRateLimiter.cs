namespace KubeConsistency.Controllers;

/// <summary>The worst case of several limiters (Go: <c>TypedMaxOfRateLimiter</c>).</summary>
internal sealed class MaxOfRateLimiter<T>(IRateLimiter<T>[] limiters) : IRateLimiter<T>
    where T : notnull
{
    public TimeSpan When(T item)
    {
        // Every limiter is asked (each records the attempt), as upstream does.
        var result = TimeSpan.Zero;
        foreach (var limiter in limiters)
        {
            var delay = limiter.When(item);
            if (delay > result)
            {
                result = delay;
            }
        }

        return result;
    }

    public int NumRequeues(T item)
    {
        var result = 0;
        foreach (var limiter in limiters)
        {
            result = Math.Max(result, limiter.NumRequeues(item));
        }

        return result;
    }

    public void Forget(T item)
    {
        foreach (var limiter in limiters)
        {
            limiter.Forget(item);
        }
    }
}
