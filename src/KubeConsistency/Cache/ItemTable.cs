using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.InteropServices;

namespace KubeConsistency.Cache;

/// <summary>
/// The store's key → object table: one writer at a time (the caller serialises writes), any number of readers
/// that take no lock and never retry.
/// </summary>
/// <remarks>
/// <para>
/// Why not <see cref="System.Collections.Concurrent.ConcurrentDictionary{TKey, TValue}"/>: it allocates a node object
/// per entry, and a new node for every entry each time it grows. At 100,000 cached objects that is 100,000 more heap
/// objects for every GC to mark. Here entries are structs in arrays (Dictionary's layout, cut into pages that stay off the large-object heap), about 28 bytes per slot.
/// </para>
/// <para>
/// Readers are safe without a lock or a sequence check because the writer never changes a slot a reader could be
/// passing through in a way that misleads it: a new key goes into a never-used slot that is fully written before the
/// bucket head that reaches it is published; an update replaces only the value reference; a delete unlinks the slot
/// and clears its key and value but keeps its <c>Next</c>, so a reader standing on it still walks the rest of the
/// chain. Slots are never reused in place: when the array is full the live entries are copied into a new table that
/// is published with one write, and the old table is never written again.
/// </para>
/// <para>
/// Hashing starts with a fast non-randomised string hash (as Dictionary and ConcurrentDictionary do) and switches to
/// the randomised <see cref="string.GetHashCode()"/> when one chain grows long, so object names chosen to collide
/// cannot make the cache quadratic.
/// </para>
/// </remarks>
internal sealed class ItemTable<T>
    where T : class
{
    /// <summary>Chain length at which hashing switches to the randomised hash (Dictionary's threshold).</summary>
    internal const int CollisionThreshold = 100;

    private volatile Table _table;
    private int _count;

    public ItemTable(int capacity = 0) => _table = new Table(Math.Max(capacity, 4), randomized: false);

    /// <summary>The number of live entries. Read by the writer, or by readers that accept a momentary value.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Whether the table switched to the randomised hash (for tests).</summary>
    internal bool Randomized => _table.Randomized;

    /// <summary>Looks a key up. Safe concurrently with the writer.</summary>
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out T value)
    {
        var table = _table;
        var hash = table.Hash(key);
        var capacity = table.Capacity;
        var i = Volatile.Read(ref table.Buckets[hash & (table.Buckets.Length - 1)]) - 1;

        // Bounded, though a walk can only be as long as the table: no slot is relinked while readers can see it.
        for (var steps = 0; (uint)i < (uint)capacity && steps < capacity; steps++)
        {
            ref var entry = ref table.At(i);
            if (Volatile.Read(ref entry.Hash) == hash && Volatile.Read(ref entry.Key) is { } k && string.Equals(k, key, StringComparison.Ordinal))
            {
                // A value cleared by a delete that ran meanwhile reads as absent.
                value = Volatile.Read(ref entry.Value);
                return value is not null;
            }

            i = Volatile.Read(ref entry.Next);
        }

        value = null;
        return false;
    }

    /// <summary>Adds or replaces the value of <paramref name="key"/>; returns whether the key was new. Writer only.</summary>
    public bool Set(string key, T value, out T? previous)
    {
        var table = _table;
        var hash = table.Hash(key);
        var bucket = hash & (table.Buckets.Length - 1);
        var chain = 0;
        for (var i = table.Buckets[bucket] - 1; i >= 0; i = table.At(i).Next, chain++)
        {
            ref var entry = ref table.At(i);
            if (entry.Hash == hash && string.Equals(entry.Key, key, StringComparison.Ordinal))
            {
                previous = entry.Value;
                Volatile.Write(ref entry.Value, value);
                return false;
            }
        }

        previous = null;
        if (table.Used == table.Capacity || (chain >= CollisionThreshold && !table.Randomized))
        {
            table = Rebuild(table, randomized: table.Randomized || chain >= CollisionThreshold);
            hash = table.Hash(key);
            bucket = hash & (table.Buckets.Length - 1);
        }

        var slot = table.Used++;
        ref var fresh = ref table.At(slot);
        fresh.Hash = hash;
        fresh.Next = table.Buckets[bucket] - 1;
        fresh.Value = value;
        fresh.Key = key;

        // Publishing the bucket head is what makes the slot reachable; everything above is visible before it.
        Volatile.Write(ref table.Buckets[bucket], slot + 1);
        Volatile.Write(ref _count, _count + 1);
        return true;
    }

    /// <summary>Removes <paramref name="key"/>; returns the removed value. Writer only.</summary>
    public bool Remove(string key, [MaybeNullWhen(false)] out T removed)
    {
        var table = _table;
        var hash = table.Hash(key);
        var bucket = hash & (table.Buckets.Length - 1);
        var previous = -1;
        for (var i = table.Buckets[bucket] - 1; i >= 0; previous = i, i = table.At(i).Next)
        {
            ref var entry = ref table.At(i);
            if (entry.Hash != hash || !string.Equals(entry.Key, key, StringComparison.Ordinal))
            {
                continue;
            }

            removed = entry.Value!;
            if (previous < 0)
            {
                Volatile.Write(ref table.Buckets[bucket], entry.Next + 1);
            }
            else
            {
                Volatile.Write(ref table.At(previous).Next, entry.Next);
            }

            // Next stays: a reader standing here still reaches the rest of the chain.
            Volatile.Write(ref entry.Value, null);
            Volatile.Write(ref entry.Key, null);
            Volatile.Write(ref _count, _count - 1);
            return true;
        }

        removed = null;
        return false;
    }

    /// <summary>Copies the live entries. Only while no writer runs (the store's read or write lock).</summary>
    public void CopyTo(Span<string> keys, Span<T> values)
    {
        var table = _table;
        var n = 0;
        for (var i = 0; i < table.Used; i++)
        {
            ref var entry = ref table.At(i);
            if (entry.Value is { } value)
            {
                if (!keys.IsEmpty)
                {
                    keys[n] = entry.Key!;
                }

                if (!values.IsEmpty)
                {
                    values[n] = value;
                }

                n++;
            }
        }
    }

    /// <summary>Enumerates the live entries. Only while no writer runs.</summary>
    public IEnumerable<KeyValuePair<string, T>> Entries()
    {
        var table = _table;
        for (var i = 0; i < table.Used; i++)
        {
            if (table.At(i).Value is { } value)
            {
                yield return new KeyValuePair<string, T>(table.At(i).Key!, value);
            }
        }
    }

    /// <summary>The live entries copied into a new table: twice the size when mostly live, else the same size.</summary>
    private Table Rebuild(Table old, bool randomized)
    {
        var live = _count;
        var capacity = old.Capacity;
        if (live * 2 >= capacity)
        {
            capacity = checked(capacity * 2);
        }

        var next = new Table(capacity, randomized);
        for (var i = 0; i < old.Used; i++)
        {
            ref var entry = ref old.At(i);
            if (entry.Value is null)
            {
                continue;
            }

            var hash = next.Hash(entry.Key!);
            var bucket = hash & (next.Buckets.Length - 1);
            var slot = next.Used++;
            next.At(slot) = new Entry { Key = entry.Key, Value = entry.Value, Hash = hash, Next = next.Buckets[bucket] - 1 };
            next.Buckets[bucket] = slot + 1;
        }

        _table = next;
        return next;
    }

    /// <summary>Two interleaved djb2-style lanes over the UTF-16 code units, as .NET's own non-randomised string hash.</summary>
    internal static int NonRandomizedHash(string key)
    {
        var pairs = MemoryMarshal.Cast<char, uint>(key.AsSpan());
        uint h1 = (5381u << 16) + 5381u, h2 = h1;
        var i = 0;
        for (; i + 1 < pairs.Length; i += 2)
        {
            h1 = (BitOperations.RotateLeft(h1, 5) + h1) ^ pairs[i];
            h2 = (BitOperations.RotateLeft(h2, 5) + h2) ^ pairs[i + 1];
        }

        if (i < pairs.Length)
        {
            h1 = (BitOperations.RotateLeft(h1, 5) + h1) ^ pairs[i];
        }

        if ((key.Length & 1) != 0)
        {
            h2 = (BitOperations.RotateLeft(h2, 5) + h2) ^ key[^1];
        }

        return (int)(h1 + (h2 * 1566083941u));
    }

    [StructLayout(LayoutKind.Auto)]
    private struct Entry
    {
        public string? Key;
        public T? Value;
        public int Hash;
        public int Next;
    }

    private sealed class Table
    {
        /// <summary>
        /// Entries per page: 2,048 × 24 bytes stays under the large-object threshold (85,000 bytes). One array per table
        /// would be a large object from about 3,500 entries, and every relist that allocates one advances the
        /// large-object budget and so triggers gen2 collections (measured: Replace of 10,000 objects 2.5 ms with one
        /// array, 0.9 ms without LOH allocation).
        /// </summary>
        private const int PageShift = 11;
        private const int PageMask = (1 << PageShift) - 1;

        public readonly int[] Buckets;
        public readonly int Capacity;
        public readonly bool Randomized;
        private readonly Entry[][] _pages;

        /// <summary>Slots ever filled in this table (live or deleted); written by the writer only.</summary>
        public int Used;

        public Table(int capacity, bool randomized)
        {
            // A small table is one page of its own size; a larger one is whole pages.
            var pages = (capacity + PageMask) >> PageShift;
            _pages = new Entry[pages][];
            for (var p = 0; p < pages; p++)
            {
                _pages[p] = new Entry[pages == 1 ? capacity : 1 << PageShift];
            }

            Capacity = pages == 1 ? capacity : pages << PageShift;
            Buckets = new int[BitOperations.RoundUpToPowerOf2((uint)capacity)];
            Randomized = randomized;
        }

        /// <summary>The slot <paramref name="index"/> (below <see cref="Capacity"/>).</summary>
        public ref Entry At(int index) => ref _pages[index >> PageShift][index & PageMask];

        /// <summary>The string hash, finalised (murmur3's mix) so its low bits are good enough for a power-of-two mask.</summary>
        public int Hash(string key)
        {
            var h = (uint)(Randomized ? key.GetHashCode() : NonRandomizedHash(key));
            h ^= h >> 16;
            h *= 0x85EB_CA6Bu;
            h ^= h >> 13;
            h *= 0xC2B2_AE35u;
            h ^= h >> 16;
            return (int)(h & int.MaxValue);
        }
    }
}
