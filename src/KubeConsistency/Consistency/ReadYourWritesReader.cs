using System.Diagnostics.Metrics;
using KubeConsistency.Cache;
using KubeConsistency.Client;
using KubeConsistency.Informers;
using KubeConsistency.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeConsistency.Consistency;

/// <summary>
/// Read-your-writes reads from an informer cache (controller-runtime v0.25's semantics, docs/upstream-after-1.36.md §2.1,
/// bounded): for controllers that prefer waiting to skipping. A write made through <see cref="Writer"/> (or announced with
/// <see cref="BeginWrite"/>) takes a <em>barrier</em> before its request is sent; <see cref="GetAsync"/> then waits until
/// the cache has observed every earlier write and delete of that key, <see cref="ListAsync"/> every earlier write of the
/// kind. A read waits only for writes that began before it; writes never wait. Every wait ends with the caller's token or
/// the default timeout, whichever comes first, in a <see cref="ReadYourWritesTimeoutException"/> (counted) — never a hang.
/// Writes to objects the informer does not watch (another namespace, not matching its selector) take no barrier.
/// </summary>
/// <remarks>
/// A write is observed when the cache's <c>LastStoreSyncResourceVersion</c> has reached the resource version the server
/// returned (for a delete: the returned object's, or a Kubernetes v1.38 <c>Status</c>'s); a delete answered without one is
/// observed once the cache no longer holds the object, holds another UID, or holds it with a <c>deletionTimestamp</c>
/// (scylla-operator's rule, §2.3). A write that fails releases its barrier. Thread-safe.
/// </remarks>
/// <typeparam name="T">The object type.</typeparam>
public abstract class ReadYourWritesReader<T>
    where T : class
{
    private protected ReadYourWritesReader()
    {
    }

    /// <summary>Writes whose barrier is still up (in flight, or not yet observed by the cache as far as reads have checked).</summary>
    public abstract int PendingWrites { get; }

    /// <summary>Creates a reader over an informer's cache.</summary>
    /// <param name="informer">The informer (started or not).</param>
    /// <param name="options">The options.</param>
    /// <param name="server">A client for <see cref="ReadOptions.FallBackToServer"/>; <see langword="null"/> has no fallback.</param>
    /// <returns>The reader.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The default timeout is not positive.</exception>
    public static ReadYourWritesReader<T> Create(ISharedIndexInformer<T> informer, ReadYourWritesOptions<T> options, IResourceClient<T>? server = null)
    {
        ArgumentNullException.ThrowIfNull(informer);
        ArgumentNullException.ThrowIfNull(options);
        return new RealReadYourWritesReader<T>(informer, options.Validated(), server);
    }

    /// <summary>
    /// Raises a barrier for a write about to be sent; complete it with the server's answer, or dispose it if the write
    /// failed. Prefer <see cref="Writer"/>, which does this for every write.
    /// </summary>
    /// <param name="key">The written object's <c>namespace/name</c>; <see langword="null"/> for a create with <c>generateName</c>.</param>
    /// <returns>The barrier.</returns>
    public abstract WriteBarrier<T> BeginWrite(string? key);

    /// <summary>A client over <paramref name="client"/> whose every create, update, status update, patch and delete raises a barrier first.</summary>
    /// <param name="client">The resource client of the informer's resource.</param>
    /// <returns>The wrapping client; reads, lists and watches pass through.</returns>
    public abstract IResourceClient<T> Writer(IResourceClient<T> client);

    /// <summary>Whether the informer watches <paramref name="obj"/> (its namespace, selector and <see cref="ReadYourWritesOptions{T}.IsWatched"/>).</summary>
    /// <param name="obj">A written object.</param>
    /// <returns><see langword="true"/> when the cache will see it.</returns>
    public abstract bool Watches(T obj);

    /// <summary>
    /// The cached object under <paramref name="key"/>, once the cache has observed every write and delete of it this
    /// process began before the call.
    /// </summary>
    /// <param name="key">The <c>namespace/name</c> key.</param>
    /// <param name="options">The per-call choices; <see langword="null"/> for <see cref="ReadOptions.Default"/>.</param>
    /// <param name="cancellationToken">Ends the wait.</param>
    /// <returns>The object (or none) and where it came from.</returns>
    /// <exception cref="ReadYourWritesTimeoutException">The wait reached its timeout (and no server fallback was asked for).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public abstract ValueTask<ReadResult<T>> GetAsync(string key, ReadOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>The cached objects, once the cache has observed every write of the kind this process began before the call.</summary>
    /// <param name="options">The per-call choices; <see langword="null"/> for <see cref="ReadOptions.Default"/> (no server fallback for lists).</param>
    /// <param name="cancellationToken">Ends the wait.</param>
    /// <returns>The objects and whether the wait was made.</returns>
    /// <exception cref="ReadYourWritesTimeoutException">The wait reached its timeout.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public abstract ValueTask<ListResult<T>> ListAsync(ReadOptions? options = null, CancellationToken cancellationToken = default);
}

/// <summary>
/// The barrier of one write (<see cref="ReadYourWritesReader{T}.BeginWrite"/>): reads that start after it wait for it.
/// Complete it with <see cref="Written"/> or <see cref="Deleted"/>; disposing it without completing releases it (the write
/// failed, there is nothing to wait for).
/// </summary>
/// <typeparam name="T">The object type.</typeparam>
public abstract class WriteBarrier<T> : IDisposable
    where T : class
{
    private protected WriteBarrier()
    {
    }

    /// <summary>The write succeeded and the server returned <paramref name="written"/>; reads wait until the cache has its resource version.</summary>
    /// <param name="written">The object the server returned.</param>
    public abstract void Written(T written);

    /// <summary>The delete succeeded; reads wait for its resource version if it returned one, else until the cache no longer shows the object.</summary>
    /// <param name="result">What the delete returned.</param>
    /// <param name="uid">The deleted object's UID if known; <see langword="null"/> uses the answer's or the cached object's.</param>
    public abstract void Deleted(DeleteResult<T> result, string? uid = null);

    /// <summary>Releases the barrier if it was not completed.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the barrier.</summary>
    /// <param name="disposing">Always <see langword="true"/>.</param>
    protected abstract void Dispose(bool disposing);
}

internal sealed partial class RealReadYourWritesReader<T> : ReadYourWritesReader<T>
    where T : class
{
    private static readonly Dictionary<IMeterFactory, Instruments> s_instruments = new(ReferenceEqualityComparer.Instance);
    private static readonly Lazy<Instruments> s_static = new(() => new Instruments(KubeConsistencyMeter.Get(null)));

    private readonly ISharedIndexInformer<T> _informer;
    private readonly IIndexer<T> _store;
    private readonly ReadYourWritesOptions<T> _options;
    private readonly ObjectMetadataAccessor<T> _accessor;
    private readonly IResourceClient<T>? _server;
    private readonly ILogger _logger;
    private readonly Instruments _instruments;
    private readonly KeyValuePair<string, object?>[] _tags;
    private readonly Lock _lock = new();
    private readonly List<PendingWrite> _barriers = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _sequence;

    public RealReadYourWritesReader(ISharedIndexInformer<T> informer, ReadYourWritesOptions<T> options, IResourceClient<T>? server)
    {
        _informer = informer;
        _store = informer.Indexer;
        _options = options;
        _accessor = options.Accessor!;
        _server = server;
        _logger = options.Logger ?? NullLogger.Instance;
        _instruments = options.MeterFactory is { } factory ? InstrumentsFor(factory) : s_static.Value;
        _tags = [new("group", options.Resource.Group), new("resource", options.Resource.Resource)];

        // Deletes without a resource version are observed by what the store holds; every change may be the one awaited.
        informer.AddEventHandler(new ResourceEventHandler<T> { OnAdd = (_, _) => Pulse(), OnUpdate = (_, _) => Pulse(), OnDelete = _ => Pulse() });
    }

    public override int PendingWrites
    {
        get
        {
            lock (_lock)
            {
                return _barriers.Count;
            }
        }
    }

    public override WriteBarrier<T> BeginWrite(string? key)
    {
        var barrier = new PendingWrite(this, key, Interlocked.Increment(ref _sequence));
        if (key is not null && _store.TryGetByKey(key, out var cached))
        {
            barrier.CachedUid = _accessor.GetUid(cached);
        }

        lock (_lock)
        {
            _barriers.Add(barrier);
            if (_barriers.Count > 64)
            {
                // Keep the list bounded without a timer: observed writes go whenever many are up.
                _barriers.RemoveAll(b => b.State != BarrierState.InFlight && IsObserved(b));
            }
        }

        return barrier;
    }

    public override IResourceClient<T> Writer(IResourceClient<T> client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return new ReadYourWritesClient<T>(this, client, _accessor, _options.Namespace);
    }

    public override bool Watches(T obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        if (_options.Namespace is { } ns && !string.Equals(_accessor.GetNamespace(obj) ?? string.Empty, ns, StringComparison.Ordinal))
        {
            return false;
        }

        if (_options.LabelSelector is { } selector && !selector.Matches(_accessor.GetLabels(obj)))
        {
            return false;
        }

        return _options.IsWatched?.Invoke(obj) ?? true;
    }

    public override async ValueTask<ReadResult<T>> GetAsync(string key, ReadOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        options ??= ReadOptions.Default;
        if (!options.Wait)
        {
            return new ReadResult<T>(Cached(key), ReadSource.CacheUnchecked);
        }

        try
        {
            await WaitAsync(key, options, cancellationToken).ConfigureAwait(false);
        }
        catch (ReadYourWritesTimeoutException) when (options.FallBackToServer && _server is not null)
        {
            var slash = key.IndexOf('/', StringComparison.Ordinal);
            try
            {
                var live = await _server.GetAsync(slash < 0 ? null : key[..slash], slash < 0 ? key : key[(slash + 1)..], cancellationToken).ConfigureAwait(false);
                return new ReadResult<T>(live, ReadSource.Server);
            }
            catch (NotFoundException)
            {
                return new ReadResult<T>(null, ReadSource.Server);
            }
        }

        return new ReadResult<T>(Cached(key), ReadSource.Cache);
    }

    public override async ValueTask<ListResult<T>> ListAsync(ReadOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= ReadOptions.Default;
        if (!options.Wait)
        {
            return new ListResult<T>(_store.List(), ReadSource.CacheUnchecked);
        }

        await WaitAsync(null, options, cancellationToken).ConfigureAwait(false);
        return new ListResult<T>(_store.List(), ReadSource.Cache);
    }

    private T? Cached(string key) => _store.TryGetByKey(key, out var obj) ? obj : null;

    /// <summary>Waits until every barrier raised before now, for <paramref name="key"/> (or any key when null), is observed.</summary>
    private async ValueTask WaitAsync(string? key, ReadOptions options, CancellationToken cancellationToken)
    {
        var upTo = Volatile.Read(ref _sequence);
        if (Blocking(key, upTo) is null)
        {
            return;
        }

        var timeout = options.Timeout ?? _options.DefaultTimeout;
        var started = _options.TimeProvider.GetTimestamp();
        using var deadline = new CancellationTokenSource(timeout, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        PendingWrite? blocking;
        while ((blocking = Blocking(key, upTo)) is not null)
        {
            try
            {
                await WaitForAsync(blocking, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && deadline.IsCancellationRequested)
            {
                _instruments.Timeouts.Add(1, _tags);
                var awaited = blocking.Describe();
                Log.ReadTimedOut(_logger, _options.Resource.ToString(), key ?? "(list)", awaited, _store.LastStoreSyncResourceVersion, timeout.TotalMilliseconds);
                throw new ReadYourWritesTimeoutException(_options.Resource, key, awaited, _store.LastStoreSyncResourceVersion, timeout);
            }
        }

        _instruments.WaitDuration.Record(_options.TimeProvider.GetElapsedTime(started).TotalSeconds, _tags);
    }

    /// <summary>The first barrier raised up to <paramref name="upTo"/> that the read must still wait for; observed ones are dropped.</summary>
    private PendingWrite? Blocking(string? key, long upTo)
    {
        lock (_lock)
        {
            for (var i = 0; i < _barriers.Count; i++)
            {
                var b = _barriers[i];
                if (b.Sequence > upTo)
                {
                    continue;
                }

                // A keyless create in flight may turn out to be the key read; once answered it has its key.
                var relevant = key is null || b.Key is null || string.Equals(b.Key, key, StringComparison.Ordinal);
                if (b.State == BarrierState.InFlight)
                {
                    if (relevant)
                    {
                        return b;
                    }

                    continue;
                }

                if (IsObserved(b))
                {
                    _barriers.RemoveAt(i--);
                    continue;
                }

                if (relevant)
                {
                    return b;
                }
            }
        }

        return null;
    }

    private bool IsObserved(PendingWrite b) => b.State switch
    {
        BarrierState.ResourceVersion => ResourceVersion.TryCompare(_store.LastStoreSyncResourceVersion, b.ResourceVersion, out var c) && c >= 0,
        BarrierState.Deletion => b.Key is null || !_store.TryGetByKey(b.Key, out var obj)
            || (b.Uid is not null && !string.Equals(_accessor.GetUid(obj), b.Uid, StringComparison.Ordinal))
            || _accessor.GetDeletionTimestamp(obj) is not null,
        _ => true,
    };

    private Task WaitForAsync(PendingWrite b, CancellationToken cancellationToken)
    {
        switch (b.State)
        {
            case BarrierState.InFlight:
                return b.Answered.Task.WaitAsync(cancellationToken);
            case BarrierState.ResourceVersion:
                return _informer.WaitForStoreResourceVersionAsync(b.ResourceVersion!, cancellationToken);
            default:
                Task changed;
                lock (_lock)
                {
                    changed = _changed.Task;
                }

                // Re-check after taking the task: a change between the check and here must not be missed.
                return IsObserved(b) ? Task.CompletedTask : changed.WaitAsync(cancellationToken);
        }
    }

    private void Pulse()
    {
        TaskCompletionSource pulsed;
        lock (_lock)
        {
            pulsed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        pulsed.TrySetResult();
    }

    private void Settle(PendingWrite b, BarrierState state, string? resourceVersion, string? uid, string? key)
    {
        lock (_lock)
        {
            if (b.State != BarrierState.InFlight)
            {
                return;
            }

            b.Key ??= key;
            b.ResourceVersion = resourceVersion;
            b.Uid = uid;
            b.State = state;
            if (state == BarrierState.Released)
            {
                _barriers.Remove(b);
            }
        }

        b.Answered.TrySetResult();
    }

    private static Instruments InstrumentsFor(IMeterFactory factory)
    {
        lock (s_instruments)
        {
            if (!s_instruments.TryGetValue(factory, out var instruments))
            {
                instruments = new Instruments(KubeConsistencyMeter.Get(factory));
                s_instruments[factory] = instruments;
            }

            return instruments;
        }
    }

    private enum BarrierState
    {
        InFlight,
        ResourceVersion,
        Deletion,
        Released,
    }

    private sealed class PendingWrite(RealReadYourWritesReader<T> reader, string? key, long sequence) : WriteBarrier<T>
    {
        public long Sequence { get; } = sequence;

        public string? Key { get; set; } = key;

        public string? CachedUid { get; set; }

        public BarrierState State { get; set; }

        public string? ResourceVersion { get; set; }

        public string? Uid { get; set; }

        public TaskCompletionSource Answered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Written(T written)
        {
            ArgumentNullException.ThrowIfNull(written);
            var accessor = reader._accessor;
            var key = ObjectKeys.MetaNamespaceKey(accessor.GetNamespace(written), accessor.GetName(written) ?? string.Empty);
            if (!reader.Watches(written))
            {
                // The cache will never see it: waiting would only run into the timeout.
                reader._instruments.UnwatchedWrites.Add(1, reader._tags);
                Log.UnwatchedWrite(reader._logger, reader._options.Resource.ToString(), key);
                reader.Settle(this, BarrierState.Released, null, null, key);
                return;
            }

            var rv = accessor.GetResourceVersion(written);
            if (!ReadYourWritesRules.IsWaitable(rv))
            {
                Log.WriteWithoutResourceVersion(reader._logger, reader._options.Resource.ToString(), key);
                reader.Settle(this, BarrierState.Released, null, null, key);
                return;
            }

            reader.Settle(this, BarrierState.ResourceVersion, rv, null, key);
        }

        public override void Deleted(DeleteResult<T> result, string? uid = null)
        {
            ArgumentNullException.ThrowIfNull(result);
            var accessor = reader._accessor;
            var rv = result.Object is { } returned ? accessor.GetResourceVersion(returned) : null;
            rv = string.IsNullOrEmpty(rv) ? result.StatusResourceVersion : rv;
            if (ReadYourWritesRules.IsWaitable(rv))
            {
                reader.Settle(this, BarrierState.ResourceVersion, rv, null, null);
                return;
            }

            uid ??= result.Object is { } obj ? accessor.GetUid(obj) : result.StatusUid ?? CachedUid;
            reader.Settle(this, BarrierState.Deletion, null, uid, null);
        }

        public string Describe() => State switch
        {
            BarrierState.InFlight => "a write in flight",
            BarrierState.ResourceVersion => $"resourceVersion ≥ {ResourceVersion} of {Key}",
            _ => $"deletion of {Key} (uid {Uid ?? "unknown"})",
        };

        protected override void Dispose(bool disposing) => reader.Settle(this, BarrierState.Released, null, null, null);
    }

    private sealed class Instruments(Meter meter)
    {
        public Counter<long> Timeouts { get; } = meter.CreateCounter<long>("kubeconsistency.read_your_writes_timeouts", unit: "{read}", description: "Reads that gave up waiting for the cache to observe this process's own writes.");

        public Counter<long> UnwatchedWrites { get; } = meter.CreateCounter<long>("kubeconsistency.read_your_writes_unwatched_writes", unit: "{write}", description: "Writes to objects the informer does not watch; they raise no barrier.");

        public Histogram<double> WaitDuration { get; } = meter.CreateHistogram<double>("kubeconsistency.read_your_writes_wait_duration", unit: "s", description: "How long reads that had to wait for this process's own writes waited.");
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6001, Level = LogLevel.Warning, Message = "Read of {Key} ({GroupResource}) timed out after {TimeoutMs} ms waiting for {Awaited}; the cache is at resource version {StoreResourceVersion}")]
        public static partial void ReadTimedOut(ILogger logger, string groupResource, string key, string awaited, string storeResourceVersion, double timeoutMs);

        [LoggerMessage(EventId = 6002, Level = LogLevel.Debug, Message = "A write to {Key} ({GroupResource}) is outside what the informer watches; reads will not wait for it")]
        public static partial void UnwatchedWrite(ILogger logger, string groupResource, string key);

        [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "A write to {Key} ({GroupResource}) returned no usable resource version; reads will not wait for it")]
        public static partial void WriteWithoutResourceVersion(ILogger logger, string groupResource, string key);
    }
}

/// <summary>Helpers shared by the read-your-writes types.</summary>
internal static class ReadYourWritesRules
{
    public static bool IsWaitable(string? resourceVersion) => ResourceVersion.IsWellFormed(resourceVersion) && resourceVersion != "0";
}
