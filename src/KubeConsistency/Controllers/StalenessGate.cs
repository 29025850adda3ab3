using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using KubeConsistency.Client;
using KubeConsistency.Consistency;
using KubeConsistency.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeConsistency.Controllers;

/// <summary>Options for <see cref="StalenessGate.Create"/>.</summary>
public sealed class StalenessGateOptions
{
    /// <summary>
    /// The controller's metric subsystem, e.g. <c>replicaset_controller</c> or <c>job_controller</c>: the skip counter is
    /// the instrument <c>&lt;ControllerName&gt;.stale_sync_skips</c>, exported as
    /// <c>&lt;ControllerName&gt;_stale_sync_skips_total{group,resource}</c> (§9.1). Letters, digits and <c>_</c>, not starting
    /// with a digit.
    /// </summary>
    public required string ControllerName { get; init; }

    /// <summary>
    /// The store that records this controller's writes: <see cref="Consistency.ConsistencyStore.Create(IEnumerable{KeyValuePair{GroupResource, Consistency.ILastSyncResourceVersionGetter}})"/> over the informer stores of
    /// every group-resource the controller writes (its own and e.g. pods), or <see cref="Consistency.ConsistencyStore.Noop"/> when the
    /// controller's feature gate is off (§8.1 step 1).
    /// </summary>
    public required IConsistencyStore ConsistencyStore { get; init; }

    /// <summary>The clock for log rate limiting; defaults to <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// The shortest time between two "skipping sync" log lines for the same owner (default 10 s, as Cluster API's
    /// wrapper does); the lines in between are counted and the count is reported with the next line. Every skip is
    /// counted in the metric regardless.
    /// </summary>
    public TimeSpan LogInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Whether deletes are tracked as writes (beyond v1.36, which tracks none; docs/upstream-after-1.36.md §1.5, §2.3):
    /// <see cref="StalenessGate.RecordDelete{T}"/> records the resource version a delete returned — the object's, or from
    /// Kubernetes v1.38 a <c>Status</c>'s — with <see cref="StalenessGate.WroteAt"/>, and where the answer carried none it
    /// waits for the cache to observe the delete by UID (gone, another UID, or a <c>deletionTimestamp</c>).
    /// Default <see langword="false"/>: deletes are not recorded, as upstream v1.36. Has no effect with
    /// <see cref="Consistency.ConsistencyStore.Noop"/>.
    /// </summary>
    public bool TrackDeletes { get; init; }

    /// <summary>Where the gate logs; defaults to no logging.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Where the skip counter goes; <see langword="null"/> uses the static <c>KubeConsistency</c> meter.</summary>
    public IMeterFactory? MeterFactory { get; init; }
}

/// <summary>
/// The staleness gate of one controller (upstream-semantics.md §8.1, §8.6): wraps an <see cref="IConsistencyStore"/> with
/// the logging and the <c>&lt;controller&gt;_stale_sync_skips_total{group,resource}</c> counter kube-controller-manager has,
/// plus helpers that record every write a controller makes and clear on the owner's deletion.
/// </summary>
/// <remarks>
/// <para>The pattern (what ReplicaSet, Job, DaemonSet and StatefulSet controllers do in v1.36):</para>
/// <list type="number">
/// <item>At the very top of the sync, before reading the owner from the cache:
/// <c>if (gate.EnsureReady(owner) is { } stale) return ReconcileResult.StaleSyncSkipped(stale);</c> — no reads, no writes; the
/// host requeues the key rate-limited, and the informer event of the write usually brings it back sooner.</item>
/// <item>Make every create, update, status update and patch through <see cref="Writer{T}"/> (or call <see cref="RecordWrite{T}"/>
/// with the object the server returned); deletes are not tracked, as upstream, unless
/// <see cref="StalenessGateOptions.TrackDeletes"/> is set (then delete through the writer or call <see cref="RecordDelete{T}"/>).</item>
/// <item>In the owner's delete handler call <see cref="OwnerDeleted{T}"/> (tombstones are unwrapped); when the sync finds the owner
/// gone, call <see cref="OwnerNotFound"/>.</item>
/// </list>
/// <para>Everything for one owner must run on the worker that holds its key (the work queue guarantees one at a time);
/// different owners are independent and thread-safe.</para>
/// </remarks>
public abstract class StalenessGate
{
    /// <summary>The instrument-name suffix of the skip counter: <c>stale_sync_skips</c>.</summary>
    public const string SkipsInstrumentSuffix = "stale_sync_skips";

    private protected StalenessGate()
    {
    }

    /// <summary>The controller's metric subsystem (e.g. <c>replicaset_controller</c>).</summary>
    public abstract string ControllerName { get; }

    /// <summary>The underlying store.</summary>
    public abstract IConsistencyStore ConsistencyStore { get; }

    /// <summary>The name of the skip counter instrument: <c>&lt;ControllerName&gt;.stale_sync_skips</c>.</summary>
    public string SkipsInstrumentName => SkipsInstrumentNameFor(ControllerName);

    /// <summary>
    /// Whether <see cref="RecordDelete{T}"/> and <see cref="ExpectDeletion{T}"/> record anything:
    /// <see cref="StalenessGateOptions.TrackDeletes"/> over a store that is not <see cref="Consistency.ConsistencyStore.Noop"/>.
    /// </summary>
    public abstract bool TracksDeletes { get; }

    private protected abstract ILogger Logger { get; }

    /// <summary>Creates a gate.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="ArgumentException">The controller name is not a valid metric subsystem.</exception>
    public static StalenessGate Create(StalenessGateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.ConsistencyStore, nameof(options));
        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.LogInterval, TimeSpan.Zero, nameof(options));
        if (!IsValidSubsystem(options.ControllerName))
        {
            throw new ArgumentException($"The controller name \"{options.ControllerName}\" is not a valid metric subsystem: use letters, digits and '_', not starting with a digit (e.g. \"replicaset_controller\").", nameof(options));
        }

        return new RealStalenessGate(options);
    }

    /// <summary>The skip counter's instrument name for a controller: <c>&lt;controllerName&gt;.stale_sync_skips</c>.</summary>
    /// <param name="controllerName">The controller's metric subsystem.</param>
    public static string SkipsInstrumentNameFor(string controllerName) => controllerName + "." + SkipsInstrumentSuffix;

    /// <summary>
    /// Checks at the top of a sync whether the caches have observed every write recorded for <paramref name="owner"/>
    /// (§8.1 step 3). When not, logs (rate-limited per owner), increments the skip counter with the stale group-resource's
    /// <c>group</c> and <c>resource</c>, and returns the error: return <see cref="ReconcileResult.StaleSyncSkipped(KubeConsistency.Consistency.ConsistencyError)"/> with it
    /// without reading or writing anything. When ready, the owner's record is forgotten (§7.3).
    /// </summary>
    /// <param name="owner">The reconciled object's namespace and name (from the work-queue key).</param>
    /// <returns><see langword="null"/> when the sync may proceed; otherwise why it may not.</returns>
    public abstract ConsistencyError? EnsureReady(NamespacedName owner);

    /// <summary>
    /// Records a write made on behalf of <paramref name="owner"/> (§8.1 step 2): <paramref name="resourceVersion"/> is the
    /// resource version of the object the server returned. Prefer <see cref="Writer{T}"/>, which does this for you.
    /// </summary>
    /// <param name="owner">The reconciled object.</param>
    /// <param name="ownerUid">The reconciled object's UID.</param>
    /// <param name="resource">The group-resource written (e.g. <see cref="GroupResource.Pods"/>).</param>
    /// <param name="resourceVersion">The returned resource version; recorded as given (§7.3).</param>
    public abstract void WroteAt(NamespacedName owner, string ownerUid, GroupResource resource, string? resourceVersion);

    /// <summary>
    /// Forgets what was recorded for <paramref name="owner"/> when <paramref name="ownerUid"/> is <c>""</c> or the recorded
    /// UID (§7.3, §8.1 step 4).
    /// </summary>
    /// <param name="owner">The reconciled object.</param>
    /// <param name="ownerUid">The UID of the deleted owner, or <c>""</c> to forget unconditionally.</param>
    public abstract void Clear(NamespacedName owner, string ownerUid);

    /// <summary>
    /// The sync found no <paramref name="owner"/> in the cache (NotFound): forgets its record unconditionally
    /// (<c>Clear(owner, "")</c>, §8.1 step 4), alongside deleting its expectations.
    /// </summary>
    /// <param name="owner">The reconciled object.</param>
    public void OwnerNotFound(NamespacedName owner) => Clear(owner, string.Empty);

    /// <summary>
    /// Call from the owner's delete handler: unwraps a tombstone and forgets the record of that owner <em>with its UID</em>,
    /// so the record of an owner recreated under the same name survives (§8.6).
    /// </summary>
    /// <typeparam name="T">The owner type.</typeparam>
    /// <param name="deleted">What <c>OnDelete</c> received: a <typeparamref name="T"/> or a <see cref="DeletedFinalStateUnknown{T}"/>.</param>
    /// <param name="accessor">Reads the owner's metadata; defaults to <see cref="ObjectMetadataAccessor{T}.Default"/>.</param>
    /// <returns>The deleted owner, or <see langword="null"/> for a tombstone without a last known state (nothing is cleared then, as upstream).</returns>
    public T? OwnerDeleted<T>(object deleted, ObjectMetadataAccessor<T>? accessor = null)
        where T : class
    {
        var obj = DeletedFinalStateUnknown.Unwrap<T>(deleted);
        if (obj is null)
        {
            ControllerLog.TombstoneWithoutObject(Logger, ControllerName, (deleted as DeletedFinalStateUnknown<T>)?.Key ?? deleted?.GetType().Name ?? "null");
            return null;
        }

        accessor ??= ObjectMetadataAccessor<T>.Default;
        Clear(accessor.GetNamespacedName(obj), accessor.GetUid(obj) ?? string.Empty);
        return obj;
    }

    /// <summary>
    /// Records the write that returned <paramref name="written"/> (its resource version) for <paramref name="owner"/>.
    /// An object without a resource version is not recorded (logged as a warning: the accessor cannot read it).
    /// </summary>
    /// <typeparam name="T">The written object's type.</typeparam>
    /// <param name="owner">The reconciled object.</param>
    /// <param name="ownerUid">The reconciled object's UID.</param>
    /// <param name="resource">The group-resource written.</param>
    /// <param name="written">The object the server returned.</param>
    /// <param name="accessor">Reads its metadata; defaults to <see cref="ObjectMetadataAccessor{T}.Default"/>.</param>
    /// <returns>Whether a resource version was recorded.</returns>
    public bool RecordWrite<T>(NamespacedName owner, string ownerUid, GroupResource resource, T written, ObjectMetadataAccessor<T>? accessor = null)
    {
        accessor ??= ObjectMetadataAccessor<T>.Default;
        var rv = written is null ? null : accessor.GetResourceVersion(written);
        if (string.IsNullOrEmpty(rv))
        {
            ControllerLog.WriteWithoutResourceVersion(Logger, ControllerName, owner, resource.ToString());
            return false;
        }

        WroteAt(owner, ownerUid, resource, rv);
        return true;
    }

    /// <summary>
    /// Records a delete made on behalf of <paramref name="owner"/> when <see cref="TracksDeletes"/> (otherwise does nothing,
    /// as upstream v1.36). The resource version to wait for is the returned object's (a pod, or an object behind
    /// finalizers) or, from Kubernetes v1.38, the <c>Status</c>'s (docs/upstream-after-1.36.md §1.5); it is recorded with
    /// <see cref="WroteAt"/>. When the answer carried none (an older server), the delete waits by UID in
    /// <paramref name="cache"/> (<see cref="ExpectDeletion{T}"/>); without a cache it cannot be tracked and is logged.
    /// </summary>
    /// <typeparam name="T">The deleted object's type.</typeparam>
    /// <param name="owner">The reconciled object.</param>
    /// <param name="ownerUid">The reconciled object's UID.</param>
    /// <param name="resource">The deleted object's group-resource.</param>
    /// <param name="deleted">The object the controller deleted (its cached copy: namespace, name and UID are read from it).</param>
    /// <param name="result">What the delete returned.</param>
    /// <param name="cache">The informer store of <paramref name="resource"/>, for deletes answered without a resource version.</param>
    /// <param name="accessor">Reads metadata; defaults to <see cref="ObjectMetadataAccessor{T}.Default"/>.</param>
    /// <returns>Whether the delete is now tracked.</returns>
    public bool RecordDelete<T>(NamespacedName owner, string ownerUid, GroupResource resource, T deleted, DeleteResult<T> result, Cache.IStore<T>? cache = null, ObjectMetadataAccessor<T>? accessor = null)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(deleted);
        ArgumentNullException.ThrowIfNull(result);
        if (!TracksDeletes)
        {
            return false;
        }

        accessor ??= ObjectMetadataAccessor<T>.Default;
        var rv = result.Object is { } returned ? accessor.GetResourceVersion(returned) : null;
        rv = string.IsNullOrEmpty(rv) ? result.StatusResourceVersion : rv;
        if (!string.IsNullOrEmpty(rv))
        {
            WroteAt(owner, ownerUid, resource, rv);
            return true;
        }

        if (cache is not null)
        {
            return ExpectDeletion(owner, ownerUid, resource, deleted, cache, accessor);
        }

        ControllerLog.DeleteUntracked(Logger, ControllerName, owner, resource.ToString(), ObjectKeys.MetaNamespaceKey(accessor.GetNamespace(deleted), accessor.GetName(deleted) ?? string.Empty));
        return false;
    }

    /// <summary>
    /// When <see cref="TracksDeletes"/>, makes <see cref="EnsureReady"/> defer <paramref name="owner"/>'s syncs until
    /// <paramref name="cache"/> has observed that <paramref name="deleted"/> is deleted: it is gone, another object (a new
    /// UID) holds its key, or it carries a <c>deletionTimestamp</c> (scylla-operator's rule, docs/upstream-after-1.36.md
    /// §2.3). For deletes whose answer carried no resource version, and for a delete that found the object already gone
    /// (NotFound) while the cache may still hold it.
    /// </summary>
    /// <typeparam name="T">The deleted object's type.</typeparam>
    /// <param name="owner">The reconciled object.</param>
    /// <param name="ownerUid">The reconciled object's UID.</param>
    /// <param name="resource">The deleted object's group-resource (the skip counter's labels).</param>
    /// <param name="deleted">The deleted object (its cached copy).</param>
    /// <param name="cache">The informer store that must observe the delete.</param>
    /// <param name="accessor">Reads metadata; defaults to <see cref="ObjectMetadataAccessor{T}.Default"/>.</param>
    /// <returns>Whether the delete is now tracked (not when the object has no UID or deletes are not tracked).</returns>
    public bool ExpectDeletion<T>(NamespacedName owner, string ownerUid, GroupResource resource, T deleted, Cache.IStore<T> cache, ObjectMetadataAccessor<T>? accessor = null)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(deleted);
        ArgumentNullException.ThrowIfNull(cache);
        if (!TracksDeletes)
        {
            return false;
        }

        accessor ??= ObjectMetadataAccessor<T>.Default;
        var key = ObjectKeys.MetaNamespaceKey(accessor.GetNamespace(deleted), accessor.GetName(deleted) ?? string.Empty);
        var uid = accessor.GetUid(deleted);
        if (string.IsNullOrEmpty(uid))
        {
            ControllerLog.DeleteUntracked(Logger, ControllerName, owner, resource.ToString(), key);
            return false;
        }

        ExpectDelete(owner, ownerUid ?? string.Empty, new PendingDelete<T>(resource, key, uid, cache, accessor));
        return true;
    }

    private protected abstract void ExpectDelete(NamespacedName owner, string ownerUid, PendingDelete delete);

    /// <summary>
    /// Opens a <see cref="WriteScope"/> over this gate's store for <paramref name="owner"/>: every write a recording
    /// client makes below it (e.g. <c>IKubernetes</c> with <c>KubeConsistency.KubernetesClient</c>'s handler) is
    /// recorded with <see cref="WroteAt"/>. Dispose it when the reconcile ends.
    /// </summary>
    /// <param name="owner">The reconciled object.</param>
    /// <param name="ownerUid">Its UID.</param>
    public WriteScope BeginWriteScope(NamespacedName owner, string ownerUid) => WriteScope.Begin(ConsistencyStore, owner, ownerUid);

    /// <summary>
    /// A writer over <paramref name="client"/> that records the server-returned resource version of every successful
    /// create, update, status update and patch under <paramref name="client"/>'s group-resource.
    /// </summary>
    /// <typeparam name="T">The object type.</typeparam>
    /// <param name="client">The resource client.</param>
    /// <param name="accessor">Reads the returned objects' metadata; defaults to <see cref="ObjectMetadataAccessor{T}.Default"/>.</param>
    /// <param name="cache">The informer store of <paramref name="client"/>'s resource, for tracked deletes answered without a
    /// resource version (<see cref="StalenessGateOptions.TrackDeletes"/>); <see langword="null"/> tracks only those with one.</param>
    public ConsistentWriter<T> Writer<T>(IResourceClient<T> client, ObjectMetadataAccessor<T>? accessor = null, Cache.IStore<T>? cache = null)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(client);
        return new ConsistentWriter<T>(this, client, accessor ?? ObjectMetadataAccessor<T>.Default, cache);
    }

    /// <summary>
    /// Wraps a reconcile delegate with this gate, for any controller (what Cluster API keeps its own copy of): the result
    /// goes to <see cref="Controller.Create"/>. Each sync first calls <see cref="EnsureReady"/> — a deferred sync is
    /// counted, logged and requeued by <see cref="GatedReconcileOptions.StaleSyncRequeue"/> without calling
    /// <paramref name="reconcile"/> — then reads the owner from <paramref name="owners"/> (gone: <see cref="OwnerNotFound"/>,
    /// and the delegate runs with no owner to clean up), and runs <paramref name="reconcile"/> inside a
    /// <see cref="WriteScope"/> for the owner, so every write it records (<see cref="ReconcileContext{TOwner}.RecordWrite"/>,
    /// or a recording client) is recorded with <see cref="WroteAt"/>.
    /// </summary>
    /// <typeparam name="TOwner">The reconciled type.</typeparam>
    /// <param name="owners">The owners' informer store.</param>
    /// <param name="reconcile">The sync; never called for a key whose caches are behind its owner's recorded writes.</param>
    /// <param name="options">The requeue policy; <see langword="null"/> for kube-controller-manager's (rate-limited).</param>
    /// <param name="accessor">Reads the owner's UID; defaults to <see cref="ObjectMetadataAccessor{T}.Default"/>.</param>
    /// <returns>A reconcile function for <see cref="Controller.Create"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The options name an unknown policy or a delay that is not positive.</exception>
    public Func<string, CancellationToken, ValueTask<ReconcileResult>> Wrap<TOwner>(Cache.IStore<TOwner> owners, Func<ReconcileContext<TOwner>, CancellationToken, ValueTask<ReconcileResult>> reconcile, GatedReconcileOptions? options = null, ObjectMetadataAccessor<TOwner>? accessor = null)
        where TOwner : class => new GatedReconcile<TOwner>(this, owners, reconcile, options, accessor).ReconcileAsync;

    private static bool IsValidSubsystem(string? name) =>
        !string.IsNullOrEmpty(name) && !char.IsAsciiDigit(name[0]) && name.All(static c => char.IsAsciiLetterOrDigit(c) || c == '_');
}

/// <summary>The gate over a consistency store, with the skip counter and per-owner log rate limiting.</summary>
internal sealed class RealStalenessGate : StalenessGate
{
    // Bounded bookkeeping: log states are dropped when an owner is ready again (after the interval) or cleared; if many
    // owners go stale at once and never sync again, a sweep drops the old ones.
    private const int SweepThreshold = 4096;

    private static readonly ConditionalWeakTable<Meter, ConcurrentDictionary<string, Counter<long>>> s_counters = new();

    private readonly IConsistencyStore _store;
    private readonly TimeProvider _time;
    private readonly TimeSpan _logInterval;
    private readonly ILogger _logger;
    private readonly Counter<long> _skips;
    private readonly ConcurrentDictionary<NamespacedName, LogState> _logStates = new();
    private readonly PendingDeletes _pendingDeletes = new();
    private int _logStateCount;

    public RealStalenessGate(StalenessGateOptions options)
    {
        ControllerName = options.ControllerName;
        _store = options.ConsistencyStore;
        _time = options.TimeProvider;
        _logInterval = options.LogInterval;
        _logger = options.Logger ?? NullLogger.Instance;
        TracksDeletes = options.TrackDeletes && !ReferenceEquals(options.ConsistencyStore, Consistency.ConsistencyStore.Noop);
        var meter = KubeConsistencyMeter.Get(options.MeterFactory);
        _skips = s_counters.GetValue(meter, static _ => new(StringComparer.Ordinal)).GetOrAdd(
            SkipsInstrumentNameFor(options.ControllerName),
            static (name, m) => m.CreateCounter<long>(name, unit: "{skip}", description: "Number of syncs skipped because the informer cache had not yet observed the controller's own writes."),
            meter);
    }

    public override string ControllerName { get; }

    public override IConsistencyStore ConsistencyStore => _store;

    public override bool TracksDeletes { get; }

    private protected override ILogger Logger => _logger;

    public override ConsistencyError? EnsureReady(NamespacedName owner)
    {
        // Recorded resource versions first (the store clears a ready record), then the deletes tracked by UID.
        var error = _store.EnsureReady(owner) ?? _pendingDeletes.Check(owner);
        if (error is null)
        {
            if (Volatile.Read(ref _logStateCount) > 0)
            {
                OnReady(owner);
            }

            return null;
        }

        _skips.Add(1, new KeyValuePair<string, object?>("group", error.GroupResource.Group), new KeyValuePair<string, object?>("resource", error.GroupResource.Resource));
        OnStale(owner, error);
        return error;
    }

    public override void WroteAt(NamespacedName owner, string ownerUid, GroupResource resource, string? resourceVersion) =>
        _store.WroteAt(owner, ownerUid ?? string.Empty, resource, resourceVersion ?? string.Empty);

    public override void Clear(NamespacedName owner, string ownerUid)
    {
        _store.Clear(owner, ownerUid ?? string.Empty);
        _pendingDeletes.Clear(owner, ownerUid ?? string.Empty);
        if (Volatile.Read(ref _logStateCount) > 0 && _logStates.TryRemove(owner, out _))
        {
            Interlocked.Decrement(ref _logStateCount);
        }
    }

    private protected override void ExpectDelete(NamespacedName owner, string ownerUid, PendingDelete delete) =>
        _pendingDeletes.Expect(owner, ownerUid, delete);

    /// <summary>The number of owners with log bookkeeping (tests).</summary>
    internal int LogStateCount => Volatile.Read(ref _logStateCount);

    private void OnStale(NamespacedName owner, ConsistencyError error)
    {
        var now = _time.GetTimestamp();
        if (!_logStates.TryGetValue(owner, out var state))
        {
            var fresh = new LogState();
            state = _logStates.GetOrAdd(owner, fresh);
            if (ReferenceEquals(state, fresh) && Interlocked.Increment(ref _logStateCount) > SweepThreshold)
            {
                Sweep(now);
            }
        }

        long suppressed;
        lock (state)
        {
            state.Skips++;
            if (state.LastLogged is { } last && _time.GetElapsedTime(last, now) < _logInterval)
            {
                state.Suppressed++;
                return;
            }

            suppressed = state.Suppressed;
            state.Suppressed = 0;
            state.LastLogged = now;
        }

        if (error.Reason == ConsistencyErrorReason.DeleteNotObserved)
        {
            ControllerLog.StaleSyncSkippedForDelete(_logger, ControllerName, owner, error.GroupResource.ToString(), error.DeletedObjectKey, error.DeletedObjectUid, error.ReadResourceVersion, suppressed);
            return;
        }

        ControllerLog.StaleSyncSkipped(_logger, ControllerName, owner, error.GroupResource.ToString(), error.ReadResourceVersion, error.WroteResourceVersion, suppressed);
    }

    private void OnReady(NamespacedName owner)
    {
        if (!_logStates.TryGetValue(owner, out var state))
        {
            return;
        }

        long skips;
        lock (state)
        {
            // Keep the state until the interval has passed, so an owner that flaps stays at one line per interval.
            if (state.LastLogged is { } last && _time.GetElapsedTime(last) < _logInterval)
            {
                return;
            }

            skips = state.Skips;
        }

        if (_logStates.TryRemove(new KeyValuePair<NamespacedName, LogState>(owner, state)))
        {
            Interlocked.Decrement(ref _logStateCount);
            ControllerLog.CaughtUp(_logger, ControllerName, owner, skips);
        }
    }

    private void Sweep(long now)
    {
        foreach (var (owner, state) in _logStates)
        {
            bool old;
            lock (state)
            {
                old = state.LastLogged is { } last && _time.GetElapsedTime(last, now) >= _logInterval;
            }

            if (old && _logStates.TryRemove(new KeyValuePair<NamespacedName, LogState>(owner, state)))
            {
                Interlocked.Decrement(ref _logStateCount);
            }
        }
    }

    private sealed class LogState
    {
        public long? LastLogged { get; set; }

        public long Suppressed { get; set; }

        public long Skips { get; set; }
    }
}
