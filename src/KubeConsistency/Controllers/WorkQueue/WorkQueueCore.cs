using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using KubeConsistency.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeConsistency.Controllers;

/// <summary>
/// The one implementation behind <see cref="IWorkQueue{T}"/>, <see cref="IDelayingWorkQueue{T}"/> and
/// <see cref="IRateLimitingWorkQueue{T}"/>: client-go's <c>Typed</c>, <c>delayingType</c> and
/// <c>rateLimitingType</c> folded into a single lock.
/// </summary>
/// <remarks>
/// <para>
/// Every key the queue knows has one <see cref="ItemState"/> entry in <see cref="_items"/>, alive while the key is
/// dirty (needs processing), processing, or waiting for a delay. Go keeps the same facts in two sets (<c>dirty</c>,
/// <c>processing</c>), a delay heap plus its index map, and two metrics maps; one dictionary entry makes every
/// operation a single lookup. <see cref="_queue"/> holds, in FIFO order, exactly the keys that are dirty and not
/// processing.
/// </para>
/// <para>
/// Getters that find the queue empty park as pooled <see cref="Waiter"/>s; a key pushed while one waits is handed
/// straight to the oldest waiter, so waiters exist only while <see cref="_queue"/> is empty. Delayed keys sit in a
/// heap ordered by ready time and one <see cref="ITimer"/> is armed for the earliest of them.
/// </para>
/// </remarks>
internal sealed partial class WorkQueueCore<T> : IRateLimitingWorkQueue<T>, WorkQueueInstruments.ISource
    where T : notnull
{
    // Longest single timer arm; a longer delay re-arms when it fires (System timers reject ~49.7 days and more).
    private static readonly TimeSpan s_maxTimerDue = TimeSpan.FromHours(1);
    private static readonly TimeSpan s_minRearm = TimeSpan.FromMilliseconds(1);

    private readonly Lock _lock = new();
    private readonly Dictionary<T, ItemState> _items;
    private readonly Queue<T> _queue = new();
    private readonly PriorityQueue<T, WaitKey> _waiting = new();
    private readonly TimeProvider _time;
    private readonly IRateLimiter<T>? _rateLimiter;
    private readonly ILogger _logger;
    private readonly string _name;
    private readonly WorkQueueInstruments? _instruments;
    private readonly KeyValuePair<string, object?> _nameTag;

    private int _dirtyCount;
    private int _processingCount;
    private int _waitingCount;
    private bool _shuttingDown;
    private TaskCompletionSource? _drained;

    // Parked getters (oldest first) and a free list of waiters to reuse.
    private Waiter? _waitHead;
    private Waiter? _waitTail;
    private Waiter? _pool;
    private int _poolCount;

    private ITimer? _timer;
    private long _timerDueAt = long.MaxValue;
    private long _waitSequence;

    public WorkQueueCore(WorkQueueOptions<T> options, IRateLimiter<T>? rateLimiter)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options));
        _time = options.TimeProvider;
        _rateLimiter = rateLimiter;
        _logger = options.Logger ?? NullLogger.Instance;
        _items = new Dictionary<T, ItemState>(options.Comparer);
        _name = options.Name ?? string.Empty;
        _nameTag = new KeyValuePair<string, object?>(WorkQueueInstruments.NameTag, _name);
        if (_name.Length > 0)
        {
            // As client-go: an unnamed queue has no metrics at all.
            _instruments = WorkQueueInstruments.For(KubeConsistencyMeter.Get(options.MeterFactory));
            _instruments.Register(this, _name);
        }
    }

    [Flags]
    private enum StateFlags : byte
    {
        None = 0,
        Dirty = 1,
        Processing = 2,
        Waiting = 4,
        HasAddedAt = 8,
        HasStartedAt = 16,
    }

    public int Len
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    public bool ShuttingDown
    {
        get
        {
            lock (_lock)
            {
                return _shuttingDown;
            }
        }
    }

    public void Add(T item)
    {
        ThrowIfNull(item);
        lock (_lock)
        {
            if (_shuttingDown)
            {
                return;
            }

            ref var state = ref CollectionsMarshal.GetValueRefOrAddDefault(_items, item, out _);
            AddLocked(item, ref state);
        }
    }

    public bool TryGet([MaybeNullWhen(false)] out T item)
    {
        lock (_lock)
        {
            if (_queue.Count > 0)
            {
                item = _queue.Dequeue();
                StartProcessingLocked(ref CollectionsMarshal.GetValueRefOrNullRef(_items, item));
                return true;
            }
        }

        item = default;
        return false;
    }

    public ValueTask<WorkQueueItem<T>> GetAsync(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<WorkQueueItem<T>>(cancellationToken);
        }

        Waiter waiter;
        lock (_lock)
        {
            if (_queue.Count > 0)
            {
                var item = _queue.Dequeue();
                StartProcessingLocked(ref CollectionsMarshal.GetValueRefOrNullRef(_items, item));
                return new ValueTask<WorkQueueItem<T>>(new WorkQueueItem<T>(item));
            }

            if (_shuttingDown)
            {
                return new ValueTask<WorkQueueItem<T>>(WorkQueueItem<T>.ShutdownResult);
            }

            waiter = RentWaiterLocked();
            LinkWaiterLocked(waiter);
        }

        return waiter.Start(cancellationToken);
    }

    public void Done(T item)
    {
        ThrowIfNull(item);
        bool wasProcessing;
        TaskCompletionSource? drained;
        lock (_lock)
        {
            wasProcessing = DoneLocked(item, out drained);
        }

        if (!wasProcessing)
        {
            WorkQueueLog.DoneNotProcessing(_logger, _name, item);
        }
        else if (drained is not null)
        {
            WorkQueueLog.Drained(_logger, _name);
            drained.TrySetResult();
        }
    }

    public void ShutDown()
    {
        TaskCompletionSource? drained;
        (int Queued, int Processing, int Dropped) counts;
        lock (_lock)
        {
            counts = ShutDownLocked();
            drained = _drained;
            _drained = null;
        }

        WorkQueueLog.ShuttingDown(_logger, _name, false, counts.Queued, counts.Processing, counts.Dropped);
        drained?.TrySetResult();
    }

    public Task ShutDownWithDrainAsync(CancellationToken cancellationToken = default)
    {
        Task task;
        (int Queued, int Processing, int Dropped) counts;
        lock (_lock)
        {
            counts = ShutDownLocked();
            if (_processingCount == 0)
            {
                task = Task.CompletedTask;
            }
            else
            {
                _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                task = _drained.Task;
            }
        }

        WorkQueueLog.ShuttingDown(_logger, _name, true, counts.Queued, counts.Processing, counts.Dropped);
        return task.WaitAsync(cancellationToken);
    }

    public void Dispose() => ShutDown();

    public void AddAfter(T item, TimeSpan delay)
    {
        ThrowIfNull(item);
        lock (_lock)
        {
            if (_shuttingDown)
            {
                return;
            }

            if (_instruments is not null && _instruments.Retries.Enabled)
            {
                _instruments.Retries.Add(1, _nameTag);
            }

            ref var state = ref CollectionsMarshal.GetValueRefOrAddDefault(_items, item, out _);
            if (delay <= TimeSpan.Zero)
            {
                AddLocked(item, ref state);
                return;
            }

            var now = _time.GetTimestamp();
            var readyAt = ReadyTimestamp(now, delay);
            if ((state.Flags & StateFlags.Waiting) != 0)
            {
                if (readyAt >= state.ReadyAt)
                {
                    // Already waiting with an earlier (or the same) ready time: that one wins.
                    return;
                }
            }
            else
            {
                state.Flags |= StateFlags.Waiting;
                _waitingCount++;
            }

            // An earlier ready time for a waiting key leaves its old heap entry behind; OnTimer skips such stale
            // entries because their ready time no longer matches the key's state.
            state.ReadyAt = readyAt;
            _waiting.Enqueue(item, new WaitKey(readyAt, ++_waitSequence));
            if (readyAt < _timerDueAt)
            {
                ArmTimerLocked(now, readyAt);
            }
        }
    }

    public void AddRateLimited(T item) => AddAfter(item, RateLimiter.When(item));

    public void Forget(T item) => RateLimiter.Forget(item);

    public int NumRequeues(T item) => RateLimiter.NumRequeues(item);

    (string Name, long Depth, double UnfinishedSeconds, double LongestSeconds) WorkQueueInstruments.ISource.Observe()
    {
        lock (_lock)
        {
            double total = 0, longest = 0;
            if (_processingCount > 0)
            {
                var now = _time.GetTimestamp();
                foreach (var (_, state) in _items)
                {
                    if ((state.Flags & StateFlags.HasStartedAt) != 0)
                    {
                        var age = _time.GetElapsedTime(state.StartedAt, now).TotalSeconds;
                        total += age;
                        longest = Math.Max(longest, age);
                    }
                }
            }

            return (_name, _dirtyCount, total, longest);
        }
    }

    /// <summary>A consistent snapshot of the queue's bookkeeping, for tests.</summary>
    internal (int Queued, int Dirty, int Processing, int Waiting) CountsForTesting()
    {
        lock (_lock)
        {
            return (_queue.Count, _dirtyCount, _processingCount, _waitingCount);
        }
    }

    // Never box a value-type key for the null check (ArgumentNullException.ThrowIfNull(object) would, and so does
    // `item is null` when the JIT does not optimize); the IsValueType test is a JIT-time constant.
    private static void ThrowIfNull(T item)
    {
        if (!typeof(T).IsValueType && item is null)
        {
            ThrowArgumentNull();
        }
    }

    [DoesNotReturn]
    private static void ThrowArgumentNull() => throw new ArgumentNullException("item");

    private IRateLimiter<T> RateLimiter =>
        _rateLimiter ?? throw new InvalidOperationException("This work queue was created without a rate limiter.");

    /// <summary>The timestamp <paramref name="delay"/> after <paramref name="now"/>, saturating at "never".</summary>
    private long ReadyTimestamp(long now, TimeSpan delay)
    {
        var frequency = _time.TimestampFrequency;
        long units;
        if (frequency == TimeSpan.TicksPerSecond)
        {
            units = delay.Ticks;
        }
        else if (frequency % TimeSpan.TicksPerSecond == 0)
        {
            var multiplier = frequency / TimeSpan.TicksPerSecond;
            units = delay.Ticks > long.MaxValue / multiplier ? long.MaxValue : delay.Ticks * multiplier;
        }
        else
        {
            var exact = Math.Ceiling(delay.Ticks * ((double)frequency / TimeSpan.TicksPerSecond));
            units = exact >= long.MaxValue ? long.MaxValue : (long)exact;
        }

        return now > 0 && units > long.MaxValue - now ? long.MaxValue : now + units;
    }

    private void AddLocked(T item, ref ItemState state)
    {
        if ((state.Flags & StateFlags.Dirty) != 0)
        {
            // Already queued, or already marked to be queued again when its processing is Done.
            return;
        }

        state.Flags |= StateFlags.Dirty;
        _dirtyCount++;
        if (_instruments is not null)
        {
            if (_instruments.Adds.Enabled)
            {
                _instruments.Adds.Add(1, _nameTag);
            }

            if (_instruments.QueueDuration.Enabled)
            {
                state.AddedAt = _time.GetTimestamp();
                state.Flags |= StateFlags.HasAddedAt;
            }
        }

        if ((state.Flags & StateFlags.Processing) == 0)
        {
            PushLocked(item, ref state);
        }
    }

    /// <summary>Puts a dirty, unprocessed key in line: straight to the oldest parked getter, else at the queue's tail.</summary>
    private void PushLocked(T item, ref ItemState state)
    {
        var waiter = _waitHead;
        if (waiter is null)
        {
            _queue.Enqueue(item);
            return;
        }

        UnlinkWaiterLocked(waiter);
        StartProcessingLocked(ref state);
        waiter.SetItem(item);
    }

    /// <summary>Go's <c>Get</c> after the pop: the key moves from dirty to processing.</summary>
    private void StartProcessingLocked(ref ItemState state)
    {
        var flags = state.Flags;
        if (_instruments is not null)
        {
            var now = 0L;
            if ((flags & StateFlags.HasAddedAt) != 0 && _instruments.QueueDuration.Enabled)
            {
                now = _time.GetTimestamp();
                _instruments.QueueDuration.Record(_time.GetElapsedTime(state.AddedAt, now).TotalSeconds, _nameTag);
            }

            if (_instruments.TracksProcessing)
            {
                state.StartedAt = now != 0 ? now : _time.GetTimestamp();
                flags |= StateFlags.HasStartedAt;
            }
        }

        state.Flags = (flags | StateFlags.Processing) & ~(StateFlags.Dirty | StateFlags.HasAddedAt);
        _dirtyCount--;
        _processingCount++;
    }

    private bool DoneLocked(T item, out TaskCompletionSource? drained)
    {
        drained = null;
        ref var state = ref CollectionsMarshal.GetValueRefOrNullRef(_items, item);
        if (Unsafe.IsNullRef(ref state) || (state.Flags & StateFlags.Processing) == 0)
        {
            // Deviation: client-go would push a dirty, unprocessed key a second time here; we ignore the call.
            return false;
        }

        if ((state.Flags & StateFlags.HasStartedAt) != 0 && _instruments!.WorkDuration.Enabled)
        {
            _instruments.WorkDuration.Record(_time.GetElapsedTime(state.StartedAt).TotalSeconds, _nameTag);
        }

        state.Flags &= ~(StateFlags.Processing | StateFlags.HasStartedAt);
        _processingCount--;
        if ((state.Flags & StateFlags.Dirty) != 0)
        {
            // Added again while it was processed: queue it now (even when shutting down, as upstream does).
            PushLocked(item, ref state);
        }
        else if ((state.Flags & StateFlags.Waiting) == 0)
        {
            _items.Remove(item);
        }

        if (_processingCount == 0 && _drained is not null)
        {
            drained = _drained;
            _drained = null;
        }

        return true;
    }

    private (int Queued, int Processing, int Dropped) ShutDownLocked()
    {
        var counts = (_queue.Count, _processingCount, _waitingCount);
        if (!_shuttingDown)
        {
            _shuttingDown = true;
            _instruments?.Unregister(this);
        }

        // Parked getters can only exist while the queue is empty: they all get the shutdown result.
        while (_waitHead is { } waiter)
        {
            UnlinkWaiterLocked(waiter);
            waiter.SetShutdown();
        }

        // The delaying loop stops: keys still waiting for their delay are dropped.
        if (_waitingCount > 0)
        {
            while (_waiting.TryDequeue(out var item, out _))
            {
                ref var state = ref CollectionsMarshal.GetValueRefOrNullRef(_items, item);
                if (!Unsafe.IsNullRef(ref state) && (state.Flags & StateFlags.Waiting) != 0)
                {
                    state.Flags &= ~StateFlags.Waiting;
                    if ((state.Flags & (StateFlags.Dirty | StateFlags.Processing)) == 0)
                    {
                        _items.Remove(item);
                    }
                }
            }

            _waitingCount = 0;
        }

        _waiting.Clear();
        _timer?.Dispose();
        _timer = null;
        _timerDueAt = long.MaxValue;
        return counts;
    }

    private void ArmTimerLocked(long now, long dueAt)
    {
        _timerDueAt = dueAt;
        if (_timer is null)
        {
            // The timer must not capture the caller's ExecutionContext (AsyncLocals, activities).
            var restoreFlow = !ExecutionContext.IsFlowSuppressed();
            var flowControl = restoreFlow ? ExecutionContext.SuppressFlow() : default;
            try
            {
                _timer = _time.CreateTimer(static s => ((WorkQueueCore<T>)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
            finally
            {
                if (restoreFlow)
                {
                    flowControl.Undo();
                }
            }
        }

        _timer.Change(DueTime(now, dueAt), Timeout.InfiniteTimeSpan);
    }

    private TimeSpan DueTime(long now, long dueAt)
    {
        if (dueAt <= now)
        {
            return TimeSpan.Zero;
        }

        // Round up, so that the timer is never due before the key is ready.
        var ticks = Math.Ceiling((dueAt - now) * ((double)TimeSpan.TicksPerSecond / _time.TimestampFrequency));
        return ticks >= s_maxTimerDue.Ticks ? s_maxTimerDue : TimeSpan.FromTicks((long)ticks);
    }

    private void OnTimer()
    {
        lock (_lock)
        {
            if (_shuttingDown)
            {
                return;
            }

            var now = _time.GetTimestamp();
            var early = now < _timerDueAt;
            while (_waiting.TryPeek(out var item, out var key) && key.ReadyAt <= now)
            {
                _waiting.Dequeue();
                ref var state = ref CollectionsMarshal.GetValueRefOrNullRef(_items, item);
                if (Unsafe.IsNullRef(ref state) || (state.Flags & StateFlags.Waiting) == 0 || state.ReadyAt != key.ReadyAt)
                {
                    continue; // superseded by an earlier ready time
                }

                state.Flags &= ~StateFlags.Waiting;
                _waitingCount--;
                AddLocked(item, ref state);
            }

            if (_waiting.TryPeek(out _, out var next))
            {
                var due = DueTime(now, next.ReadyAt);
                _timerDueAt = next.ReadyAt;
                if (early && due < s_minRearm)
                {
                    // The timer fired before its due time (coarse system timers round sub-millisecond due times
                    // down to zero): wait at least a millisecond rather than spin.
                    due = s_minRearm;
                }

                _timer!.Change(due, Timeout.InfiniteTimeSpan);
            }
            else
            {
                _timerDueAt = long.MaxValue;
            }
        }
    }

    private Waiter RentWaiterLocked()
    {
        var waiter = _pool;
        if (waiter is null)
        {
            return new Waiter(this);
        }

        _pool = waiter.Next;
        waiter.Next = null;
        _poolCount--;
        return waiter;
    }

    private void ReturnWaiter(Waiter waiter)
    {
        lock (_lock)
        {
            if (_poolCount < 64)
            {
                waiter.Next = _pool;
                _pool = waiter;
                _poolCount++;
            }
        }
    }

    private void LinkWaiterLocked(Waiter waiter)
    {
        waiter.Linked = true;
        waiter.Previous = _waitTail;
        waiter.Next = null;
        if (_waitTail is null)
        {
            _waitHead = waiter;
        }
        else
        {
            _waitTail.Next = waiter;
        }

        _waitTail = waiter;
    }

    private void UnlinkWaiterLocked(Waiter waiter)
    {
        if (waiter.Previous is null)
        {
            _waitHead = waiter.Next;
        }
        else
        {
            waiter.Previous.Next = waiter.Next;
        }

        if (waiter.Next is null)
        {
            _waitTail = waiter.Previous;
        }
        else
        {
            waiter.Next.Previous = waiter.Previous;
        }

        waiter.Previous = null;
        waiter.Next = null;
        waiter.Linked = false;
    }

    /// <summary>Called when a parked getter's token is cancelled: it leaves the line unless it already got a key.</summary>
    private bool TryCancelWaiter(Waiter waiter)
    {
        lock (_lock)
        {
            if (!waiter.Linked)
            {
                return false;
            }

            UnlinkWaiterLocked(waiter);
            return true;
        }
    }

    private struct ItemState
    {
        public StateFlags Flags;

        /// <summary>When the key became dirty (timestamp), for <c>queue_duration</c>; valid with <see cref="StateFlags.HasAddedAt"/>.</summary>
        public long AddedAt;

        /// <summary>When processing started (timestamp), for <c>work_duration</c>; valid with <see cref="StateFlags.HasStartedAt"/>.</summary>
        public long StartedAt;

        /// <summary>When a delayed key is due (timestamp); valid with <see cref="StateFlags.Waiting"/>.</summary>
        public long ReadyAt;
    }

    private readonly record struct WaitKey(long ReadyAt, long Sequence) : IComparable<WaitKey>
    {
        public int CompareTo(WaitKey other)
        {
            var byTime = ReadyAt.CompareTo(other.ReadyAt);
            return byTime != 0 ? byTime : Sequence.CompareTo(other.Sequence);
        }
    }
}
