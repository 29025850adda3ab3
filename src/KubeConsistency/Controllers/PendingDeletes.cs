using System.Collections.Concurrent;
using KubeConsistency.Cache;
using KubeConsistency.Consistency;

namespace KubeConsistency.Controllers;

/// <summary>
/// Deletes an owner's sync made whose answer carried no resource version, waiting to be observed by UID: a delete is
/// observed once the cache no longer holds the object, holds another object under its key (a new UID) or holds it
/// with a <c>deletionTimestamp</c> (scylla-operator's rule, docs/upstream-after-1.36.md §2.3). Like the consistency
/// store's records, an owner's set is replaced when its UID changes and forgotten once every delete is observed.
/// </summary>
internal sealed class PendingDeletes
{
    private readonly ConcurrentDictionary<NamespacedName, OwnerDeletes> _owners = new();
    private int _count;

    /// <summary>Whether any owner has pending deletes (the fast path of every check).</summary>
    public bool IsEmpty => Volatile.Read(ref _count) == 0;

    public void Expect(NamespacedName owner, string ownerUid, PendingDelete delete)
    {
        while (true)
        {
            var fresh = new OwnerDeletes(ownerUid);
            var deletes = _owners.GetOrAdd(owner, fresh);
            if (ReferenceEquals(deletes, fresh))
            {
                Interlocked.Increment(ref _count);
            }

            lock (deletes)
            {
                if (deletes.Removed)
                {
                    // Check or Clear removed this set after we found it: add to a new one.
                    continue;
                }

                if (!string.Equals(deletes.OwnerUid, ownerUid, StringComparison.Ordinal))
                {
                    // A recreated owner starts over, as WroteAt does (§7.3).
                    deletes.OwnerUid = ownerUid;
                    deletes.Items.Clear();
                }

                deletes.Items.RemoveAll(d => d.Resource == delete.Resource && string.Equals(d.Key, delete.Key, StringComparison.Ordinal) && string.Equals(d.Uid, delete.Uid, StringComparison.Ordinal));
                deletes.Items.Add(delete);
                return;
            }
        }
    }

    /// <summary>The first delete of <paramref name="owner"/> the caches have not observed; the observed ones are forgotten.</summary>
    public ConsistencyError? Check(NamespacedName owner)
    {
        if (IsEmpty || !_owners.TryGetValue(owner, out var deletes))
        {
            return null;
        }

        lock (deletes)
        {
            deletes.Items.RemoveAll(static d => d.IsObserved());
            if (deletes.Items.Count > 0)
            {
                var first = deletes.Items[0];
                return new ConsistencyError(first.ReadResourceVersion, first.Resource, first.Key, first.Uid);
            }

            Remove(owner, deletes);
        }

        return null;
    }

    public void Clear(NamespacedName owner, string ownerUid)
    {
        if (IsEmpty || !_owners.TryGetValue(owner, out var deletes))
        {
            return;
        }

        lock (deletes)
        {
            if (ownerUid.Length != 0 && !string.Equals(deletes.OwnerUid, ownerUid, StringComparison.Ordinal))
            {
                return;
            }

            Remove(owner, deletes);
        }
    }

    /// <summary>Removes an owner's set; the caller holds its lock, so no Expect can add to it afterwards.</summary>
    private void Remove(NamespacedName owner, OwnerDeletes deletes)
    {
        deletes.Removed = true;
        if (_owners.TryRemove(new KeyValuePair<NamespacedName, OwnerDeletes>(owner, deletes)))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    private sealed class OwnerDeletes(string ownerUid)
    {
        public string OwnerUid { get; set; } = ownerUid;

        public List<PendingDelete> Items { get; } = [];

        public bool Removed { get; set; }
    }
}

/// <summary>One delete waiting to be observed in a cache.</summary>
internal abstract class PendingDelete(GroupResource resource, string key, string uid)
{
    public GroupResource Resource { get; } = resource;

    public string Key { get; } = key;

    public string Uid { get; } = uid;

    public abstract string ReadResourceVersion { get; }

    public abstract bool IsObserved();
}

/// <summary>A delete observed in an <see cref="IStore{T}"/>.</summary>
internal sealed class PendingDelete<T>(GroupResource resource, string key, string uid, IStore<T> cache, ObjectMetadataAccessor<T> accessor) : PendingDelete(resource, key, uid)
    where T : class
{
    public override string ReadResourceVersion => cache.LastStoreSyncResourceVersion;

    public override bool IsObserved() =>
        !cache.TryGetByKey(Key, out var obj)
        || !string.Equals(accessor.GetUid(obj), Uid, StringComparison.Ordinal)
        || accessor.GetDeletionTimestamp(obj) is not null;
}
