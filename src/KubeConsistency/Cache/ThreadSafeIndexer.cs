using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using KubeConsistency.Metrics;

namespace KubeConsistency.Cache;

/// <summary>
/// The thread-safe indexed store (Go: <c>threadSafeMap</c> + <c>cache</c>), with the v1.36 resource-version
/// tracking of upstream-semantics.md §4.
/// </summary>
/// <remarks>
/// Writers serialise on one lock that guards the items, the indexes and the RV together (§12). Readers of
/// single items and of the RV take no lock: items live in a <see cref="ConcurrentDictionary{TKey, TValue}"/>
/// that is swapped whole by <see cref="Replace"/>, and the RV is published after the items it describes,
/// so a reader that sees an RV also sees every item applied up to it.
/// </remarks>
internal sealed class ThreadSafeIndexer<T> : IIndexer<T>
    where T : class
{
    private static readonly int s_concurrency = Math.Max(2, Environment.ProcessorCount);

    private readonly Lock _lock = new();
    private readonly ObjectMetadataAccessor<T> _accessor;
    private readonly bool _trackResourceVersion;
    private readonly InformerMetrics? _metrics;

    private volatile ConcurrentDictionary<string, T> _items = new(s_concurrency, 64, StringComparer.Ordinal);
    private volatile int _count;
    private volatile string _resourceVersion = string.Empty;

    // Copy-on-write: readers take the reference without the lock; writers replace it under the lock.
    private volatile Dictionary<string, IndexFunc<T>> _indexers;
    private Dictionary<string, Dictionary<string, HashSet<string>>> _indices = new(StringComparer.Ordinal);

    // Index values computed before a mutation; only touched under the lock.
    private IReadOnlyList<string>[] _scratch = new IReadOnlyList<string>[4];

    public ThreadSafeIndexer(StoreOptions<T> options)
    {
        _accessor = options.MetadataAccessor ?? ObjectMetadataAccessor<T>.Default;
        KeyFunction = options.KeyFunction ?? ObjectKeys.MetaNamespaceKeyFunc(_accessor);
        _trackResourceVersion = options.TrackResourceVersion;
        _metrics = options.Metrics;
        _indexers = options.Indexers is null ? new(StringComparer.Ordinal) : new(options.Indexers, StringComparer.Ordinal);
        foreach (var name in _indexers.Keys)
        {
            _indices[name] = new(StringComparer.Ordinal);
        }
    }

    public KeyFunc<T> KeyFunction { get; }

    public int Count => _count;

    public string LastStoreSyncResourceVersion => _trackResourceVersion ? _resourceVersion : string.Empty;

    public IReadOnlyDictionary<string, IndexFunc<T>> Indexers => _indexers;

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
        lock (_lock)
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
        lock (_lock)
        {
            var result = new T[_count];
            var i = 0;
            foreach (var pair in _items)
            {
                result[i++] = pair.Value;
            }

            return result;
        }
    }

    public IReadOnlyList<string> ListKeys()
    {
        lock (_lock)
        {
            var result = new string[_count];
            var i = 0;
            foreach (var pair in _items)
            {
                result[i++] = pair.Key;
            }

            return result;
        }
    }

    public void Replace(IEnumerable<T> items, string resourceVersion)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(resourceVersion);

        // Build the new content outside the lock; a key or index failure leaves the store untouched.
        var list = items as IReadOnlyCollection<T> ?? items.ToList();
        var indexers = _indexers;
        var next = new ConcurrentDictionary<string, T>(s_concurrency, Math.Max(64, list.Count), StringComparer.Ordinal);
        foreach (var item in list)
        {
            ArgumentNullException.ThrowIfNull(item, nameof(items));
            next[KeyFunction(item)] = item;
        }

        var indices = BuildIndices(indexers, next);
        lock (_lock)
        {
            if (!ReferenceEquals(indexers, _indexers))
            {
                // AddIndexers/RemoveIndexer ran meanwhile: rebuild against the current set.
                indices = BuildIndices(_indexers, next);
            }

            _items = next;
            _count = next.Count;
            _indices = indices;
            SetResourceVersionLocked(resourceVersion);
        }
    }

    public void Bookmark(string resourceVersion)
    {
        ArgumentNullException.ThrowIfNull(resourceVersion);
        lock (_lock)
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
        lock (_lock)
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
                            UpsertLocked(KeyFunction(txn.Object!), txn.Object!);
                            break;
                        case StoreTransactionType.Delete:
                            RemoveLocked(txn.Tombstone?.Key ?? KeyFunction(txn.Object!));
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
        lock (_lock)
        {
            var conflicts = indexers.Keys.Where(_indexers.ContainsKey).ToList();
            if (conflicts.Count > 0)
            {
                throw new ArgumentException($"indexer conflict: {string.Join(", ", conflicts)}", nameof(indexers));
            }

            // Index existing items first so a throwing index function leaves everything unchanged.
            var added = new Dictionary<string, Dictionary<string, HashSet<string>>>(StringComparer.Ordinal);
            foreach (var (name, func) in indexers)
            {
                var index = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
                foreach (var (key, item) in _items)
                {
                    AddToIndex(index, func(item), key);
                }

                added[name] = index;
            }

            var next = new Dictionary<string, IndexFunc<T>>(_indexers, StringComparer.Ordinal);
            foreach (var (name, func) in indexers)
            {
                next[name] = func;
                _indices[name] = added[name];
            }

            _indexers = next;
        }
    }

    public bool RemoveIndexer(string indexName)
    {
        ArgumentNullException.ThrowIfNull(indexName);
        lock (_lock)
        {
            if (!_indexers.ContainsKey(indexName))
            {
                return false;
            }

            var next = new Dictionary<string, IndexFunc<T>>(_indexers, StringComparer.Ordinal);
            next.Remove(indexName);
            _indices.Remove(indexName);
            _indexers = next;
            return true;
        }
    }

    public IReadOnlyList<T> Index(string indexName, T obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        lock (_lock)
        {
            var func = IndexFuncLocked(indexName);
            var index = _indices[indexName];
            var values = func(obj);
            if (values.Count == 1)
            {
                // The common single-value case needs no de-duplication (as upstream).
                return index.TryGetValue(values[0], out var single) ? ItemsLocked(single) : [];
            }

            var keys = new HashSet<string>(StringComparer.Ordinal);
            foreach (var value in values)
            {
                if (index.TryGetValue(value, out var set))
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
        lock (_lock)
        {
            IndexFuncLocked(indexName);
            return _indices[indexName].TryGetValue(indexedValue, out var set) ? ItemsLocked(set) : [];
        }
    }

    public IReadOnlyList<string> IndexKeys(string indexName, string indexedValue)
    {
        ArgumentNullException.ThrowIfNull(indexedValue);
        lock (_lock)
        {
            IndexFuncLocked(indexName);
            return _indices[indexName].TryGetValue(indexedValue, out var set) ? [.. set] : [];
        }
    }

    public IReadOnlyList<string> ListIndexFuncValues(string indexName)
    {
        ArgumentNullException.ThrowIfNull(indexName);
        lock (_lock)
        {
            return _indices.TryGetValue(indexName, out var index) ? [.. index.Keys] : [];
        }
    }

    /// <summary>
    /// The RV an object moves the store to: its metadata RV (<c>""</c> when unset), or <see langword="null"/>
    /// when it has no metadata and must leave the RV unchanged (§4.2).
    /// </summary>
    private string? ResourceVersionOf(T obj) => _accessor.HasMetadata(obj) ? _accessor.GetResourceVersion(obj) ?? string.Empty : null;

    private void Upsert(T obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var key = KeyFunction(obj);
        var rv = ResourceVersionOf(obj);
        lock (_lock)
        {
            UpsertLocked(key, obj);
            SetResourceVersionLocked(rv);
        }
    }

    private void UpsertLocked(string key, T obj)
    {
        var indexers = _indexers;
        if (indexers.Count == 0)
        {
            if (_items.TryGetValue(key, out _))
            {
                _items[key] = obj;
            }
            else
            {
                _items[key] = obj;
                _count++;
            }

            return;
        }

        var existed = _items.TryGetValue(key, out var old);

        // Compute every new index value before mutating anything, so a throwing index function changes nothing.
        if (_scratch.Length < indexers.Count)
        {
            _scratch = new IReadOnlyList<string>[indexers.Count];
        }

        var newValues = _scratch;
        var n = 0;
        foreach (var func in indexers.Values)
        {
            newValues[n++] = func(obj);
        }

        _items[key] = obj;
        if (!existed)
        {
            _count++;
        }

        n = 0;
        foreach (var (name, func) in indexers)
        {
            var index = _indices[name];
            var values = newValues[n++];
            if (!existed)
            {
                AddToIndex(index, values, key);
                continue;
            }

            var oldValues = func(old!);
            if (values.Count == 1 && oldValues.Count == 1 && string.Equals(values[0], oldValues[0], StringComparison.Ordinal))
            {
                // Upstream's fast path: a single unchanged value needs no index work.
                continue;
            }

            RemoveFromIndex(index, oldValues, key);
            AddToIndex(index, values, key);
        }

        Array.Clear(newValues, 0, indexers.Count);
    }

    private void RemoveLocked(string key)
    {
        if (!_items.TryRemove(key, out var old))
        {
            return;
        }

        _count--;
        foreach (var (name, func) in _indexers)
        {
            RemoveFromIndex(_indices[name], func(old), key);
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

    private IndexFunc<T> IndexFuncLocked(string indexName)
    {
        ArgumentNullException.ThrowIfNull(indexName);
        return _indexers.TryGetValue(indexName, out var func) ? func : throw new KeyNotFoundException($"Index with name {indexName} does not exist");
    }

    private T[] ItemsLocked(HashSet<string> keys)
    {
        var result = new T[keys.Count];
        var i = 0;
        foreach (var key in keys)
        {
            result[i++] = _items[key];
        }

        return result;
    }

    private static Dictionary<string, Dictionary<string, HashSet<string>>> BuildIndices(Dictionary<string, IndexFunc<T>> indexers, ConcurrentDictionary<string, T> items)
    {
        var indices = new Dictionary<string, Dictionary<string, HashSet<string>>>(StringComparer.Ordinal);
        foreach (var (name, func) in indexers)
        {
            var index = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
            foreach (var (key, item) in items)
            {
                AddToIndex(index, func(item), key);
            }

            indices[name] = index;
        }

        return indices;
    }

    private static void AddToIndex(Dictionary<string, HashSet<string>> index, IReadOnlyList<string> values, string key)
    {
        for (var i = 0; i < values.Count; i++)
        {
            var value = values[i];
            if (!index.TryGetValue(value, out var set))
            {
                set = new HashSet<string>(StringComparer.Ordinal);
                index[value] = set;
            }

            set.Add(key);
        }
    }

    private static void RemoveFromIndex(Dictionary<string, HashSet<string>> index, IReadOnlyList<string> values, string key)
    {
        for (var i = 0; i < values.Count; i++)
        {
            if (index.TryGetValue(values[i], out var set))
            {
                set.Remove(key);

                // Drop empty sets so high-churn index values do not leak (kubernetes#84959).
                if (set.Count == 0)
                {
                    index.Remove(values[i]);
                }
            }
        }
    }
}
