using KubeConsistency.Cache.Advanced;
using KubeConsistency.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeConsistency.Cache;

/// <summary>Creates RealFIFO queues (upstream-semantics.md §2).</summary>
public static class RealFifo
{
    /// <summary>The maximum number of deltas <see cref="IDeltaQueue{T}.PopBatchAsync"/> hands over at once.</summary>
    public const int BatchSize = 1000;

    /// <summary>Creates a RealFIFO (Go: <c>NewRealFIFOWithOptions</c>).</summary>
    /// <typeparam name="T">The object type.</typeparam>
    /// <param name="options">Options; the §2.2 construction invariants are enforced.</param>
    /// <exception cref="ArgumentException">
    /// Atomic mode with <see cref="RealFifoOptions{T}.KnownObjects"/>, or legacy mode without them or with
    /// <see cref="RealFifoOptions{T}.UnlockWhileProcessing"/> or <see cref="RealFifoOptions{T}.EmitDeltaTypeBookmark"/>.
    /// </exception>
    public static IDeltaQueue<T> Create<T>(RealFifoOptions<T> options)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.AtomicEvents)
        {
            if (options.KnownObjects is not null)
            {
                throw new ArgumentException("an atomic RealFIFO must not be given KnownObjects", nameof(options));
            }
        }
        else
        {
            if (options.KnownObjects is null)
            {
                throw new ArgumentException("a non-atomic RealFIFO needs KnownObjects", nameof(options));
            }

            if (options.UnlockWhileProcessing)
            {
                throw new ArgumentException("UnlockWhileProcessing requires AtomicEvents", nameof(options));
            }

            if (options.EmitDeltaTypeBookmark)
            {
                throw new ArgumentException("EmitDeltaTypeBookmark requires AtomicEvents", nameof(options));
            }
        }

        return new RealFifo<T>(options);
    }
}

/// <summary>
/// An ordered list of single deltas without per-key coalescing (Go: <c>RealFIFO</c>, §2.2–§2.4).
/// </summary>
internal sealed class RealFifo<T> : IDeltaQueue<T>, ITransformingQueue<T>, IConsumerWakeBatching
    where T : class
{
    private const int UnlockThreshold = 2 * RealFifo.BatchSize;

    private readonly Lock _lock = new();
    private readonly DeltaBuffer<T> _items = new();
    private readonly Delta<T>[] _batch = new Delta<T>[RealFifo.BatchSize];
    private readonly HashSet<string> _batchKeys = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly KeyFunc<T> _keyFunc;
    private readonly IKeyListerGetter<T>? _knownObjects;
    private readonly Func<T, T>? _transformer;
    private readonly bool _atomic;
    private readonly bool _unlockWhileProcessing;
    private readonly bool _emitBookmarks;
    private readonly InformerMetrics? _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _name;

    private bool _populated;
    private int _initialPopulationCount;
    private bool _closed;
    private bool _hasSynced;
    private TaskCompletionSource? _waiter;
    private volatile bool _holdWakes;
    private int _heldWakes;
    private int _consuming;
    private int _processing;

    public RealFifo(RealFifoOptions<T> options)
    {
        _keyFunc = options.KeyFunction ?? ObjectKeys.MetaNamespaceKeyFunc(options.MetadataAccessor);
        _knownObjects = options.KnownObjects;
        _transformer = options.Transformer;
        _atomic = options.AtomicEvents;
        _unlockWhileProcessing = options.UnlockWhileProcessing;
        _emitBookmarks = options.EmitDeltaTypeBookmark;
        _metrics = options.Metrics;
        _time = options.TimeProvider ?? TimeProvider.System;
        _logger = options.Logger ?? NullLogger.Instance;
        _name = options.Name ?? "RealFIFO " + typeof(T).Name;
    }

    public bool IsClosed
    {
        get
        {
            lock (_lock)
            {
                return _closed;
            }
        }
    }

    public bool HasSynced
    {
        get
        {
            lock (_lock)
            {
                return _hasSynced;
            }
        }
    }

    public Task Synced => _synced.Task;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _items.Count;
            }
        }
    }

    /// <summary>A consumer is waiting for a delta and has not been woken: what the wake-holding tests observe.</summary>
    internal bool IsConsumerWaiting
    {
        get
        {
            lock (_lock)
            {
                return _waiter is not null;
            }
        }
    }

    /// <summary>Nothing queued and no pop being processed: what a scenario runner waits for between steps.</summary>
    internal bool IsIdle
    {
        get
        {
            lock (_lock)
            {
                return _items.Count == 0 && _processing == 0;
            }
        }
    }

    public void Add(T obj) => Enqueue(DeltaType.Added, obj);

    public void Update(T obj) => Enqueue(DeltaType.Updated, obj);

    public void Delete(T obj) => Enqueue(DeltaType.Deleted, obj);

    public Func<T, T>? Transformer => _transformer;

    public void Replace(IReadOnlyList<T> items, string resourceVersion) => Replace(items, resourceVersion, _transformer);

    public void ReplaceTransformed(IReadOnlyList<T> items, string resourceVersion) => Replace(items, resourceVersion, null);

    private void Replace(IReadOnlyList<T> items, string resourceVersion, Func<T, T>? transformer)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(resourceVersion);
        if (_atomic)
        {
            // Transform everything first: any failure aborts the whole relist with nothing queued (§2.3).
            var objects = new T[items.Count];
            for (var i = 0; i < objects.Length; i++)
            {
                var item = items[i] ?? throw new ArgumentException("a listed item is null", nameof(items));
                objects[i] = transformer is null ? item : transformer(item);
            }

            lock (_lock)
            {
                _items.Add(new Delta<T>(DeltaType.ReplacedAll, new ReplacedAllInfo<T>(resourceVersion, objects)));
                MarkFirstReplaceLocked();
                AfterEnqueueLocked();
            }

            return;
        }

        lock (_lock)
        {
            ReconcileReplacementLocked(items, transformer);
            MarkFirstReplaceLocked();
            AfterEnqueueLocked();
        }
    }

    public void Resync()
    {
        lock (_lock)
        {
            if (_atomic)
            {
                // Unconditional, even on an empty store: the consumer iterates the store when it pops (§2.3).
                _items.Add(new Delta<T>(DeltaType.SyncAll, SyncAllInfo.Instance));
                AfterEnqueueLocked();
                return;
            }

            // Keys with a pending delta are skipped: a resync would carry the stale stored copy (§2.3).
            var queued = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < _items.Count; i++)
            {
                queued.Add(KeyOf(_items[i].Object));
            }

            var added = false;
            foreach (var key in _knownObjects!.ListKeys())
            {
                if (queued.Contains(key))
                {
                    continue;
                }

                if (!_knownObjects.TryGetByKey(key, out var known))
                {
                    _logger.SyncObjectMissing(_name, key);
                    continue;
                }

                _items.Add(new Delta<T>(DeltaType.Sync, known));
                added = true;
            }

            if (added)
            {
                AfterEnqueueLocked();
            }
        }
    }

    public void Bookmark(string resourceVersion)
    {
        ArgumentNullException.ThrowIfNull(resourceVersion);
        if (!_emitBookmarks)
        {
            return;
        }

        // Not "populated", no sync bookkeeping, no queued-items gauge update (§2.3).
        lock (_lock)
        {
            _items.Add(new Delta<T>(DeltaType.Bookmark, new BookmarkInfo(resourceVersion)));
            WakeOrHoldLocked();
        }
    }

    public void Close()
    {
        lock (_lock)
        {
            _closed = true;
            WakeLocked();
        }
    }

    public ValueTask<bool> PopAsync(PopProcessor<T> process, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(process);
        return PopCoreAsync(process, null, null, cancellationToken);
    }

    public ValueTask<bool> PopBatchAsync(BatchProcessor<T> processBatch, PopProcessor<T> processSingle, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(processBatch);
        ArgumentNullException.ThrowIfNull(processSingle);
        return PopCoreAsync(null, processBatch, processSingle, cancellationToken);
    }

    private ValueTask<bool> PopCoreAsync(PopProcessor<T>? process, BatchProcessor<T>? processBatch, PopProcessor<T>? processSingle, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _consuming, 1) != 0)
        {
            throw new InvalidOperationException($"{_name}: only one consumer may pop at a time (§2.4).");
        }

        bool outcome;
        Task? wait;
        try
        {
            outcome = TryPop(process, processBatch, processSingle, cancellationToken, out wait);
        }
        catch
        {
            Volatile.Write(ref _consuming, 0);
            throw;
        }

        if (wait is null)
        {
            Volatile.Write(ref _consuming, 0);
            return new ValueTask<bool>(outcome);
        }

        return WaitAndPopAsync(wait, process, processBatch, processSingle, cancellationToken);
    }

    private async ValueTask<bool> WaitAndPopAsync(Task wait, PopProcessor<T>? process, BatchProcessor<T>? processBatch, PopProcessor<T>? processSingle, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
                var outcome = TryPop(process, processBatch, processSingle, cancellationToken, out var next);
                if (next is null)
                {
                    return outcome;
                }

                wait = next;
            }
        }
        finally
        {
            Volatile.Write(ref _consuming, 0);
        }
    }

    /// <summary>Pops and processes if something is queued; otherwise returns the task to wait on.</summary>
    private bool TryPop(PopProcessor<T>? process, BatchProcessor<T>? processBatch, PopProcessor<T>? processSingle, CancellationToken cancellationToken, out Task? wait)
    {
        wait = null;
        _lock.Enter();
        try
        {
            if (_items.Count == 0)
            {
                if (_closed)
                {
                    return false;
                }

                cancellationToken.ThrowIfCancellationRequested();
                _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _waiter.Task;
                return false;
            }

            if (process is not null)
            {
                PopOneLocked(process);
            }
            else
            {
                PopBatchLocked(processBatch!, processSingle!);
            }

            return true;
        }
        finally
        {
            _lock.Exit();
        }
    }

    private void PopOneLocked(PopProcessor<T> process)
    {
        // isInInitialList is decided before the head is removed (§2.4).
        var isInInitialList = !_hasSynced;
        var item = _items.RemoveHead();
        _metrics?.SetQueuedItems(_items.Count);
        ProcessLocked(1, isInInitialList, item, process, null);
    }

    private void PopBatchLocked(BatchProcessor<T> processBatch, PopProcessor<T> processSingle)
    {
        var isInInitialList = !_hasSynced;

        // Never mix the initial population with later deltas (rule 1).
        var limit = Math.Min(_items.Count, RealFifo.BatchSize);
        if (!_hasSynced && _initialPopulationCount > 0)
        {
            limit = Math.Min(limit, _initialPopulationCount);
        }

        var n = 0;
        _batchKeys.Clear();
        for (var i = 0; i < limit; i++)
        {
            var delta = _items[i];

            // Rule 2: ReplacedAll, SyncAll and Bookmark travel alone.
            if (!delta.IsBatchable)
            {
                if (n == 0)
                {
                    n = 1;
                }

                break;
            }

            string key;
            try
            {
                key = delta.KeyFor(_keyFunc) ?? KeyOf(delta.Object);
            }
            catch (KeyException)
            {
                // Rule 3: an item without a key is taken and closes the batch.
                n++;
                break;
            }

            // Rule 4: a key already in the batch ends it before the duplicate.
            if (!_batchKeys.Add(key))
            {
                break;
            }

            n++;
        }

        _batchKeys.Clear();
        if (n == 1)
        {
            var single = _items.RemoveHead();
            _metrics?.SetQueuedItems(_items.Count);
            ProcessLocked(1, isInInitialList, single, processSingle, null);
            return;
        }

        _items.RemoveHead(_batch.AsSpan(0, n));
        _metrics?.SetQueuedItems(_items.Count);
        ProcessLocked(n, isInInitialList, default, null, processBatch);
    }

    /// <summary>Runs the callback (unlocked when allowed), then does the post-processing bookkeeping under the lock.</summary>
    private void ProcessLocked(int count, bool isInInitialList, Delta<T> single, PopProcessor<T>? process, BatchProcessor<T>? processBatch)
    {
        var unlock = _unlockWhileProcessing && _items.Count < UnlockThreshold;
        var start = _time.GetTimestamp();
        _processing++;
        if (unlock)
        {
            _lock.Exit();
        }

        try
        {
            if (process is not null)
            {
                process(single, isInInitialList);
            }
            else
            {
                processBatch!(_batch.AsSpan(0, count), isInInitialList);
            }
        }
        finally
        {
            if (unlock)
            {
                _lock.Enter();
            }

            _processing--;
            if (processBatch is not null)
            {
                Array.Clear(_batch, 0, count);
            }

            var elapsed = _time.GetElapsedTime(start);
            _metrics?.ObserveProcessingLatency(elapsed.TotalSeconds);
            if (elapsed > TimeSpan.FromMilliseconds(100) && _items.Count > 10)
            {
                _logger.SlowProcessing(_name, count, elapsed, _items.Count);
            }

            // The initial count drops only after processing, so HasSynced never turns true while the initial
            // relist is still being applied (§2.4, §12).
            if (_initialPopulationCount > 0)
            {
                _initialPopulationCount = Math.Max(0, _initialPopulationCount - count);
                CheckSyncedLocked();
            }
        }
    }

    private void Enqueue(DeltaType type, T obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        lock (_lock)
        {
            // Populated even when the object is then rejected, as upstream (§2.3).
            _populated = true;
            CheckSyncedLocked();

            // The key must be computable before anything is queued; the transformer runs once per object.
            var key = KeyOf(obj);
            var transformed = obj;
            if (_transformer is not null)
            {
                transformed = _transformer(obj);
                key = KeyOf(transformed);
            }

            _items.Add(new Delta<T>(type, transformed, key, _keyFunc));
            _metrics?.SetQueuedItems(_items.Count);
            WakeOrHoldLocked();
        }
    }

    /// <summary>§2.3 non-atomic Replace: tombstones for queued keys, then for known keys, then the items in list order.</summary>
    private void ReconcileReplacementLocked(IReadOnlyList<T> items, Func<T, T>? transformer)
    {
        var newKeys = new HashSet<string>(items.Count, StringComparer.Ordinal);
        foreach (var item in items)
        {
            newKeys.Add(KeyOf(item ?? throw new ArgumentException("a listed item is null", nameof(items))));
        }

        var queuedKeys = new List<string>();
        var lastQueued = new Dictionary<string, Delta<T>>(StringComparer.Ordinal);
        for (var i = 0; i < _items.Count; i++)
        {
            var delta = _items[i];
            var key = KeyOf(delta.Object);
            if (!lastQueued.ContainsKey(key))
            {
                queuedKeys.Add(key);
            }

            lastQueued[key] = delta;
        }

        foreach (var key in queuedKeys)
        {
            if (newKeys.Contains(key))
            {
                continue;
            }

            var last = lastQueued[key];
            if (last.Type == DeltaType.Deleted)
            {
                continue;
            }

            _items.Add(new Delta<T>(DeltaType.Deleted, new DeletedFinalStateUnknown<T>(key, last.Object as T)));
        }

        foreach (var key in _knownObjects!.ListKeys())
        {
            if (newKeys.Contains(key) || lastQueued.ContainsKey(key))
            {
                continue;
            }

            if (!_knownObjects.TryGetByKey(key, out var known))
            {
                _logger.KnownObjectMissing(_name, key);
                known = null;
            }

            _items.Add(new Delta<T>(DeltaType.Deleted, new DeletedFinalStateUnknown<T>(key, known)));
        }

        foreach (var item in items)
        {
            _items.Add(new Delta<T>(DeltaType.Replaced, transformer is null ? item : transformer(item)));
        }
    }

    private void MarkFirstReplaceLocked()
    {
        if (!_populated)
        {
            // Everything queued so far, e.g. an earlier bookmark, belongs to the initial population (§2.3).
            _populated = true;
            _initialPopulationCount = _items.Count;
            CheckSyncedLocked();
        }
    }

    private void AfterEnqueueLocked()
    {
        _metrics?.SetQueuedItems(_items.Count);
        WakeLocked();
    }

    public void HoldConsumerWakes() => _holdWakes = true;

    public void ReleaseConsumerWakes()
    {
        _holdWakes = false;

        // Only this thread adds held wakes, so a zero read here is exact; anything else resets them to zero.
        if (Volatile.Read(ref _heldWakes) == 0)
        {
            return;
        }

        lock (_lock)
        {
            if (_heldWakes > 0)
            {
                WakeLocked();
            }
        }
    }

    private void WakeOrHoldLocked()
    {
        if (_waiter is not null && _holdWakes && _heldWakes < IConsumerWakeBatching.MaxHeld)
        {
            _heldWakes++;
            return;
        }

        WakeLocked();
    }

    private void WakeLocked()
    {
        _heldWakes = 0;
        var waiter = _waiter;
        _waiter = null;
        waiter?.TrySetResult();
    }

    private void CheckSyncedLocked()
    {
        if (!_hasSynced && _populated && _initialPopulationCount == 0)
        {
            _hasSynced = true;
            _synced.TrySetResult();
        }
    }

    private string KeyOf(object payload) => payload switch
    {
        DeletedFinalStateUnknown<T> tombstone => tombstone.Key,
        T obj => _keyFunc(obj),
        _ => throw new KeyException(payload, "not an object of type " + typeof(T).Name),
    };
}

/// <summary>A growable ring buffer of deltas; slots are cleared on removal so popped objects can be collected.</summary>
internal sealed class DeltaBuffer<T>
    where T : class
{
    private Delta<T>[] _array = new Delta<T>[16];
    private int _head;

    public int Count { get; private set; }

    public Delta<T> this[int index] => _array[(_head + index) & (_array.Length - 1)];

    public void Add(Delta<T> delta)
    {
        if (Count == _array.Length)
        {
            var next = new Delta<T>[_array.Length * 2];
            for (var i = 0; i < Count; i++)
            {
                next[i] = this[i];
            }

            _array = next;
            _head = 0;
        }

        _array[(_head + Count) & (_array.Length - 1)] = delta;
        Count++;
    }

    public Delta<T> RemoveHead()
    {
        var item = _array[_head];
        _array[_head] = default;
        _head = (_head + 1) & (_array.Length - 1);
        Count--;
        return item;
    }

    public void RemoveHead(Span<Delta<T>> destination)
    {
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = RemoveHead();
        }
    }
}
