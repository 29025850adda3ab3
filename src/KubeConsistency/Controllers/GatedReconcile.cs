using KubeConsistency.Cache;
using KubeConsistency.Consistency;

namespace KubeConsistency.Controllers;

/// <summary>How a reconcile wrapped by <see cref="StalenessGate.Wrap{TOwner}"/> requeues a sync the gate deferred.</summary>
public enum StaleSyncRequeue
{
    /// <summary>
    /// With the queue's per-key backoff (<c>AddRateLimited</c>), as kube-controller-manager does by returning the
    /// consistency error to its work queue (upstream-semantics.md §8.1 step 3). The default.
    /// </summary>
    RateLimited,

    /// <summary>
    /// After a fixed short delay (<see cref="GatedReconcileOptions.StaleSyncRequeueDelay"/>, 100 ms by default), with the
    /// backoff forgotten, as Cluster API's wrapper does (<c>RequeueAfter: 100ms</c>, upstream-after-1.36.md §2.2): a
    /// cache a few events behind is retried promptly instead of after a growing backoff.
    /// </summary>
    AfterDelay,
}

/// <summary>Options for <see cref="StalenessGate.Wrap{TOwner}"/>; copied when the reconcile is wrapped.</summary>
public sealed class GatedReconcileOptions
{
    /// <summary>How a deferred sync is requeued; default <see cref="StaleSyncRequeue.RateLimited"/> (kube-controller-manager).</summary>
    public StaleSyncRequeue StaleSyncRequeue { get; init; } = StaleSyncRequeue.RateLimited;

    /// <summary>The delay of <see cref="StaleSyncRequeue.AfterDelay"/>; default 100 ms (Cluster API's); more than zero.</summary>
    public TimeSpan StaleSyncRequeueDelay { get; init; } = TimeSpan.FromMilliseconds(100);
}

/// <summary>
/// What a reconcile wrapped by <see cref="StalenessGate.Wrap{TOwner}"/> gets: the key, the owner as the cache holds it
/// once the gate has let the sync through, and a way to record writes for it. Valid only while the reconcile runs.
/// </summary>
/// <typeparam name="TOwner">The reconciled type.</typeparam>
public sealed class ReconcileContext<TOwner>
    where TOwner : class
{
    private readonly WriteScope _scope;

    internal ReconcileContext(string key, NamespacedName name, TOwner? owner, string ownerUid, WriteScope scope)
    {
        Key = key;
        Name = name;
        Owner = owner;
        OwnerUid = ownerUid;
        _scope = scope;
    }

    /// <summary>The work-queue key (<c>namespace/name</c>).</summary>
    public string Key { get; }

    /// <summary>The reconciled object's namespace and name.</summary>
    public NamespacedName Name { get; }

    /// <summary>
    /// The reconciled object from the cache, read after the gate passed; <see langword="null"/> when the cache has no such
    /// object (its consistency record was cleared, §8.1 step 4: clean up and return).
    /// </summary>
    public TOwner? Owner { get; }

    /// <summary>The owner's UID (<c>""</c> when <see cref="Owner"/> is <see langword="null"/>).</summary>
    public string OwnerUid { get; }

    /// <summary>How many writes have been recorded for this sync (by <see cref="RecordWrite"/> or a recording client).</summary>
    public int RecordedWrites => _scope.RecordedWrites;

    /// <summary>
    /// Records a successful write's resource version for the owner (<see cref="StalenessGate.WroteAt"/>, §8.1 step 2).
    /// Writes through a recording client (e.g. <c>IKubernetes</c> with <c>KubeConsistency.KubernetesClient</c>'s handler)
    /// are recorded without this: the sync runs inside a <see cref="WriteScope"/>.
    /// </summary>
    /// <param name="resource">The group-resource written.</param>
    /// <param name="resourceVersion">The resource version the server returned.</param>
    /// <returns>Whether it was recorded (not after the reconcile returned).</returns>
    public bool RecordWrite(GroupResource resource, string resourceVersion) => _scope.RecordWrite(resource, resourceVersion);

    /// <summary>Records the write that returned <paramref name="written"/>, by its resource version.</summary>
    /// <typeparam name="T">The written object's type.</typeparam>
    /// <param name="resource">The group-resource written.</param>
    /// <param name="written">The object the server returned.</param>
    /// <param name="accessor">Reads its metadata; defaults to <see cref="ObjectMetadataAccessor{T}.Default"/>.</param>
    /// <returns>Whether a resource version was recorded (an object without one is not).</returns>
    public bool RecordWrite<T>(GroupResource resource, T written, ObjectMetadataAccessor<T>? accessor = null)
    {
        var rv = written is null ? null : (accessor ?? ObjectMetadataAccessor<T>.Default).GetResourceVersion(written);
        return !string.IsNullOrEmpty(rv) && _scope.RecordWrite(resource, rv);
    }
}

/// <summary>The gate around one reconcile delegate (<see cref="StalenessGate.Wrap{TOwner}"/>).</summary>
internal sealed class GatedReconcile<TOwner>
    where TOwner : class
{
    private readonly StalenessGate _gate;
    private readonly IStore<TOwner> _owners;
    private readonly Func<ReconcileContext<TOwner>, CancellationToken, ValueTask<ReconcileResult>> _reconcile;
    private readonly ObjectMetadataAccessor<TOwner> _accessor;
    private readonly StaleSyncRequeue _requeue;
    private readonly TimeSpan _requeueDelay;

    public GatedReconcile(StalenessGate gate, IStore<TOwner> owners, Func<ReconcileContext<TOwner>, CancellationToken, ValueTask<ReconcileResult>> reconcile, GatedReconcileOptions? options, ObjectMetadataAccessor<TOwner>? accessor)
    {
        ArgumentNullException.ThrowIfNull(owners);
        ArgumentNullException.ThrowIfNull(reconcile);
        options ??= new GatedReconcileOptions();
        if (!Enum.IsDefined(options.StaleSyncRequeue))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.StaleSyncRequeue, "Unknown StaleSyncRequeue value.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.StaleSyncRequeueDelay, TimeSpan.Zero, nameof(options));
        _gate = gate;
        _owners = owners;
        _reconcile = reconcile;
        _accessor = accessor ?? ObjectMetadataAccessor<TOwner>.Default;
        _requeue = options.StaleSyncRequeue;
        _requeueDelay = options.StaleSyncRequeueDelay;
    }

    public async ValueTask<ReconcileResult> ReconcileAsync(string key, CancellationToken cancellationToken)
    {
        var name = NamespacedName.FromKey(key);

        // §8.1 step 3: before any read; a deferred sync reads and writes nothing.
        if (_gate.EnsureReady(name) is { } stale)
        {
            return _requeue == StaleSyncRequeue.AfterDelay ? ReconcileResult.StaleSyncSkipped(stale, _requeueDelay) : ReconcileResult.StaleSyncSkipped(stale);
        }

        string uid;
        if (_owners.TryGetByKey(key, out var owner))
        {
            uid = _accessor.GetUid(owner) ?? string.Empty;
        }
        else
        {
            // §8.1 step 4: NotFound forgets the record unconditionally; the delegate still runs, to clean up.
            _gate.OwnerNotFound(name);
            owner = null;
            uid = string.Empty;
        }

        using var scope = _gate.BeginWriteScope(name, uid);
        return await _reconcile(new ReconcileContext<TOwner>(key, name, owner, uid, scope), cancellationToken).ConfigureAwait(false);
    }
}
