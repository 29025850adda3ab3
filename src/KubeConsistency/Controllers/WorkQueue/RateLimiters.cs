namespace KubeConsistency.Controllers;

/// <summary>
/// The rate limiters of client-go's <c>util/workqueue/default_rate_limiters.go</c>.
/// </summary>
public static class RateLimiters
{
    /// <summary>
    /// The default controller rate limiter (Go: <c>DefaultTypedControllerRateLimiter</c>): the larger of a per-key
    /// exponential backoff from 5 ms doubling to 1000 s and an overall token bucket of 10 qps with a burst of 100.
    /// </summary>
    /// <typeparam name="T">The key type.</typeparam>
    /// <param name="timeProvider">The bucket's clock; defaults to <see cref="TimeProvider.System"/>.</param>
    /// <returns>A new rate limiter.</returns>
    public static IRateLimiter<T> DefaultController<T>(TimeProvider? timeProvider = null)
        where T : notnull =>
        MaxOf(
            ItemExponentialFailure<T>(TimeSpan.FromMilliseconds(5), TimeSpan.FromSeconds(1000)),
            Bucket<T>(10, 100, timeProvider));

    /// <summary>
    /// A per-key exponential backoff from 1 ms to 1000 s (Go: <c>DefaultTypedItemBasedRateLimiter</c>).
    /// </summary>
    /// <typeparam name="T">The key type.</typeparam>
    /// <returns>A new rate limiter.</returns>
    public static IRateLimiter<T> DefaultItemBased<T>()
        where T : notnull => ItemExponentialFailure<T>(TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1000));

    /// <summary>
    /// A per-key exponential backoff (Go: <c>TypedItemExponentialFailureRateLimiter</c>): the n-th call of
    /// <see cref="IRateLimiter{T}.When"/> for a key returns <c>baseDelay * 2^(n-1)</c>, capped at
    /// <paramref name="maxDelay"/> (never overflowing); <see cref="IRateLimiter{T}.Forget"/> starts the key over.
    /// </summary>
    /// <typeparam name="T">The key type.</typeparam>
    /// <param name="baseDelay">The first delay; not negative.</param>
    /// <param name="maxDelay">The largest delay; not negative.</param>
    /// <param name="comparer">Compares keys; defaults to <see cref="EqualityComparer{T}.Default"/>.</param>
    /// <returns>A new rate limiter.</returns>
    public static IRateLimiter<T> ItemExponentialFailure<T>(TimeSpan baseDelay, TimeSpan maxDelay, IEqualityComparer<T>? comparer = null)
        where T : notnull
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(baseDelay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDelay, TimeSpan.Zero);
        return new ItemExponentialFailureRateLimiter<T>(baseDelay, maxDelay, comparer);
    }

    /// <summary>
    /// A per-key limiter that returns <paramref name="fastDelay"/> for the first <paramref name="maxFastAttempts"/>
    /// calls for a key and <paramref name="slowDelay"/> after that (Go: <c>TypedItemFastSlowRateLimiter</c>).
    /// </summary>
    /// <typeparam name="T">The key type.</typeparam>
    /// <param name="fastDelay">The delay of the first attempts.</param>
    /// <param name="slowDelay">The delay after them.</param>
    /// <param name="maxFastAttempts">How many attempts are fast.</param>
    /// <param name="comparer">Compares keys; defaults to <see cref="EqualityComparer{T}.Default"/>.</param>
    /// <returns>A new rate limiter.</returns>
    public static IRateLimiter<T> ItemFastSlow<T>(TimeSpan fastDelay, TimeSpan slowDelay, int maxFastAttempts, IEqualityComparer<T>? comparer = null)
        where T : notnull => new ItemFastSlowRateLimiter<T>(fastDelay, slowDelay, maxFastAttempts, comparer);

    /// <summary>
    /// An overall token bucket, the same for every key (Go: <c>TypedBucketRateLimiter</c> over
    /// <c>rate.NewLimiter(limit, burst)</c>, returning <c>Reserve().Delay()</c>). The bucket starts full; every call
    /// takes a token, and once the bucket is empty the delays grow by <c>1/limit</c> seconds per call.
    /// </summary>
    /// <typeparam name="T">The key type.</typeparam>
    /// <param name="limit">Tokens per second; not negative; <see cref="double.PositiveInfinity"/> for no limit.</param>
    /// <param name="burst">The bucket size; not negative.</param>
    /// <param name="timeProvider">The clock; defaults to <see cref="TimeProvider.System"/>.</param>
    /// <returns>A new rate limiter.</returns>
    public static IRateLimiter<T> Bucket<T>(double limit, int burst, TimeProvider? timeProvider = null)
        where T : notnull
    {
        if (double.IsNaN(limit) || limit < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(limit), limit, "The limit must be zero or positive.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(burst);
        return new BucketRateLimiter<T>(limit, burst, timeProvider ?? TimeProvider.System);
    }

    /// <summary>
    /// Asks every limiter and returns the longest delay (Go: <c>TypedMaxOfRateLimiter</c>);
    /// <see cref="IRateLimiter{T}.NumRequeues"/> is the largest count, <see cref="IRateLimiter{T}.Forget"/> forgets
    /// in all of them.
    /// </summary>
    /// <typeparam name="T">The key type.</typeparam>
    /// <param name="limiters">The limiters to combine.</param>
    /// <returns>A new rate limiter.</returns>
    public static IRateLimiter<T> MaxOf<T>(params IRateLimiter<T>[] limiters)
        where T : notnull
    {
        ArgumentNullException.ThrowIfNull(limiters);
        foreach (var limiter in limiters)
        {
            ArgumentNullException.ThrowIfNull(limiter, nameof(limiters));
        }

        return new MaxOfRateLimiter<T>([.. limiters]);
    }

    /// <summary>
    /// Caps the delays of <paramref name="limiter"/> at <paramref name="maxDelay"/>
    /// (Go: <c>TypedWithMaxWaitRateLimiter</c>).
    /// </summary>
    /// <typeparam name="T">The key type.</typeparam>
    /// <param name="limiter">The limiter to cap.</param>
    /// <param name="maxDelay">The longest delay.</param>
    /// <returns>A new rate limiter.</returns>
    public static IRateLimiter<T> WithMaxWait<T>(IRateLimiter<T> limiter, TimeSpan maxDelay)
        where T : notnull
    {
        ArgumentNullException.ThrowIfNull(limiter);
        return new WithMaxWaitRateLimiter<T>(limiter, maxDelay);
    }
}
