namespace KubeConsistency.Controllers;

/// <summary>
/// Decides how long a key waits before it is requeued (client-go <c>TypedRateLimiter</c>). Implementations must
/// be thread-safe. Build them with <see cref="RateLimiters"/>.
/// </summary>
/// <typeparam name="T">The key type.</typeparam>
public interface IRateLimiter<in T>
    where T : notnull
{
    /// <summary>Records a requeue of <paramref name="item"/> and returns how long it should wait.</summary>
    /// <param name="item">The key.</param>
    /// <returns>The delay; <see cref="TimeSpan.Zero"/> for none, <see cref="TimeSpan.MaxValue"/> for never.</returns>
    TimeSpan When(T item);

    /// <summary>Stops tracking <paramref name="item"/>, whether it finally succeeded or was given up on.</summary>
    /// <param name="item">The key.</param>
    void Forget(T item);

    /// <summary>How many times <see cref="When"/> was called for <paramref name="item"/> since it was last forgotten.</summary>
    /// <param name="item">The key.</param>
    /// <returns>The failure count.</returns>
    int NumRequeues(T item);
}
