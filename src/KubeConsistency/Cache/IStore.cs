using KubeConsistency.Cache.Advanced;
using KubeConsistency.Consistency;

namespace KubeConsistency.Cache;

/// <summary>
/// Lists keys and gets objects by key (Go: <c>KeyListerGetter</c>): what the legacy, non-atomic FIFO needs
/// to know about the objects already in the cache.
/// </summary>
/// <typeparam name="T">The object type.</typeparam>
public interface IKeyListerGetter<T>
    where T : class
{
    /// <summary>Every key currently stored, in no particular order.</summary>
    IReadOnlyList<string> ListKeys();

    /// <summary>Gets the object stored under <paramref name="key"/>.</summary>
    /// <param name="key">The key.</param>
    /// <param name="obj">The stored object when found.</param>
    /// <returns>Whether the key is stored.</returns>
    bool TryGetByKey(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out T obj);
}

/// <summary>
/// A thread-safe object cache keyed by <see cref="KeyFunction"/> (Go: <c>cache.Store</c>) that knows the
/// resource version it has applied (upstream-semantics.md §4).
/// </summary>
/// <remarks>
/// Objects handed out by the store are shared: treat them as immutable. Every mutation also moves
/// <see cref="ILastSyncResourceVersionGetter.LastStoreSyncResourceVersion"/> by the §4.2 rules ("last applied",
/// not the maximum).
/// </remarks>
/// <typeparam name="T">The object type.</typeparam>
public interface IStore<T> : IKeyListerGetter<T>, ILastSyncResourceVersionGetter
    where T : class
{
    /// <summary>The function that computes each object's key.</summary>
    KeyFunc<T> KeyFunction { get; }

    /// <summary>The number of stored objects.</summary>
    int Count { get; }

    /// <summary>Adds or replaces the object under its key; the store RV becomes the object's RV (§4.2).</summary>
    /// <param name="obj">The object.</param>
    /// <exception cref="KeyException">No key can be computed for the object.</exception>
    void Add(T obj);

    /// <summary>Same as <see cref="Add"/>.</summary>
    /// <param name="obj">The object.</param>
    /// <exception cref="KeyException">No key can be computed for the object.</exception>
    void Update(T obj);

    /// <summary>Removes the object's key; the store RV becomes the object's RV, which carries the deletion RV (§4.1–4.2).</summary>
    /// <param name="obj">The deleted object.</param>
    /// <exception cref="KeyException">No key can be computed for the object.</exception>
    void Delete(T obj);

    /// <summary>
    /// Removes <paramref name="key"/>; the store RV becomes <paramref name="obj"/>'s RV when it has metadata,
    /// and is unchanged when <paramref name="obj"/> is <see langword="null"/> (§4.2; plain <c>Delete(key)</c>).
    /// </summary>
    /// <param name="key">The key to remove.</param>
    /// <param name="obj">The object that carries the deletion RV, or <see langword="null"/>.</param>
    void DeleteWithObject(string key, T? obj);

    /// <summary>Gets the stored object with the same key as <paramref name="obj"/>.</summary>
    /// <param name="obj">An object whose key is looked up.</param>
    /// <param name="existing">The stored object when found.</param>
    /// <returns>Whether an object with that key is stored.</returns>
    /// <exception cref="KeyException">No key can be computed for the object.</exception>
    bool TryGet(T obj, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out T existing);

    /// <summary>A snapshot of every stored object, in no particular order.</summary>
    IReadOnlyList<T> List();

    /// <summary>
    /// Atomically swaps the whole content for <paramref name="items"/> and sets the store RV to
    /// <paramref name="resourceVersion"/> exactly, even <c>""</c> (§4.2). Indexes are rebuilt in the same step.
    /// </summary>
    /// <param name="items">The new content; on duplicate keys the last one wins.</param>
    /// <param name="resourceVersion">The list resource version.</param>
    /// <exception cref="KeyException">No key can be computed for an item; the store is unchanged.</exception>
    void Replace(IEnumerable<T> items, string resourceVersion);

    /// <summary>Sets the store RV to <paramref name="resourceVersion"/> exactly, even <c>""</c> (§4.1–4.2).</summary>
    /// <param name="resourceVersion">The bookmark resource version.</param>
    void Bookmark(string resourceVersion);

    /// <summary>
    /// Applies several adds, updates and deletes under one lock (Go: <c>TransactionStore.Transaction</c>, §3.2).
    /// The store RV is taken from the <em>last</em> transaction's object only (§4.2); an empty span is a no-op.
    /// </summary>
    /// <param name="transactions">The operations, applied in order.</param>
    /// <exception cref="TransactionException">Some operations failed; the others were applied.</exception>
    void Transaction(ReadOnlySpan<StoreTransaction<T>> transactions);
}

/// <summary>Computes the values an object is indexed under (Go: <c>IndexFunc</c>).</summary>
/// <typeparam name="T">The object type.</typeparam>
/// <param name="obj">The object.</param>
/// <returns>The index values; empty when the object is not indexed.</returns>
public delegate IReadOnlyList<string> IndexFunc<in T>(T obj);

/// <summary>
/// A store with secondary indexes (Go: <c>cache.Indexer</c>).
/// </summary>
/// <typeparam name="T">The object type.</typeparam>
public interface IIndexer<T> : IStore<T>
    where T : class
{
    /// <summary>The registered index functions by name.</summary>
    IReadOnlyDictionary<string, IndexFunc<T>> Indexers { get; }

    /// <summary>Adds index functions and indexes the objects already stored (Go: <c>AddIndexers</c>).</summary>
    /// <param name="indexers">Index functions by name.</param>
    /// <exception cref="ArgumentException">An index with one of these names already exists.</exception>
    void AddIndexers(IReadOnlyDictionary<string, IndexFunc<T>> indexers);

    /// <summary>Removes an index function and its index.</summary>
    /// <param name="indexName">The index name.</param>
    /// <returns>Whether the index existed.</returns>
    bool RemoveIndexer(string indexName);

    /// <summary>The objects sharing at least one index value with <paramref name="obj"/> (Go: <c>Index</c>).</summary>
    /// <param name="indexName">The index name.</param>
    /// <param name="obj">The object whose index values are looked up.</param>
    /// <exception cref="KeyNotFoundException">No index has that name.</exception>
    IReadOnlyList<T> Index(string indexName, T obj);

    /// <summary>The objects indexed under <paramref name="indexedValue"/> (Go: <c>ByIndex</c>).</summary>
    /// <param name="indexName">The index name.</param>
    /// <param name="indexedValue">The index value.</param>
    /// <exception cref="KeyNotFoundException">No index has that name.</exception>
    IReadOnlyList<T> ByIndex(string indexName, string indexedValue);

    /// <summary>The keys of the objects indexed under <paramref name="indexedValue"/> (Go: <c>IndexKeys</c>).</summary>
    /// <param name="indexName">The index name.</param>
    /// <param name="indexedValue">The index value.</param>
    /// <exception cref="KeyNotFoundException">No index has that name.</exception>
    IReadOnlyList<string> IndexKeys(string indexName, string indexedValue);

    /// <summary>Every value currently present in an index (Go: <c>ListIndexFuncValues</c>); empty for an unknown index.</summary>
    /// <param name="indexName">The index name.</param>
    IReadOnlyList<string> ListIndexFuncValues(string indexName);
}
