using KubeConsistency.Cache.Advanced;
namespace KubeConsistency.Cache;

/// <summary>
/// Applies popped deltas to a store and notifies a handler (Go: <c>processDeltas</c>,
/// <c>processDeltasInBatch</c>, <c>processReplacedAllInfo</c>; upstream-semantics.md §3.1–§3.3).
/// </summary>
/// <remarks>
/// The store is always updated before the handler hears about the change; a relist swaps the whole store in
/// one step before any handler of that relist runs. Store failures abort processing and propagate.
/// </remarks>
public static class DeltaProcessor
{
    /// <summary>Applies one delta (Go: <c>processDeltas</c> with a single delta).</summary>
    /// <typeparam name="T">The object type.</typeparam>
    /// <param name="store">The cache.</param>
    /// <param name="handler">The notification target.</param>
    /// <param name="delta">The delta.</param>
    /// <param name="isInInitialList">Passed through to <see cref="IResourceEventHandler{T}.OnAdd"/>.</param>
    public static void Process<T>(IStore<T> store, IResourceEventHandler<T> handler, Delta<T> delta, bool isInInitialList)
        where T : class => Process(store, handler, new ReadOnlySpan<Delta<T>>(in delta), isInInitialList);

    /// <summary>Applies deltas oldest to newest (Go: <c>processDeltas</c>, §3.1).</summary>
    /// <typeparam name="T">The object type.</typeparam>
    /// <param name="store">The cache.</param>
    /// <param name="handler">The notification target.</param>
    /// <param name="deltas">The deltas, oldest first. A <see cref="DeltaType.SyncAll"/> ends processing (§3.1).</param>
    /// <param name="isInInitialList">Passed through to <see cref="IResourceEventHandler{T}.OnAdd"/>.</param>
    /// <exception cref="InvalidOperationException">A payload does not match its delta type.</exception>
    public static void Process<T>(IStore<T> store, IResourceEventHandler<T> handler, ReadOnlySpan<Delta<T>> deltas, bool isInInitialList)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(handler);
        foreach (var d in deltas)
        {
            switch (d.Type)
            {
                case DeltaType.ReplacedAll:
                    ProcessReplacedAll(store, handler, d.Object as ReplacedAllInfo<T> ?? throw Mismatch(d, nameof(ReplacedAllInfo<T>)), isInInitialList);
                    break;

                case DeltaType.SyncAll:
                    _ = d.Object as SyncAllInfo ?? throw Mismatch(d, nameof(SyncAllInfo));
                    foreach (var obj in store.List())
                    {
                        handler.OnUpdate(obj, obj);
                    }

                    // Deltas after a SyncAll in the same slice are ignored, as upstream (a RealFIFO pops one at a time).
                    return;

                case DeltaType.Sync:
                case DeltaType.Replaced:
                case DeltaType.Added:
                case DeltaType.Updated:
                {
                    var obj = d.Object as T ?? throw Mismatch(d, typeof(T).Name);
                    if (d.KeyFor(store.KeyFunction) is { } key && store is IKeyedStore<T> keyed)
                    {
                        // The FIFO already computed this key with the store's own key function.
                        var existed = store.TryGetByKey(key, out var previous);
                        keyed.Upsert(key, obj);
                        if (existed)
                        {
                            handler.OnUpdate(previous!, obj);
                        }
                        else
                        {
                            handler.OnAdd(obj, isInInitialList);
                        }
                    }
                    else if (TryGetExisting(store, obj, out var old))
                    {
                        store.Update(obj);
                        handler.OnUpdate(old, obj);
                    }
                    else
                    {
                        store.Add(obj);
                        handler.OnAdd(obj, isInInitialList);
                    }

                    break;
                }

                case DeltaType.Deleted:
                    Delete(store, d);
                    handler.OnDelete(d.Object);
                    break;

                case DeltaType.Bookmark:
                    store.Bookmark((d.Object as BookmarkInfo ?? throw Mismatch(d, nameof(BookmarkInfo))).ResourceVersion);
                    break;

                default:
                    throw new InvalidOperationException($"unknown delta type {d.Type}");
            }
        }
    }

    /// <summary>
    /// Applies a batch of batchable deltas with distinct keys in one store transaction, then runs the handler
    /// callbacks in order (Go: <c>processDeltasInBatch</c>, §3.2). On a partial failure only the callbacks of the
    /// applied operations run, then the <see cref="TransactionException"/> propagates.
    /// </summary>
    /// <typeparam name="T">The object type.</typeparam>
    /// <param name="store">The cache.</param>
    /// <param name="handler">The notification target.</param>
    /// <param name="deltas">The batch.</param>
    /// <param name="isInInitialList">Passed through to <see cref="IResourceEventHandler{T}.OnAdd"/>.</param>
    /// <exception cref="InvalidOperationException">The batch holds a non-batchable delta.</exception>
    public static void ProcessBatch<T>(IStore<T> store, IResourceEventHandler<T> handler, ReadOnlySpan<Delta<T>> deltas, bool isInInitialList)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(handler);
        var txns = new StoreTransaction<T>[deltas.Length];
        var olds = new T?[deltas.Length];
        for (var i = 0; i < deltas.Length; i++)
        {
            var d = deltas[i];
            switch (d.Type)
            {
                case DeltaType.Sync:
                case DeltaType.Replaced:
                case DeltaType.Added:
                case DeltaType.Updated:
                {
                    // Add vs update is decided by a lookup before the transaction (§3.2).
                    var obj = d.Object as T ?? throw Mismatch(d, typeof(T).Name);
                    var key = d.KeyFor(store.KeyFunction);
                    var existed = key is not null ? store.TryGetByKey(key, out var old) : TryGetExisting(store, obj, out old);
                    txns[i] = (existed ? StoreTransaction<T>.Update(obj) : StoreTransaction<T>.Add(obj)).WithKey(key);
                    olds[i] = old;
                    break;
                }

                case DeltaType.Deleted:
                    txns[i] = d.Object switch
                    {
                        DeletedFinalStateUnknown<T> tombstone => StoreTransaction<T>.Delete(tombstone),
                        T obj => StoreTransaction<T>.Delete(obj).WithKey(d.KeyFor(store.KeyFunction)),
                        _ => throw Mismatch(d, typeof(T).Name),
                    };
                    break;

                default:
                    throw new InvalidOperationException($"Delta type {d.Type} is not supported in batch processing");
            }
        }

        try
        {
            store.Transaction(txns);
        }
        catch (TransactionException ex)
        {
            foreach (var i in ex.SuccessfulIndices)
            {
                Notify(handler, deltas[i], txns[i], olds[i], isInInitialList);
            }

            throw;
        }

        for (var i = 0; i < deltas.Length; i++)
        {
            Notify(handler, deltas[i], txns[i], olds[i], isInInitialList);
        }
    }

    /// <summary>§3.3: diff against the store, one atomic Replace, then tombstone deletes, then adds/updates in list order.</summary>
    private static void ProcessReplacedAll<T>(IStore<T> store, IResourceEventHandler<T> handler, ReplacedAllInfo<T> info, bool isInInitialList)
        where T : class
    {
        var objects = info.Objects;
        var keyFunc = store.KeyFunction;
        var keys = new string[objects.Count];
        var newKeys = new HashSet<string>(objects.Count, StringComparer.Ordinal);
        var olds = new T?[objects.Count];
        var storedCount = store.Count;
        var distinctStoredHits = 0;
        for (var i = 0; i < objects.Count; i++)
        {
            var key = keys[i] = keyFunc(objects[i]);

            // Compared against the pre-replace store, so duplicates in the list each get their own callback (§3.3).
            var stored = store.TryGetByKey(key, out var old);
            olds[i] = stored ? old : null;
            if (newKeys.Add(key) && stored)
            {
                distinctStoredHits++;
            }
        }

        // When every stored key is in the new list nothing was deleted and the scan can be skipped; only this
        // consumer writes the store, so its count cannot change meanwhile.
        List<DeletedFinalStateUnknown<T>>? deletions = null;
        if (distinctStoredHits != storedCount)
        {
            foreach (var key in store.ListKeys())
            {
                if (!newKeys.Contains(key))
                {
                    // Always a tombstone, even though the store had a definite last state (§3.3 notes).
                    (deletions ??= []).Add(new DeletedFinalStateUnknown<T>(key, store.TryGetByKey(key, out var last) ? last : null));
                }
            }
        }

        // The store reflects the whole relist before any handler of it runs (one atomic swap).
        if (store is IKeyedStore<T> keyed)
        {
            keyed.Replace(objects, keys, info.ResourceVersion);
        }
        else
        {
            store.Replace(objects, info.ResourceVersion);
        }

        if (deletions is not null)
        {
            foreach (var tombstone in deletions)
            {
                handler.OnDelete(tombstone);
            }
        }

        for (var i = 0; i < objects.Count; i++)
        {
            if (olds[i] is { } old)
            {
                handler.OnUpdate(old, objects[i]);
            }
            else
            {
                handler.OnAdd(objects[i], isInInitialList);
            }
        }
    }

    private static void Notify<T>(IResourceEventHandler<T> handler, Delta<T> delta, StoreTransaction<T> txn, T? old, bool isInInitialList)
        where T : class
    {
        switch (txn.Type)
        {
            case StoreTransactionType.Update:
                handler.OnUpdate(old!, txn.Object!);
                break;
            case StoreTransactionType.Add:
                handler.OnAdd(txn.Object!, isInInitialList);
                break;
            default:
                handler.OnDelete(delta.Object);
                break;
        }
    }

    private static bool TryGetExisting<T>(IStore<T> store, T obj, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out T existing)
        where T : class
    {
        // A key failure here counts as "not present"; the subsequent Add then reports it (as upstream).
        try
        {
            return store.TryGet(obj, out existing);
        }
        catch (KeyException)
        {
            existing = null;
            return false;
        }
    }

    private static void Delete<T>(IStore<T> store, Delta<T> d)
        where T : class
    {
        switch (d.Object)
        {
            case DeletedFinalStateUnknown<T> tombstone:
                // A tombstone has no metadata: the store RV does not move (§4.2).
                store.DeleteWithObject(tombstone.Key, null);
                break;
            case T obj when d.KeyFor(store.KeyFunction) is { } key:
                store.DeleteWithObject(key, obj);
                break;
            case T obj:
                store.Delete(obj);
                break;
            default:
                throw Mismatch(d, typeof(T).Name);
        }
    }

    private static InvalidOperationException Mismatch<T>(Delta<T> d, string expected)
        where T : class => new($"{d.Type} did not contain {expected}: {d.Object.GetType().Name}");
}
