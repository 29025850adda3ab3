using KubeConsistency.Cache.Advanced;

namespace KubeConsistency.Cache;

/// <summary>
/// The informer's queue between the reflector (producer) and the store/handlers (one consumer)
/// (Go: <c>cache.Queue</c> implemented by <c>RealFIFO</c>, upstream-semantics.md §2).
/// </summary>
/// <typeparam name="T">The object type.</typeparam>
public interface IDeltaQueue<T>
    where T : class
{
    /// <summary>Queues an <see cref="DeltaType.Added"/> delta (after the transformer).</summary>
    /// <param name="obj">The object.</param>
    /// <exception cref="KeyException">No key can be computed; nothing is queued.</exception>
    void Add(T obj);

    /// <summary>Queues an <see cref="DeltaType.Updated"/> delta (after the transformer).</summary>
    /// <param name="obj">The object.</param>
    /// <exception cref="KeyException">No key can be computed; nothing is queued.</exception>
    void Update(T obj);

    /// <summary>Queues a <see cref="DeltaType.Deleted"/> delta (after the transformer).</summary>
    /// <param name="obj">The deleted object.</param>
    /// <exception cref="KeyException">No key can be computed; nothing is queued.</exception>
    void Delete(T obj);

    /// <summary>
    /// Queues a relist: in atomic mode exactly one <see cref="DeltaType.ReplacedAll"/>; in legacy mode tombstones
    /// for vanished keys, then one <see cref="DeltaType.Replaced"/> per item (§2.3).
    /// </summary>
    /// <param name="items">The listed objects.</param>
    /// <param name="resourceVersion">The list resource version.</param>
    void Replace(IReadOnlyList<T> items, string resourceVersion);

    /// <summary>Queues a resync: one <see cref="DeltaType.SyncAll"/> (atomic) or a <see cref="DeltaType.Sync"/> per known key without pending deltas (legacy).</summary>
    void Resync();

    /// <summary>Queues a <see cref="DeltaType.Bookmark"/> when bookmarks are emitted; otherwise does nothing (§2.3).</summary>
    /// <param name="resourceVersion">The bookmark resource version.</param>
    void Bookmark(string resourceVersion);

    /// <summary>Closes the queue: once it is empty, pops return <see langword="false"/>.</summary>
    void Close();

    /// <summary>Whether <see cref="Close"/> was called.</summary>
    bool IsClosed { get; }

    /// <summary>
    /// Whether the initial population has been processed: an add/update/delete came first, or every delta
    /// queued up to and including the first relist has been processed (§2.4). Latched: never reverts.
    /// </summary>
    bool HasSynced { get; }

    /// <summary>Completes when <see cref="HasSynced"/> becomes true.</summary>
    Task Synced { get; }

    /// <summary>The number of queued deltas.</summary>
    int Count { get; }

    /// <summary>
    /// Waits for a delta, removes it and processes it (§2.4 Pop). Errors thrown by <paramref name="process"/>
    /// propagate; the delta is not re-queued.
    /// </summary>
    /// <param name="process">Processes the delta.</param>
    /// <param name="cancellationToken">Cancels the wait (a queued delta is processed even when cancelled).</param>
    /// <returns><see langword="false"/> when the queue is closed and empty.</returns>
    ValueTask<bool> PopAsync(PopProcessor<T> process, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits for deltas, removes up to <see cref="RealFifo.BatchSize"/> consecutive ones with distinct keys and
    /// processes them together (§2.4 PopBatch); a batch of one goes to <paramref name="processSingle"/>.
    /// </summary>
    /// <param name="processBatch">Processes a batch of two or more.</param>
    /// <param name="processSingle">Processes a single delta.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns><see langword="false"/> when the queue is closed and empty.</returns>
    ValueTask<bool> PopBatchAsync(BatchProcessor<T> processBatch, PopProcessor<T> processSingle, CancellationToken cancellationToken = default);
}
