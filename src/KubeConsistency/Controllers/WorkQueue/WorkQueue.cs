namespace KubeConsistency.Controllers;

/// <summary>
/// Creates work queues with client-go <c>util/workqueue</c> semantics (upstream-semantics.md §8.1: the controller
/// queue that a failed sync requeues into with <c>AddRateLimited</c>).
/// </summary>
/// <example>
/// <code>
/// using var queue = WorkQueue.CreateRateLimiting(new WorkQueueOptions&lt;string&gt; { Name = "replicaset" });
/// while (true)
/// {
///     var (key, shutdown) = await queue.GetAsync(ct);
///     if (shutdown) break;
///     try
///     {
///         await SyncAsync(key, ct);
///         queue.Forget(key);
///     }
///     catch (Exception)
///     {
///         queue.AddRateLimited(key);
///     }
///     finally
///     {
///         queue.Done(key);
///     }
/// }
/// </code>
/// </example>
public static class WorkQueue
{
    /// <summary>Creates a plain deduplicating FIFO work queue (Go: <c>NewTypedWithConfig</c>).</summary>
    /// <typeparam name="T">The key type.</typeparam>
    /// <param name="options">Options; <see langword="null"/> for defaults.</param>
    /// <returns>The queue.</returns>
    public static IWorkQueue<T> Create<T>(WorkQueueOptions<T>? options = null)
        where T : notnull => new WorkQueueCore<T>(options ?? new WorkQueueOptions<T>(), rateLimiter: null);

    /// <summary>Creates a work queue that can add keys after a delay (Go: <c>NewTypedDelayingQueueWithConfig</c>).</summary>
    /// <typeparam name="T">The key type.</typeparam>
    /// <param name="options">Options; <see langword="null"/> for defaults.</param>
    /// <returns>The queue.</returns>
    public static IDelayingWorkQueue<T> CreateDelaying<T>(WorkQueueOptions<T>? options = null)
        where T : notnull => new WorkQueueCore<T>(options ?? new WorkQueueOptions<T>(), rateLimiter: null);

    /// <summary>
    /// Creates a rate-limited work queue (Go: <c>NewTypedRateLimitingQueueWithConfig</c>), by default with
    /// <see cref="RateLimiters.DefaultController{T}(TimeProvider?)"/>.
    /// </summary>
    /// <typeparam name="T">The key type.</typeparam>
    /// <param name="options">Options; <see langword="null"/> for defaults.</param>
    /// <returns>The queue.</returns>
    public static IRateLimitingWorkQueue<T> CreateRateLimiting<T>(WorkQueueOptions<T>? options = null)
        where T : notnull
    {
        options ??= new WorkQueueOptions<T>();
        return new WorkQueueCore<T>(options, options.RateLimiter ?? RateLimiters.DefaultController<T>(options.TimeProvider));
    }
}
