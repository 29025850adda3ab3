using System.Diagnostics.CodeAnalysis;

namespace KubeConsistency.Controllers;

/// <summary>
/// A work queue with client-go <c>workqueue.TypedInterface</c> semantics: a key is never handed to two workers
/// at once, adding a key that is already queued is a no-op, adding a key while a worker processes it queues it
/// again (once) when the worker calls <see cref="Done"/>, and keys are otherwise handed out in FIFO order.
/// </summary>
/// <typeparam name="T">The key type, typically a <c>namespace/name</c> string; compared with the configured comparer.</typeparam>
/// <remarks>
/// A worker loop takes a key with <see cref="GetAsync"/> (or <see cref="TryGet"/>), processes it and always calls
/// <see cref="Done"/>, typically in a <c>finally</c> block. Disposing the queue is the same as <see cref="ShutDown"/>.
/// All members are thread-safe.
/// </remarks>
public interface IWorkQueue<T> : IDisposable
    where T : notnull
{
    /// <summary>
    /// The number of keys waiting to be handed out (not those being processed), for information only: never gate
    /// an <see cref="Add"/> or <see cref="GetAsync"/> on it (Go: <c>Len</c>).
    /// </summary>
    int Len { get; }

    /// <summary>Whether <see cref="ShutDown"/> or <see cref="ShutDownWithDrainAsync"/> has been called.</summary>
    bool ShuttingDown { get; }

    /// <summary>
    /// Marks <paramref name="item"/> as needing processing. Ignored when the key is already queued, and after shutdown.
    /// When the key is being processed it is queued again once that worker calls <see cref="Done"/>.
    /// </summary>
    /// <param name="item">The key.</param>
    void Add(T item);

    /// <summary>
    /// Takes the next key without waiting. The caller must call <see cref="Done"/> with it after processing.
    /// </summary>
    /// <param name="item">The key, when one was available.</param>
    /// <returns><see langword="true"/> when a key was taken; <see langword="false"/> when none is queued right now.</returns>
    bool TryGet([MaybeNullWhen(false)] out T item);

    /// <summary>
    /// Waits for the next key (Go: <c>Get</c>). After shutdown, keys still queued are handed out first; then the
    /// result has <see cref="WorkQueueItem{T}.Shutdown"/> set and the worker should exit. The caller must call
    /// <see cref="Done"/> with every key it receives.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait; a cancelled wait never consumes a key.</param>
    /// <returns>The key, or a shutdown result.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    ValueTask<WorkQueueItem<T>> GetAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Marks <paramref name="item"/> as done processing. If it was added again while it was processed, it is queued
    /// again now. A key that is not being processed is ignored (and logged).
    /// </summary>
    /// <param name="item">A key returned by <see cref="GetAsync"/> or <see cref="TryGet"/>.</param>
    void Done(T item);

    /// <summary>
    /// Starts shutting down: new adds are ignored, delayed keys are dropped, and workers get shutdown results once
    /// the keys already queued are handed out. Also releases a pending <see cref="ShutDownWithDrainAsync"/>.
    /// Idempotent.
    /// </summary>
    void ShutDown();

    /// <summary>
    /// Shuts down like <see cref="ShutDown"/>, then waits until every key being processed has been marked
    /// <see cref="Done"/> (Go: <c>ShutDownWithDrain</c>). Workers must keep calling <see cref="Done"/>, or this never
    /// completes; a later <see cref="ShutDown"/> completes it at once.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting; the queue stays shut down.</param>
    /// <returns>A task that completes when no key is being processed.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    Task ShutDownWithDrainAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// A work queue that can add a key later (client-go <c>TypedDelayingInterface</c>), to requeue after a failure
/// without a hot loop.
/// </summary>
/// <typeparam name="T">The key type.</typeparam>
public interface IDelayingWorkQueue<T> : IWorkQueue<T>
    where T : notnull
{
    /// <summary>
    /// Adds <paramref name="item"/> once <paramref name="delay"/> has passed on the queue's <see cref="TimeProvider"/>.
    /// A non-positive delay adds at once. If the key is already waiting, the earlier ready time wins. Ignored after
    /// shutdown. Counts towards <c>workqueue_retries_total</c>.
    /// </summary>
    /// <param name="item">The key.</param>
    /// <param name="delay">How long to wait before adding.</param>
    void AddAfter(T item, TimeSpan delay);
}

/// <summary>
/// A delaying work queue with a per-key rate limiter (client-go <c>TypedRateLimitingInterface</c>): the standard
/// controller queue. On a failed sync call <see cref="AddRateLimited"/>; on success call <see cref="Forget"/>.
/// </summary>
/// <typeparam name="T">The key type.</typeparam>
public interface IRateLimitingWorkQueue<T> : IDelayingWorkQueue<T>
    where T : notnull
{
    /// <summary>
    /// Adds <paramref name="item"/> after the delay the rate limiter assigns
    /// (<c>AddAfter(item, limiter.When(item))</c>). The limiter is consulted even after shutdown, as upstream does.
    /// </summary>
    /// <param name="item">The key.</param>
    void AddRateLimited(T item);

    /// <summary>
    /// Stops tracking <paramref name="item"/> in the rate limiter (its backoff starts over). Does not replace
    /// <see cref="IWorkQueue{T}.Done"/>.
    /// </summary>
    /// <param name="item">The key.</param>
    void Forget(T item);

    /// <summary>How many times the rate limiter has seen <paramref name="item"/> since it was last forgotten.</summary>
    /// <param name="item">The key.</param>
    /// <returns>The requeue count.</returns>
    int NumRequeues(T item);
}
