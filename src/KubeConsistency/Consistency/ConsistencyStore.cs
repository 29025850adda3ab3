using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

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
        return new RealConsistencyStore(stores, ConsistencySemantics.KubernetesV136);
    }

    /// <summary>
    /// Creates the real store with the rules <paramref name="options"/> selects (v1.36 by default; client-go v1.38's
    /// fail-closed rules on request, docs/upstream-after-1.36.md §1.4).
    /// </summary>
    /// <param name="stores">For each tracked group-resource, the cache that reads it (any <see cref="Cache.IStore{T}"/>).</param>
    /// <param name="options">The store's rules; validated and copied.</param>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="ConsistencyStoreOptions.Semantics"/> is not a defined value.</exception>
    public static IConsistencyStore Create(IEnumerable<KeyValuePair<GroupResource, ILastSyncResourceVersionGetter>> stores, ConsistencyStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(stores);
        ArgumentNullException.ThrowIfNull(options);
        if (!Enum.IsDefined(options.Semantics))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Semantics, $"{nameof(ConsistencyStoreOptions)}.{nameof(ConsistencyStoreOptions.Semantics)} must be {nameof(ConsistencySemantics.KubernetesV136)} or {nameof(ConsistencySemantics.ClientGoV138)}.");
        }

        return new RealConsistencyStore(stores, options.Semantics);
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
/// <remarks>
/// The map is keyed by the owner's <em>name</em> and holds an immutable array of the records of owners with that
/// name (one per namespace, almost always one in all). A string key gets the framework's fast non-randomised
/// string hash, which falls back to the randomised one when a bucket degenerates — flooding-safe, and a third
/// of the cost of hashing a <see cref="NamespacedName"/> with the randomised hash on every lookup.
/// </remarks>
internal sealed class RealConsistencyStore : IConsistencyStore
{
    private readonly ConcurrentDictionary<string, OwnerRecord[]> _writes = new(StringComparer.Ordinal);
    private readonly Dictionary<GroupResource, ILastSyncResourceVersionGetter?> _stores;
    private readonly bool _failClosed;

    public RealConsistencyStore(IEnumerable<KeyValuePair<GroupResource, ILastSyncResourceVersionGetter>> stores, ConsistencySemantics semantics)
    {
        _failClosed = semantics == ConsistencySemantics.ClientGoV138;
        _stores = [];
        foreach (var (gr, getter) in stores)
        {
            _stores[gr] = getter;
        }
    }

    internal int RecordCount => _writes.Values.Sum(static records => records.Length);

    /// <summary>How many owner names have records (a forgotten owner leaves no empty array behind).</summary>
    internal int OwnerNameCount => _writes.Count;

    public void WroteAt(NamespacedName owner, string ownerUid, GroupResource resource, string resourceVersion)
    {
        ownerUid ??= string.Empty;
        resourceVersion ??= string.Empty;
        GetOrCreateRecord(owner, ownerUid).Record(resource, resourceVersion, _stores, _failClosed);
    }

    public ConsistencyError? EnsureReady(NamespacedName owner)
    {
        if (!TryFind(owner, out var records, out var record))
        {
            return null;
        }

        var error = record.Check(_failClosed);
        if (error is null)
        {
            // Every entry passed (or was skipped): forget the whole record, but only this record (§7.3 step 3).
            Remove(owner.Name, record, records);
        }

        return error;
    }

    public void Clear(NamespacedName owner, string ownerUid)
    {
        if (TryFind(owner, out var records, out var record) && (string.IsNullOrEmpty(ownerUid) || string.Equals(record.OwnerUid, ownerUid, StringComparison.Ordinal)))
        {
            Remove(owner.Name, record, records);
        }
    }

    private static int IndexOf(OwnerRecord[] records, string ns)
    {
        for (var i = 0; i < records.Length; i++)
        {
            if (string.Equals(records[i].Namespace, ns, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Finds the owner's record, and the name's array it was found in (what a removal swaps out).</summary>
    private bool TryFind(NamespacedName owner, [NotNullWhen(true)] out OwnerRecord[]? records, [NotNullWhen(true)] out OwnerRecord? record)
    {
        record = null;
        if (!_writes.TryGetValue(owner.Name, out records))
        {
            return false;
        }

        var i = IndexOf(records, owner.Namespace);
        if (i < 0)
        {
            return false;
        }

        record = records[i];
        return true;
    }

    private OwnerRecord GetOrCreateRecord(NamespacedName owner, string ownerUid)
    {
        // NamespacedName never yields null parts (a default one reads as ""), so these are map keys as they are.
        var name = owner.Name;
        var ns = owner.Namespace;
        while (true)
        {
            if (_writes.TryGetValue(name, out var records))
            {
                var i = IndexOf(records, ns);
                if (i >= 0 && string.Equals(records[i].OwnerUid, ownerUid, StringComparison.Ordinal))
                {
                    return records[i];
                }

                // Absent in this namespace, or a new UID under the same name: the owner was recreated; start afresh
                // (§7.3 step 1). Either way the name's array is swapped as a whole.
                var created = new OwnerRecord(ns, ownerUid);
                OwnerRecord[] next;
                if (i >= 0)
                {
                    next = (OwnerRecord[])records.Clone();
                    next[i] = created;
                }
                else
                {
                    next = [.. records, created];
                }

                if (_writes.TryUpdate(name, next, records))
                {
                    return created;
                }
            }
            else
            {
                var created = new OwnerRecord(ns, ownerUid);
                if (_writes.TryAdd(name, [created]))
                {
                    return created;
                }
            }
        }
    }

    /// <summary>
    /// Removes exactly <paramref name="record"/> (not a replacement that raced in under the same owner), starting from
    /// the array it was found in and re-reading the slot only when that array was swapped meanwhile.
    /// </summary>
    private void Remove(string name, OwnerRecord record, OwnerRecord[] records)
    {
        while (true)
        {
            var i = Array.IndexOf(records, record);
            if (i < 0)
            {
                return;
            }

            if (records.Length == 1
                ? _writes.TryRemove(new KeyValuePair<string, OwnerRecord[]>(name, records))
                : _writes.TryUpdate(name, [.. records.AsSpan(0, i), .. records.AsSpan(i + 1)], records))
            {
                return;
            }

            if (!_writes.TryGetValue(name, out records!))
            {
                return;
            }
        }
    }

    private sealed class OwnerRecord(string ns, string ownerUid)
    {
        public string Namespace { get; } = ns;

        private readonly Lock _lock = new();
        private Entry[] _entries = new Entry[2];
        private int _count;

        public string OwnerUid { get; } = ownerUid;

        public void Record(GroupResource resource, string resourceVersion, Dictionary<GroupResource, ILastSyncResourceVersionGetter?> stores, bool failClosed)
        {
            lock (_lock)
            {
                for (var i = 0; i < _count; i++)
                {
                    ref var entry = ref _entries[i];
                    if (entry.Resource == resource)
                    {
                        // Keep the recorded value when it compares as newer or equal. A comparison error (either
                        // side malformed, including "") overwrites in v1.36 (§7.3 step 2, §7.4) and is ignored in
                        // v1.38 (§1.4), where only a valid value was ever recorded.
                        var compared = ResourceVersion.TryCompare(entry.WroteResourceVersion, resourceVersion, out var c);
                        if (compared ? c < 0 : !failClosed)
                        {
                            entry.WroteResourceVersion = resourceVersion;
                        }

                        return;
                    }
                }

                // v1.38 never records an invalid first value (§1.4): it could only ever skip or mislead.
                if (failClosed && !ResourceVersion.TryCompare(resourceVersion, resourceVersion, out _))
                {
                    return;
                }

                if (_count == _entries.Length)
                {
                    Array.Resize(ref _entries, _count * 2);
                }

                stores.TryGetValue(resource, out var getter);
                _entries[_count++] = new Entry { Resource = resource, WroteResourceVersion = resourceVersion, Getter = getter };
            }
        }

        public ConsistencyError? Check(bool failClosed)
        {
            lock (_lock)
            {
                for (var i = 0; i < _count; i++)
                {
                    ref readonly var entry = ref _entries[i];

                    // No store for this group-resource: nothing to compare against, so v1.36 skips it (§7.4);
                    // v1.38 reports the wiring mistake (§1.4).
                    if (entry.Getter is null)
                    {
                        if (failClosed)
                        {
                            return new ConsistencyError(string.Empty, entry.WroteResourceVersion, entry.Resource, ConsistencyErrorReason.NoStoreRegistered);
                        }

                        continue;
                    }

                    // "" means the store reports no RV (never synced, or tracking off): v1.36 skips (§7.4), v1.38
                    // fails safe and reports not ready (§1.4).
                    var read = entry.Getter.LastStoreSyncResourceVersion;
                    if (string.IsNullOrEmpty(read))
                    {
                        if (failClosed)
                        {
                            return new ConsistencyError(string.Empty, entry.WroteResourceVersion, entry.Resource, ConsistencyErrorReason.CacheNotSynced);
                        }

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
