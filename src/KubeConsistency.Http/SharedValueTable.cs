namespace KubeConsistency.Http;

/// <summary>
/// A fixed-size, lossy, lock-free table of decoded values that equal input decodes to, shared by every informer in the
/// process: a slot holds one entry, found by the 64-bit hash of the input; the caller checks the input itself before
/// using the value, so a collision or a torn race can cause only a miss, never a wrong value.
/// </summary>
/// <remarks>
/// Replacement is second-chance (CLOCK): an entry that has been used since it was stored survives one collision, so a
/// stream of unique inputs (a pod's own IP in its status field set) cannot flush the values that recur (its
/// ReplicaSet's spec field set). The table keeps at most one value per slot alive.
/// </remarks>
/// <typeparam name="TValue">The shared value.</typeparam>
internal sealed class SharedValueTable<TValue>
    where TValue : class
{
    private readonly Entry?[] _slots;
    private readonly int _mask;

    /// <summary>Creates a table of <paramref name="slotCount"/> slots (a power of two).</summary>
    public SharedValueTable(int slotCount)
    {
        if (slotCount <= 0 || (slotCount & (slotCount - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(slotCount), slotCount, "The slot count must be a power of two.");
        }

        _slots = new Entry?[slotCount];
        _mask = slotCount - 1;
    }

    /// <summary>The entry stored for <paramref name="hash"/>, if any; the caller must still compare the input.</summary>
    public Entry? Find(ulong hash)
    {
        var entry = Volatile.Read(ref _slots[(int)hash & _mask]);
        return entry is not null && entry.Hash == hash ? entry : null;
    }

    /// <summary>Offers a freshly decoded value; it is stored unless its slot holds an entry used since the last offer.</summary>
    public void Add(ulong hash, TValue value)
    {
        ref var slot = ref _slots[(int)hash & _mask];
        var current = Volatile.Read(ref slot);
        if (current is { Used: true })
        {
            current.Used = false;
            return;
        }

        // Release: a reader that sees the entry sees its fields.
        Volatile.Write(ref slot, new Entry(hash, value));
    }

    /// <summary>One stored value. Immutable but for <see cref="Used"/>, whose races only shift what is evicted.</summary>
    internal sealed class Entry(ulong hash, TValue value)
    {
        /// <summary>The hash of the input the value was decoded from.</summary>
        public ulong Hash { get; } = hash;

        /// <summary>The shared value.</summary>
        public TValue Value { get; } = value;

        /// <summary>Whether a lookup returned the value since it was stored or last spared.</summary>
        public bool Used { get; set; }
    }
}
