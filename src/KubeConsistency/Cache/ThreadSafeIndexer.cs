using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using KubeConsistency.Cache.Advanced;
using KubeConsistency.Metrics;

namespace KubeConsistency.Cache;

/// <summary>Store operations that take keys the caller already computed with the store's own key function.</summary>
internal interface IKeyedStore<T>
    where T : class
{
    void Upsert(string key, T obj);

    void Replace(IReadOnlyList<T> items, string[] keys, string resourceVersion);
}

/// <summary>
/// The thread-safe indexed store (Go: <c>threadSafeMap</c> + <c>cache</c>), with the v1.36 resource-version
/// tracking of upstream-semantics.md §4.
/// </summary>
/// <remarks>
/// Writers serialise on one write lock that guards the items, the indexes and the RV together (§12); index and list
/// readers share its read lock. Readers of single items and of the RV take no lock: items live in an
/// <see cref="ItemTable{T}"/> (single writer, lock-free readers, no object per entry) that is swapped whole by
/// <see cref="Replace(IEnumerable{T}, string)"/>, and the RV is published after the items it describes, so a reader
/// that sees an RV also sees every item applied up to it.
/// </remarks>
[SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable", Justification = "The lock's only disposable state is wait handles it creates under contention, which finalize; a store has no end of life to dispose at.")]
internal sealed class ThreadSafeIndexer<T> : IIndexer<T>, IKeyedStore<T>
    where T : class
{
    // Writers take the write lock; index and list reads take the read lock, so readers never block one another
    // (upstream: a sync.RWMutex). Single-item and RV reads take no lock at all.
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.SupportsRecursion);
    private readonly ObjectMetadataAccessor<T> _accessor;
    private readonly bool _trackResourceVersion;
    private readonly InformerMetrics? _metrics;

    private volatile ItemTable<T> _items = new();
    private volatile string _resourceVersion = string.Empty;

    // Copy-on-write array of indexes; the index contents are mutated only under the lock.
    private volatile IndexEntry[] _entries;

    // Index values computed before a mutation (so a throwing index function changes nothing); lock-protected.
    private string?[] _singleScratch = new string?[4];
    private IReadOnlyList<string>?[] _multiScratch = new IReadOnlyList<string>?[4];

    public ThreadSafeIndexer(StoreOptions<T> options)
    {
        _accessor = options.MetadataAccessor ?? ObjectMetadataAccessor<T>.Default;
        KeyFunction = options.KeyFunction ?? ObjectKeys.MetaNamespaceKeyFunc(options.MetadataAccessor);
        _trackResourceVersion = options.TrackResourceVersion;
        _metrics = options.Metrics;
        _entries = options.Indexers is null ? [] : [.. options.Indexers.Select(kv => new IndexEntry(kv.Key, kv.Value))];
    }

    public KeyFunc<T> KeyFunction { get; }

    public int Count => _items.Count;

    public string LastStoreSyncResourceVersion => _trackResourceVersion ? _resourceVersion : string.Empty;

    public IReadOnlyDictionary<string, IndexFunc<T>> Indexers => _entries.ToDictionary(e => e.Name, e => e.Func, StringComparer.Ordinal);

    public void Add(T obj) => Upsert(obj);

    public void Update(T obj) => Upsert(obj);

    public void Delete(T obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        DeleteWithObject(KeyFunction(obj), obj);
    }

    public void DeleteWithObject(string key, T? obj)
    {
        ArgumentNullException.ThrowIfNull(key);
        var rv = obj is null ? null : ResourceVersionOf(obj);
        using (WriteLocked())
        {
            RemoveLocked(key);
            SetResourceVersionLocked(rv);
        }
    }

    public bool TryGet(T obj, [MaybeNullWhen(false)] out T existing)
    {
        ArgumentNullException.ThrowIfNull(obj);
        return _items.TryGetValue(KeyFunction(obj), out existing);
    }

    public bool TryGetByKey(string key, [MaybeNullWhen(false)] out T obj)
    {
        ArgumentNullException.ThrowIfNull(key);
        return _items.TryGetValue(key, out obj);
    }

    public IReadOnlyList<T> List()
    {
        using (ReadLocked())
        {
            var items = _items;
            var result = new T[items.Count];
            items.CopyTo([], result);
            return result;
        }
    }

    public IReadOnlyList<string> ListKeys()
    {
        using (ReadLocked())
        {
            var items = _items;
            var result = new string[items.Count];
            items.CopyTo(result, []);
            return result;
        }
    }

    public void Replace(IEnumerable<T> items, string resourceVersion)
    {
        ArgumentNullException.ThrowIfNull(items);
        var list = items as IReadOnlyList<T> ?? items.ToList();
        var keys = new string[list.Count];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = KeyFunction(list[i] ?? throw new ArgumentException("an item is null", nameof(items)));
        }

        Replace(list, keys, resourceVersion);
    }

    /// <summary>Replace with keys the caller computed with <see cref="KeyFunction"/>: a relist computes each key once.</summary>
    public void Replace(IReadOnlyList<T> items, string[] keys, string resourceVersion)
    {
        ArgumentNullException.ThrowIfNull(resourceVersion);

        // Build the new content outside the lock; an index failure leaves the store untouched.
        var next = new ItemTable<T>(items.Count);
        for (var i = 0; i < keys.Length; i++)
        {
            next.Set(keys[i], items[i], out _);
        }

        var entries = _entries;
        var rebuilt = BuildIndices(entries, items, keys, next);
        using (WriteLocked())
        {
            if (!ReferenceEquals(entries, _entries))
            {
                // AddIndexers/RemoveIndexer ran meanwhile: rebuild against the current set.
                rebuilt = BuildIndices(_entries, items, keys, next);
            }

            _items = next;
            _entries = rebuilt;
            SetResourceVersionLocked(resourceVersion);
        }
    }

    public void Bookmark(string resourceVersion)
    {
        ArgumentNullException.ThrowIfNull(resourceVersion);
        using (WriteLocked())
        {
            SetResourceVersionLocked(resourceVersion);
        }
    }

    public void Transaction(ReadOnlySpan<StoreTransaction<T>> transactions)
    {
        if (transactions.IsEmpty)
        {
            return;
        }

        // §4.2: the RV comes from the last transaction's object only.
        var last = transactions[^1];
        var rv = last.Object is null ? null : ResourceVersionOf(last.Object);
        List<int>? succeeded = null;
        List<Exception>? errors = null;
        using (WriteLocked())
        {
            for (var i = 0; i < transactions.Length; i++)
            {
                var txn = transactions[i];
                try
                {
                    switch (txn.Type)
                    {
                        case StoreTransactionType.Add:
                        case StoreTransactionType.Update:
                            UpsertLocked(txn.Key ?? KeyFunction(txn.Object!), txn.Object!);
                            break;
                        case StoreTransactionType.Delete:
                            RemoveLocked(txn.Tombstone?.Key ?? txn.Key ?? KeyFunction(txn.Object!));
                            break;
                        default:
                            throw new ArgumentException($"unknown transaction type {txn.Type}", nameof(transactions));
                    }

                    (succeeded ??= new List<int>(transactions.Length)).Add(i);
                }
                catch (Exception ex) when (ex is KeyException or ArgumentException)
                {
                    (errors ??= []).Add(ex);
                }
            }

            SetResourceVersionLocked(rv);
        }

        if (errors is not null)
        {
            throw new TransactionException((IReadOnlyList<int>?)succeeded ?? [], errors);
        }
    }

    public void AddIndexers(IReadOnlyDictionary<string, IndexFunc<T>> indexers)
    {
        ArgumentNullException.ThrowIfNull(indexers);
        using (WriteLocked())
        {
            var conflicts = indexers.Keys.Where(n => _entries.Any(e => e.Name == n)).ToList();
            if (conflicts.Count > 0)
            {
                throw new ArgumentException($"indexer conflict: {string.Join(", ", conflicts)}", nameof(indexers));
            }

            // Index existing items first so a throwing index function leaves everything unchanged.
            var added = new List<IndexEntry>();
            foreach (var (name, func) in indexers)
            {
                var entry = new IndexEntry(name, func);
                foreach (var (key, item) in _items.Entries())
                {
                    entry.Add(item, key);
                }

                added.Add(entry);
            }

            _entries = [.. _entries, .. added];
        }
    }

    public bool RemoveIndexer(string indexName)
    {
        ArgumentNullException.ThrowIfNull(indexName);
        using (WriteLocked())
        {
            var remaining = _entries.Where(e => e.Name != indexName).ToArray();
            if (remaining.Length == _entries.Length)
            {
                return false;
            }

            _entries = remaining;
            return true;
        }
    }

    public IReadOnlyList<T> Index(string indexName, T obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        using (ReadLocked())
        {
            var entry = EntryLocked(indexName);
            if (entry.Single is { } single)
            {
                // The common single-value case needs no de-duplication (as upstream).
                return single(obj) is { } v && entry.Index.TryGetValue(v, out var set) ? ItemsLocked(set) : [];
            }

            var values = entry.Func(obj);
            if (values.Count == 1)
            {
                return entry.Index.TryGetValue(values[0], out var set) ? ItemsLocked(set) : [];
            }

            var keys = new HashSet<string>(StringComparer.Ordinal);
            foreach (var value in values)
            {
                if (entry.Index.TryGetValue(value, out var set))
                {
                    keys.UnionWith(set);
                }
            }

            return ItemsLocked(keys);
        }
    }

    public IReadOnlyList<T> ByIndex(string indexName, string indexedValue)
    {
        ArgumentNullException.ThrowIfNull(indexedValue);
        using (ReadLocked())
        {
            return EntryLocked(indexName).Index.TryGetValue(indexedValue, out var set) ? ItemsLocked(set) : [];
        }
    }

    public IReadOnlyList<string> IndexKeys(string indexName, string indexedValue)
    {
        ArgumentNullException.ThrowIfNull(indexedValue);
        using (ReadLocked())
        {
            return EntryLocked(indexName).Index.TryGetValue(indexedValue, out var set) ? [.. set] : [];
        }
    }

    public IReadOnlyList<string> ListIndexFuncValues(string indexName)
    {
        ArgumentNullException.ThrowIfNull(indexName);
        using (ReadLocked())
        {
            return FindLocked(indexName) is { } entry ? [.. entry.Index.Keys] : [];
        }
    }

    /// <summary>Upsert with a key the caller computed with <see cref="KeyFunction"/> (a watch event's key is computed once).</summary>
    public void Upsert(string key, T obj)
    {
        var rv = ResourceVersionOf(obj);
        using (WriteLocked())
        {
            UpsertLocked(key, obj);
            SetResourceVersionLocked(rv);
        }
    }

    private WriteLock WriteLocked()
    {
        _lock.EnterWriteLock();
        return new WriteLock(_lock);
    }

    private ReadLock ReadLocked()
    {
        _lock.EnterReadLock();
        return new ReadLock(_lock);
    }

    /// <summary>
    /// The RV an object moves the store to: its metadata RV (<c>""</c> when unset), or <see langword="null"/>
    /// when it has no metadata and must leave the RV unchanged (§4.2).
    /// </summary>
    private string? ResourceVersionOf(T obj) => _accessor.HasMetadata(obj) ? _accessor.GetResourceVersion(obj) ?? string.Empty : null;

    private void Upsert(T obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        Upsert(KeyFunction(obj), obj);
    }

    private void UpsertLocked(string key, T obj)
    {
        var entries = _entries;
        if (entries.Length == 0)
        {
            _items.Set(key, obj, out _);
            return;
        }

        var existed = _items.TryGetValue(key, out var old);

        // Compute every new index value before mutating anything, so a throwing index function changes nothing.
        if (_singleScratch.Length < entries.Length)
        {
            _singleScratch = new string?[entries.Length];
            _multiScratch = new IReadOnlyList<string>?[entries.Length];
        }

        for (var i = 0; i < entries.Length; i++)
        {
            if (entries[i].Single is { } single)
            {
                _singleScratch[i] = single(obj);
            }
            else
            {
                _multiScratch[i] = entries[i].Func(obj);
            }
        }

        _items.Set(key, obj, out _);
        for (var i = 0; i < entries.Length; i++)
        {
            var entry = entries[i];
            if (entry.Single is { } single)
            {
                var value = _singleScratch[i];
                var oldValue = existed ? single(old!) : null;

                // Upstream's fast path: a single unchanged value needs no index work.
                if (!string.Equals(value, oldValue, StringComparison.Ordinal))
                {
                    entry.RemoveValue(oldValue, key);
                    entry.AddValue(value, key);
                }

                _singleScratch[i] = null;
                continue;
            }

            var values = _multiScratch[i]!;
            _multiScratch[i] = null;
            if (!existed)
            {
                entry.AddValues(values, key);
                continue;
            }

            var oldValues = entry.Func(old!);
            if (values.Count == 1 && oldValues.Count == 1 && string.Equals(values[0], oldValues[0], StringComparison.Ordinal))
            {
                continue;
            }

            entry.RemoveValues(oldValues, key);
            entry.AddValues(values, key);
        }
    }

    private void RemoveLocked(string key)
    {
        if (!_items.Remove(key, out var old))
        {
            return;
        }

        foreach (var entry in _entries)
        {
            entry.Remove(old, key);
        }
    }

    private void SetResourceVersionLocked(string? resourceVersion)
    {
        if (resourceVersion is null)
        {
            return;
        }

        _resourceVersion = resourceVersion;
        if (_metrics is not null && ResourceVersion.TryParseForMetrics(resourceVersion, out var value))
        {
            _metrics.SetStoreResourceVersion(value);
        }
    }

    private IndexEntry? FindLocked(string indexName)
    {
        foreach (var entry in _entries)
        {
            if (entry.Name == indexName)
            {
                return entry;
            }
        }

        return null;
    }

    private IndexEntry EntryLocked(string indexName)
    {
        ArgumentNullException.ThrowIfNull(indexName);
        return FindLocked(indexName) ?? throw new KeyNotFoundException($"Index with name {indexName} does not exist");
    }

    private T[] ItemsLocked(HashSet<string> keys)
    {
        var result = new T[keys.Count];
        var i = 0;
        foreach (var key in keys)
        {
            // Index keys always name stored items (both change together under the write lock).
            result[i++] = _items.TryGetValue(key, out var item) ? item : throw new InvalidOperationException($"index names missing key {key}");
        }

        return result;
    }

    /// <summary>
    /// New indexes for a relist. Walks the item and key arrays in list order (cache-friendly), unless the list
    /// held duplicate keys, in which case only the surviving (last) item of each key may be indexed.
    /// </summary>
    private static IndexEntry[] BuildIndices(IndexEntry[] entries, IReadOnlyList<T> items, string[] keys, ItemTable<T> next)
    {
        var result = new IndexEntry[entries.Length];
        var duplicates = next.Count != keys.Length;
        for (var e = 0; e < entries.Length; e++)
        {
            var entry = new IndexEntry(entries[e].Name, entries[e].Func);
            if (duplicates)
            {
                foreach (var (key, item) in next.Entries())
                {
                    entry.Add(item, key);
                }
            }
            else
            {
                entry.AddAll(items, keys);
            }

            result[e] = entry;
        }

        return result;
    }

    /// <summary>One named index: value → keys.</summary>
    private sealed class IndexEntry(string name, IndexFunc<T> func)
    {
        public string Name { get; } = name;

        public IndexFunc<T> Func { get; } = func;

        /// <summary>Set for single-value indexes (<see cref="Indexes.SingleValue{T}"/>): no per-call allocation.</summary>
        public Func<T, string?>? Single { get; } = SingleValueIndex<T>.Of(func);

        public Dictionary<string, HashSet<string>> Index { get; } = new(StringComparer.Ordinal);

        public void Add(T obj, string key)
        {
            if (Single is { } single)
            {
                AddValue(single(obj), key);
            }
            else
            {
                AddValues(Func(obj), key);
            }
        }

        /// <summary>
        /// Loads distinct keys in bulk (a relist). A single-value index counts each value's keys first and sizes every
        /// key set once, instead of growing it by doubling: the largest sets are the namespaces of a 100,000-object list.
        /// </summary>
        public void AddAll(IReadOnlyList<T> items, string[] keys)
        {
            if (Single is not { } single)
            {
                for (var i = 0; i < keys.Length; i++)
                {
                    AddValues(Func(items[i]), keys[i]);
                }

                return;
            }

            var values = new string?[keys.Length];
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < values.Length; i++)
            {
                if ((values[i] = single(items[i])) is { } value)
                {
                    CollectionsMarshal.GetValueRefOrAddDefault(counts, value, out _)++;
                }
            }

            Index.EnsureCapacity(counts.Count);
            foreach (var (value, count) in counts)
            {
                Index[value] = new HashSet<string>(count, StringComparer.Ordinal);
            }

            for (var i = 0; i < values.Length; i++)
            {
                if (values[i] is { } value)
                {
                    Index[value].Add(keys[i]);
                }
            }
        }

        public void Remove(T obj, string key)
        {
            if (Single is { } single)
            {
                RemoveValue(single(obj), key);
            }
            else
            {
                RemoveValues(Func(obj), key);
            }
        }

        public void AddValues(IReadOnlyList<string> values, string key)
        {
            for (var i = 0; i < values.Count; i++)
            {
                AddValue(values[i], key);
            }
        }

        public void RemoveValues(IReadOnlyList<string> values, string key)
        {
            for (var i = 0; i < values.Count; i++)
            {
                RemoveValue(values[i], key);
            }
        }

        public void AddValue(string? value, string key)
        {
            if (value is null)
            {
                return;
            }

            if (!Index.TryGetValue(value, out var set))
            {
                set = new HashSet<string>(StringComparer.Ordinal);
                Index[value] = set;
            }

            set.Add(key);
        }

        public void RemoveValue(string? value, string key)
        {
            if (value is not null && Index.TryGetValue(value, out var set))
            {
                set.Remove(key);

                // Drop empty sets so high-churn index values do not leak (kubernetes#84959).
                if (set.Count == 0)
                {
                    Index.Remove(value);
                }
            }
        }
    }
}

/// <summary>Releases a held write lock (<c>using (WriteLocked()) { … }</c>).</summary>
internal readonly ref struct WriteLock(ReaderWriterLockSlim held)
{
    public void Dispose() => held.ExitWriteLock();
}

/// <summary>Releases a held read lock.</summary>
internal readonly ref struct ReadLock(ReaderWriterLockSlim held)
{
    public void Dispose() => held.ExitReadLock();
}
