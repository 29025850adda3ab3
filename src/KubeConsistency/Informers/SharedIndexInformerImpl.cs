using System.Threading.Channels;
using KubeConsistency.Cache.Advanced;
using KubeConsistency.Cache;
using KubeConsistency.Client;
using KubeConsistency.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeConsistency.Informers;

/// <summary>
/// Go: <c>sharedIndexInformer</c> + <c>sharedProcessor</c>. The consumer applies popped deltas to the store
/// under <see cref="_blockDeltas"/> and distributes notifications to per-handler buffers; same-RV updates
/// (resyncs, unchanged relisted objects) go only to handlers whose resync is due (§3.4).
/// </summary>
internal sealed class SharedIndexInformerImpl<T> : ISharedIndexInformer<T>, IResourceEventHandler<T>, IRunnableInformer
    where T : class
{
    private static readonly TimeSpan MinimumResyncPeriod = TimeSpan.FromSeconds(1);

    private readonly IListWatch<T> _listWatch;
    private readonly SharedIndexInformerOptions<T> _options;
    private readonly ObjectMetadataAccessor<T> _accessor;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly InformerMetrics? _metrics;
    private readonly string _name;
    private readonly Lock _blockDeltas = new();
    private readonly Lock _listenersLock = new();
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly Lock _waitersLock = new();
    private readonly List<(string ResourceVersion, TaskCompletionSource Reached)> _rvWaiters = [];
    private int _rvWaiterCount;
    private ProcessorListener<T>[] _listeners = [];
    private TimeSpan _resyncCheckPeriod;
    private IDeltaQueue<T>? _fifo;
    private Reflector<T>? _reflector;
    private CancellationToken _stopping;
    private int _started;
    private long _handlerFailures;

    public SharedIndexInformerImpl(IListWatch<T> listWatch, SharedIndexInformerOptions<T> options)
    {
        _listWatch = listWatch;
        _options = options;
        _accessor = options.MetadataAccessor ?? ObjectMetadataAccessor<T>.Default;
        _time = options.TimeProvider ?? TimeProvider.System;
        _logger = options.LoggerFactory?.CreateLogger("KubeConsistency.Informers.SharedIndexInformer") ?? NullLogger.Instance;
        _name = options.Name ?? $"informer {options.Resource.GroupResource}";
        _metrics = options.Name is null ? null : InformerMetrics.Create(new InformerIdentity(options.Name, options.Resource), options.MeterFactory);
        _resyncCheckPeriod = options.DefaultResyncPeriod;
        Resource = options.Resource;
        Indexer = Store.Create(new StoreOptions<T>
        {
            MetadataAccessor = _accessor,
            Indexers = WithNamespaceIndex(options.Indexers, _accessor),
            KeyFunction = options.KeyFunction,
            TrackResourceVersion = options.AtomicFifo,
            Metrics = _metrics,
        });
    }

    public IIndexer<T> Indexer { get; }

    public GroupVersionResource Resource { get; }

    public bool HasSynced => _synced.Task.IsCompleted;

    public string LastSyncResourceVersion => _reflector?.LastSyncResourceVersion ?? string.Empty;

    public ReflectorStatistics Statistics => _reflector?.Statistics ?? default;

    public long HandlerFailures => Interlocked.Read(ref _handlerFailures);

    public Task WaitForSyncAsync(CancellationToken cancellationToken = default) => _synced.Task.WaitAsync(cancellationToken);

    public Task WaitForStoreResourceVersionAsync(string resourceVersion, CancellationToken cancellationToken = default)
    {
        if (!ResourceVersion.IsWellFormed(resourceVersion))
        {
            throw new InvalidResourceVersionException(resourceVersion);
        }

        if (Reached(resourceVersion))
        {
            return Task.CompletedTask;
        }

        TestHookAfterFirstCheck?.Invoke();
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waitersLock)
        {
            _rvWaiters.Add((resourceVersion, reached));

            // Publish the waiter (a full fence), then look at the store again. The consumer writes the store RV and
            // then reads the count (also fenced): whichever order they run in, one of the two sees the other, so a
            // wait can never miss the RV that arrived while it was registering.
            Interlocked.Exchange(ref _rvWaiterCount, _rvWaiters.Count);
        }

        if (Reached(resourceVersion))
        {
            reached.TrySetResult();
            lock (_waitersLock)
            {
                _rvWaiters.RemoveAll(w => ReferenceEquals(w.Reached, reached));
                _rvWaiterCount = _rvWaiters.Count;
            }

            return Task.CompletedTask;
        }

        return WaitAsync(reached, cancellationToken);
    }

    /// <summary>Runs between a waiter's first look at the store RV and its registration (tests drive the race with it).</summary>
    internal Action? TestHookAfterFirstCheck { get; set; }

    private async Task WaitAsync(TaskCompletionSource reached, CancellationToken cancellationToken)
    {
        try
        {
            await reached.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (!reached.Task.IsCompleted)
            {
                // Cancelled: forget the waiter so abandoned waits do not accumulate.
                lock (_waitersLock)
                {
                    _rvWaiters.RemoveAll(w => ReferenceEquals(w.Reached, reached));
                    _rvWaiterCount = _rvWaiters.Count;
                }
            }
        }
    }

    public IEventHandlerRegistration AddEventHandler(IResourceEventHandler<T> handler, TimeSpan? resyncPeriod = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var requested = resyncPeriod ?? _options.DefaultResyncPeriod;
        lock (_blockDeltas)
        {
            var started = Volatile.Read(ref _started) != 0;
            var effective = requested;
            lock (_listenersLock)
            {
                if (requested > TimeSpan.Zero)
                {
                    if (requested < MinimumResyncPeriod)
                    {
                        requested = effective = MinimumResyncPeriod;
                    }

                    // Upstream leaves resync disabled when the informer default is zero; here a handler that asks
                    // for a resync before start gets one (docs/compatibility.md).
                    if (requested < _resyncCheckPeriod || (_resyncCheckPeriod == TimeSpan.Zero && !started))
                    {
                        if (started)
                        {
                            _logger.ResyncPeriodRaised(_name, handler.GetType().Name, requested, _resyncCheckPeriod);
                            effective = _resyncCheckPeriod;
                        }
                        else
                        {
                            // Before start the check period can still shrink; every listener is re-evaluated.
                            _resyncCheckPeriod = requested;
                            foreach (var l in _listeners)
                            {
                                l.SetResyncPeriod(DetermineResyncPeriod(l.RequestedResyncPeriod, _resyncCheckPeriod), _time.GetUtcNow());
                            }
                        }
                    }
                }

                var listener = new ProcessorListener<T>(this, handler, requested, DetermineResyncPeriod(effective, _resyncCheckPeriod), _time.GetUtcNow());
                _listeners = [.. _listeners, listener];
                if (started)
                {
                    // Late handlers first see the current content as initial adds, with no delta interleaving (§3.4).
                    foreach (var item in Indexer.List())
                    {
                        listener.Add(new Notification(NotificationKind.Add, null, item, true));
                    }

                    listener.Start(_stopping);
                }

                listener.CheckSynced();
                return listener;
            }
        }
    }

    public void RemoveEventHandler(IEventHandlerRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        if (registration is not ProcessorListener<T> listener || !ReferenceEquals(listener.Owner, this))
        {
            throw new ArgumentException("the registration does not belong to this informer", nameof(registration));
        }

        lock (_listenersLock)
        {
            _listeners = [.. _listeners.Where(l => !ReferenceEquals(l, listener))];
        }

        listener.Stop();
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException($"{_name} was already started; an informer runs once.");
        }

        var atomic = _options.AtomicFifo;
        _fifo = RealFifo.Create(new RealFifoOptions<T>
        {
            Name = _name,
            Logger = _logger,
            KeyFunction = Indexer.KeyFunction,
            Transformer = _options.Transform,
            AtomicEvents = atomic,
            KnownObjects = atomic ? null : Indexer,
            UnlockWhileProcessing = atomic && _options.UnlockWhileProcessingFifo,
            EmitDeltaTypeBookmark = atomic,
            Metrics = _metrics,
            TimeProvider = _time,
        });
        TimeSpan checkPeriod;
        lock (_listenersLock)
        {
            checkPeriod = _resyncCheckPeriod;
        }

        _reflector = new Reflector<T>(new ReflectorOptions<T>
        {
            Name = _name,
            ListWatch = _listWatch,
            Queue = _fifo,
            KeyFunction = Indexer.KeyFunction,
            Time = _time,
            Logger = _logger,
            MinWatchTimeout = _options.MinWatchTimeout,
            UseWatchList = _options.UseWatchList,
            PageSize = _options.ListPageSize,
            ResyncCheckPeriod = checkPeriod,
            ShouldResync = ShouldResync,
            Random = _options.Random ?? System.Random.Shared.NextDouble,
            RequestProgressTimeout = _options.RequestProgressTimeout,
            WatchProgressTimeout = _options.WatchProgressTimeout,
            InitialBackoff = _options.InitialBackoff,
            MaxBackoff = _options.MaxBackoff,
        });

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ProcessorListener<T>[] started;
        lock (_blockDeltas)
        {
            _stopping = stop.Token;
            lock (_listenersLock)
            {
                started = _listeners;
            }

            foreach (var l in started)
            {
                l.Start(stop.Token);
            }
        }

        var syncWatcher = _fifo.Synced.ContinueWith(_ => OnFifoSynced(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        var reflector = _reflector.RunAsync(stop.Token);
        try
        {
            await ProcessLoopAsync(_fifo, stop.Token).ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            _fifo.Close();
            await reflector.ConfigureAwait(false);
            ProcessorListener<T>[] all;
            lock (_listenersLock)
            {
                all = _listeners;
            }

            foreach (var l in all)
            {
                l.Stop();
            }

            await Task.WhenAll(all.Select(l => l.Completion)).ConfigureAwait(false);
            _metrics?.Dispose();
            _ = syncWatcher;
        }
    }

    private async Task ProcessLoopAsync(IDeltaQueue<T> fifo, CancellationToken cancellationToken)
    {
        PopProcessor<T> single = ProcessSingle;
        BatchProcessor<T> batch = ProcessBatch;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var more = _options.BatchProcessing
                    ? await fifo.PopBatchAsync(batch, single, cancellationToken).ConfigureAwait(false)
                    : await fifo.PopAsync(single, cancellationToken).ConfigureAwait(false);
                if (!more)
                {
                    return;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Upstream drops a delta whose processing failed; we do the same, loudly.
                _logger.ProcessingFailed(_name, ex);
            }
        }
    }

    private void ProcessSingle(Delta<T> delta, bool isInInitialList)
    {
        try
        {
            lock (_blockDeltas)
            {
                DeltaProcessor.Process(Indexer, this, delta, isInInitialList);
            }
        }
        finally
        {
            ReleaseResourceVersionWaiters();
        }
    }

    private void ProcessBatch(ReadOnlySpan<Delta<T>> deltas, bool isInInitialList)
    {
        try
        {
            lock (_blockDeltas)
            {
                DeltaProcessor.ProcessBatch(Indexer, this, deltas, isInInitialList);
            }
        }
        finally
        {
            ReleaseResourceVersionWaiters();
        }
    }

    internal void ReleaseResourceVersionWaiters()
    {
        // A full fence between the caller's store write and this read pairs with the waiter's fenced publish.
        if (Interlocked.CompareExchange(ref _rvWaiterCount, 0, 0) == 0)
        {
            return;
        }

        lock (_waitersLock)
        {
            for (var i = _rvWaiters.Count - 1; i >= 0; i--)
            {
                if (Reached(_rvWaiters[i].ResourceVersion))
                {
                    _rvWaiters[i].Reached.TrySetResult();
                    _rvWaiters.RemoveAt(i);
                }
            }

            _rvWaiterCount = _rvWaiters.Count;
        }
    }

    private bool Reached(string resourceVersion) =>
        ResourceVersion.TryCompare(Indexer.LastStoreSyncResourceVersion, resourceVersion, out var c) && c >= 0;

    void IResourceEventHandler<T>.OnAdd(T obj, bool isInInitialList) => Distribute(new Notification(NotificationKind.Add, null, obj, isInInitialList), sync: false);

    void IResourceEventHandler<T>.OnUpdate(T oldObj, T newObj)
    {
        // Same RV on both sides: a resync or an unchanged relisted object, only for handlers due a resync (§3.4).
        var isSync = _accessor.HasMetadata(oldObj) && _accessor.HasMetadata(newObj) &&
            string.Equals(_accessor.GetResourceVersion(oldObj), _accessor.GetResourceVersion(newObj), StringComparison.Ordinal);
        Distribute(new Notification(NotificationKind.Update, oldObj, newObj, false), isSync);
    }

    void IResourceEventHandler<T>.OnDelete(object obj) => Distribute(new Notification(NotificationKind.Delete, null, obj, false), sync: false);

    private void Distribute(Notification notification, bool sync)
    {
        lock (_listenersLock)
        {
            foreach (var listener in _listeners)
            {
                if (!sync || listener.IsSyncing)
                {
                    listener.Add(notification);
                }
            }
        }
    }

    /// <summary>Go: <c>sharedProcessor.shouldResync</c>: marks the handlers whose resync is due.</summary>
    private bool ShouldResync()
    {
        lock (_listenersLock)
        {
            var now = _time.GetUtcNow();
            var any = false;
            foreach (var listener in _listeners)
            {
                listener.IsSyncing = listener.ShouldResync(now);
                if (listener.IsSyncing)
                {
                    any = true;
                    listener.DetermineNextResync(now);
                }
            }

            return any;
        }
    }

    private void OnFifoSynced()
    {
        _synced.TrySetResult();
        ProcessorListener<T>[] all;
        lock (_listenersLock)
        {
            all = _listeners;
        }

        foreach (var l in all)
        {
            l.CheckSynced();
        }
    }

    /// <summary>
    /// Nothing queued in the FIFO, nothing being processed, every notification handled: with the list-watch quiet, nothing
    /// more will happen until the next event (the scenario runner of KubeConsistency.Testing waits for this between steps).
    /// </summary>
    internal bool IsQuiescent
    {
        get
        {
            if (_fifo is RealFifo<T> fifo ? !fifo.IsIdle : _fifo is { Count: > 0 })
            {
                return false;
            }

            ProcessorListener<T>[] all;
            lock (_listenersLock)
            {
                all = _listeners;
            }

            return all.All(l => l.IsIdle);
        }
    }

    internal void ReportHandlerFailure(string handler, string method, Exception exception)
    {
        Interlocked.Increment(ref _handlerFailures);
        _logger.HandlerFailed(_name, handler, method, exception);
    }

    /// <summary>Generated client-go informers always carry the namespace index; so do ours.</summary>
    private static Dictionary<string, IndexFunc<T>> WithNamespaceIndex(IReadOnlyDictionary<string, IndexFunc<T>>? indexers, ObjectMetadataAccessor<T> accessor)
    {
        var all = indexers is null ? new Dictionary<string, IndexFunc<T>>(StringComparer.Ordinal) : new Dictionary<string, IndexFunc<T>>(indexers, StringComparer.Ordinal);
        all.TryAdd(Indexes.Namespace, Indexes.ByNamespace(accessor));
        return all;
    }

    private static TimeSpan DetermineResyncPeriod(TimeSpan desired, TimeSpan check) =>
        desired <= TimeSpan.Zero || check <= TimeSpan.Zero ? TimeSpan.Zero : desired < check ? check : desired;
}

internal enum NotificationKind
{
    Add,
    Update,
    Delete,
}

internal readonly record struct Notification(NotificationKind Kind, object? Old, object New, bool IsInInitialList);

/// <summary>
/// One handler's unbounded buffer and delivery loop (Go: <c>processorListener</c>). Handler exceptions are
/// logged and counted; delivery continues.
/// </summary>
internal sealed class ProcessorListener<T> : IEventHandlerRegistration
    where T : class
{
    private readonly SharedIndexInformerImpl<T> _owner;
    private readonly IResourceEventHandler<T> _handler;
    private readonly Channel<Notification> _buffer = Channel.CreateUnbounded<Notification>(new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = false });
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _stopped;
    private long _pendingInitial;
    private long _undispatched;
    private DateTimeOffset _nextResync;
    private Task _completion = Task.CompletedTask;

    public ProcessorListener(SharedIndexInformerImpl<T> owner, IResourceEventHandler<T> handler, TimeSpan requestedResyncPeriod, TimeSpan resyncPeriod, DateTimeOffset now)
    {
        _owner = owner;
        _handler = handler;
        RequestedResyncPeriod = requestedResyncPeriod;
        ResyncPeriod = resyncPeriod;
        DetermineNextResync(now);
    }

    public SharedIndexInformerImpl<T> Owner => _owner;

    public TimeSpan RequestedResyncPeriod { get; }

    public TimeSpan ResyncPeriod { get; private set; }

    public bool IsSyncing { get; set; }

    public Task Completion => _completion;

    public bool HasSynced => _synced.Task.IsCompleted;

    public Task Synced => _synced.Task;

    /// <summary>Every notification added has been handed to the handler (and the handler returned).</summary>
    public bool IsIdle => Interlocked.Read(ref _undispatched) == 0;

    public void SetResyncPeriod(TimeSpan period, DateTimeOffset now)
    {
        ResyncPeriod = period;
        DetermineNextResync(now);
    }

    public bool ShouldResync(DateTimeOffset now) => ResyncPeriod > TimeSpan.Zero && now >= _nextResync;

    public void DetermineNextResync(DateTimeOffset now) => _nextResync = now + ResyncPeriod;

    public void Add(Notification notification)
    {
        if (notification.IsInInitialList)
        {
            Interlocked.Increment(ref _pendingInitial);
        }

        // Unbounded: never blocks the informer, never drops while running.
        Interlocked.Increment(ref _undispatched);
        if (!_buffer.Writer.TryWrite(notification))
        {
            Interlocked.Decrement(ref _undispatched);
        }
    }

    public void Start(CancellationToken stopping) => _completion = Task.Run(() => RunAsync(stopping), CancellationToken.None);

    public void Stop()
    {
        _stopped = true;
        _buffer.Writer.TryComplete();
    }

    public void CheckSynced()
    {
        if (_owner.HasSynced && Interlocked.Read(ref _pendingInitial) == 0)
        {
            _synced.TrySetResult();
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var reader = _buffer.Reader;
        try
        {
            while (!_stopped && await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (!_stopped && !cancellationToken.IsCancellationRequested && reader.TryRead(out var n))
                {
                    Dispatch(n);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped: buffered notifications are dropped, as upstream.
        }
    }

    private void Dispatch(Notification n)
    {
        try
        {
            switch (n.Kind)
            {
                case NotificationKind.Add:
                    _handler.OnAdd((T)n.New, n.IsInInitialList);
                    break;
                case NotificationKind.Update:
                    _handler.OnUpdate((T)n.Old!, (T)n.New);
                    break;
                default:
                    _handler.OnDelete(n.New);
                    break;
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _owner.ReportHandlerFailure(_handler.GetType().Name, "On" + n.Kind, ex);
        }
        finally
        {
            Interlocked.Decrement(ref _undispatched);
            if (n.IsInInitialList && Interlocked.Decrement(ref _pendingInitial) == 0)
            {
                CheckSynced();
            }
        }
    }
}
