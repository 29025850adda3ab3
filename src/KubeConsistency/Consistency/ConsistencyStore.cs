using System.Collections.Concurrent;

namespace KubeConsistency.Consistency;

/// <summary>Creates <see cref="IConsistencyStore"/>s.</summary>
public static class ConsistencyStore
{
    /// <summary>
    /// Creates the real store over the caches that hold each written group-resource (Go:
    /// <c>NewConsistencyStore</c>). The map is copied: stores registered later are not seen (upstream keeps
    /// the caller's map; see docs/compatibility.md).
    /// </summary>
    /// <param name="stores">For each tracked group-resource, the cache that reads it (any <see cref="Cache.IStore{T}"/>).</param>
    public static IConsistencyStore Create(IEnumerable<KeyValuePair<GroupResource, ILastSyncResourceVersionGetter>> stores)
    {
        ArgumentNullException.ThrowIfNull(stores);
        return new RealConsistencyStore(stores);
    }

    /// <summary>The store that never blocks (Go: <c>NewNoopConsistencyStore</c>): what a controller uses when its gate is off.</summary>
    public static IConsistencyStore Noop { get; } = new NoopConsistencyStore();
}

internal sealed class NoopConsistencyStore : IConsistencyStore
{
    public void WroteAt(NamespacedName owner, string ownerUid, GroupResource resource, string resourceVersion)
    {
    }

    public ConsistencyError? EnsureReady(NamespacedName owner) => null;

    public void Clear(NamespacedName owner, string ownerUid)
    {
    }
}

/// <summary>
/// §7.2–§7.3. The owner map is lock-free for readers (a <see cref="ConcurrentDictionary{TKey, TValue}"/>
/// replaces upstream's RW lock; record replacement and removal are compare-and-swap, which gives the same
/// outcomes); each record keeps its own lock over a small array of (group-resource, written RV).
/// </summary>
internal sealed class RealConsistencyStore : IConsistencyStore
{
    private readonly ConcurrentDictionary<NamespacedName, OwnerRecord> _writes = new(OwnerComparer.Instance);
    private readonly Dictionary<GroupResource, ILastSyncResourceVersionGetter?> _stores;

    public RealConsistencyStore(IEnumerable<KeyValuePair<GroupResource, ILastSyncResourceVersionGetter>> stores)
    {
        _stores = [];
        foreach (var (gr, getter) in stores)
        {
            _stores[gr] = getter;
        }
    }

    public void WroteAt(NamespacedName owner, string ownerUid, GroupResource resource, string resourceVersion)
    {
        ownerUid ??= string.Empty;
        resourceVersion ??= string.Empty;
        GetOrCreateRecord(owner, ownerUid).Record(resource, resourceVersion, _stores);
    }

    public ConsistencyError? EnsureReady(NamespacedName owner)
    {
        if (!_writes.TryGetValue(owner, out var record))
        {
            return null;
        }

        var error = record.Check();
        if (error is null)
        {
            // Every entry passed (or was skipped): forget the whole record, but only this record (§7.3 step 3).
            _writes.TryRemove(new KeyValuePair<NamespacedName, OwnerRecord>(owner, record));
        }

        return error;
    }

    public void Clear(NamespacedName owner, string ownerUid)
    {
        if (_writes.TryGetValue(owner, out var record) && (string.IsNullOrEmpty(ownerUid) || string.Equals(record.OwnerUid, ownerUid, StringComparison.Ordinal)))
        {
            _writes.TryRemove(new KeyValuePair<NamespacedName, OwnerRecord>(owner, record));
        }
    }

    internal int RecordCount => _writes.Count;

    private OwnerRecord GetOrCreateRecord(NamespacedName owner, string ownerUid)
    {
        while (true)
        {
            if (_writes.TryGetValue(owner, out var existing))
            {
                if (string.Equals(existing.OwnerUid, ownerUid, StringComparison.Ordinal))
                {
                    return existing;
                }

                // A new UID under the same name: the owner was recreated; start afresh (§7.3 step 1).
                var replacement = new OwnerRecord(ownerUid);
                if (_writes.TryUpdate(owner, replacement, existing))
                {
                    return replacement;
                }
            }
            else
            {
                var created = new OwnerRecord(ownerUid);
                if (_writes.TryAdd(owner, created))
                {
                    return created;
                }
            }
        }
    }

    /// <summary>
    /// Hashes only the name (randomised string hash) mixed with the namespace length: one string hash per
    /// lookup instead of two; owners sharing a name across namespaces still compare fully on equality.
    /// </summary>
    private sealed class OwnerComparer : IEqualityComparer<NamespacedName>
    {
        public static readonly OwnerComparer Instance = new();

        public bool Equals(NamespacedName x, NamespacedName y) => x.Equals(y);

        public int GetHashCode(NamespacedName obj) => obj.Name.GetHashCode(StringComparison.Ordinal) ^ (obj.Namespace.Length * 16777619);
    }

    private sealed class OwnerRecord(string ownerUid)
    {
        private readonly Lock _lock = new();
        private Entry[] _entries = new Entry[2];
        private int _count;

        public string OwnerUid { get; } = ownerUid;

        public void Record(GroupResource resource, string resourceVersion, Dictionary<GroupResource, ILastSyncResourceVersionGetter?> stores)
        {
            lock (_lock)
            {
                for (var i = 0; i < _count; i++)
                {
                    ref var entry = ref _entries[i];
                    if (entry.Resource == resource)
                    {
                        // Keep the recorded value only when it compares as newer or equal; any comparison error
                        // (either side malformed, including "") overwrites (§7.3 step 2, §7.4).
                        if (!ResourceVersion.TryCompare(entry.WroteResourceVersion, resourceVersion, out var c) || c < 0)
                        {
                            entry.WroteResourceVersion = resourceVersion;
                        }

                        return;
                    }
                }

                if (_count == _entries.Length)
                {
                    Array.Resize(ref _entries, _count * 2);
                }

                stores.TryGetValue(resource, out var getter);
                _entries[_count++] = new Entry { Resource = resource, WroteResourceVersion = resourceVersion, Getter = getter };
            }
        }

        public ConsistencyError? Check()
        {
            lock (_lock)
            {
                for (var i = 0; i < _count; i++)
                {
                    ref readonly var entry = ref _entries[i];

                    // No store for this group-resource: nothing to compare against (§7.4).
                    if (entry.Getter is null)
                    {
                        continue;
                    }

                    // "" means the store reports no RV (never synced, or tracking off): skip (§7.4).
                    var read = entry.Getter.LastStoreSyncResourceVersion;
                    if (string.IsNullOrEmpty(read))
                    {
                        continue;
                    }

                    // Malformed on either side: do not block syncing on bad data (§7.3, §7.4).
                    if (!ResourceVersion.TryCompare(entry.WroteResourceVersion, read, out var c))
                    {
                        continue;
                    }

                    if (c > 0)
                    {
                        return new ConsistencyError(read, entry.WroteResourceVersion, entry.Resource);
                    }
                }

                return null;
            }
        }

        private struct Entry
        {
            public GroupResource Resource;
            public string WroteResourceVersion;
            public ILastSyncResourceVersionGetter? Getter;
        }
    }
}
