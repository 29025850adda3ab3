using KubeConsistency.Consistency;

namespace KubeConsistency.Controllers;

/// <summary>What a controller host does with a key after its reconcile returned.</summary>
public enum ReconcileOutcome
{
    /// <summary>The key is in sync: the rate limiter forgets it (Go: <c>queue.Forget(key)</c>).</summary>
    Done,

    /// <summary>Reconcile again after a fixed delay: the rate limiter forgets the key, then <c>AddAfter(key, delay)</c>.</summary>
    RequeueAfter,

    /// <summary>Reconcile again with per-key backoff (<c>AddRateLimited(key)</c>), as after a failure but without logging an error.</summary>
    RequeueRateLimited,

    /// <summary>
    /// The staleness gate deferred the sync (upstream-semantics.md §8.1 step 3): requeued with <c>AddRateLimited(key)</c>,
    /// exactly as kube-controller-manager does by returning the consistency error to its work queue — or, when the result
    /// carries a <see cref="ReconcileResult.Delay"/>, forgotten and added after it (Cluster API's fixed 100 ms).
    /// </summary>
    StaleSyncSkipped,
}

/// <summary>
/// The result of one reconcile: <see cref="Done"/>, <see cref="RequeueAfter"/>, <see cref="RequeueRateLimited"/> or
/// <see cref="StaleSyncSkipped(KubeConsistency.Consistency.ConsistencyError)"/>. A reconcile that throws is logged and requeued rate-limited.
/// </summary>
public readonly struct ReconcileResult : IEquatable<ReconcileResult>
{
    private ReconcileResult(ReconcileOutcome outcome, TimeSpan delay, ConsistencyError? staleCache)
    {
        Outcome = outcome;
        Delay = delay;
        StaleCache = staleCache;
    }

    /// <summary>The key is in sync; its backoff starts over.</summary>
    public static ReconcileResult Done => default;

    /// <summary>Reconcile again with per-key exponential backoff (the queue's rate limiter).</summary>
    public static ReconcileResult RequeueRateLimited => new(ReconcileOutcome.RequeueRateLimited, TimeSpan.Zero, null);

    /// <summary>What the host will do.</summary>
    public ReconcileOutcome Outcome { get; }

    /// <summary>The delay of <see cref="ReconcileOutcome.RequeueAfter"/>; zero otherwise.</summary>
    public TimeSpan Delay { get; }

    /// <summary>Why the sync was skipped, for <see cref="ReconcileOutcome.StaleSyncSkipped"/>; <see langword="null"/> otherwise.</summary>
    public ConsistencyError? StaleCache { get; }

    /// <summary>Reconcile again once <paramref name="delay"/> has passed (e.g. to re-check a deadline); the backoff starts over.</summary>
    /// <param name="delay">How long to wait; not negative.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative.</exception>
    public static ReconcileResult RequeueAfter(TimeSpan delay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        return new(ReconcileOutcome.RequeueAfter, delay, null);
    }

    /// <summary>
    /// The sync was deferred because a cache has not yet observed this controller's own writes; the host requeues the
    /// key rate-limited. Returned for you by <see cref="StalenessGate.EnsureReady"/> callers:
    /// <c>if (gate.EnsureReady(owner) is { } stale) return ReconcileResult.StaleSyncSkipped(stale);</c>.
    /// </summary>
    /// <param name="error">The consistency error.</param>
    public static ReconcileResult StaleSyncSkipped(ConsistencyError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return new(ReconcileOutcome.StaleSyncSkipped, TimeSpan.Zero, error);
    }

    /// <summary>
    /// The sync was deferred because a cache has not yet observed this controller's own writes; the host forgets the
    /// key's backoff and requeues it after <paramref name="requeueAfter"/> (Cluster API's policy: <c>RequeueAfter: 100ms</c>).
    /// </summary>
    /// <param name="error">The consistency error.</param>
    /// <param name="requeueAfter">How long to wait; more than zero.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="requeueAfter"/> is not positive.</exception>
    public static ReconcileResult StaleSyncSkipped(ConsistencyError error, TimeSpan requeueAfter)
    {
        ArgumentNullException.ThrowIfNull(error);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(requeueAfter, TimeSpan.Zero);
        return new(ReconcileOutcome.StaleSyncSkipped, requeueAfter, error);
    }

    /// <summary>Compares two results.</summary>
    /// <param name="left">The first result.</param>
    /// <param name="right">The second result.</param>
    public static bool operator ==(ReconcileResult left, ReconcileResult right) => left.Equals(right);

    /// <summary>Compares two results.</summary>
    /// <param name="left">The first result.</param>
    /// <param name="right">The second result.</param>
    public static bool operator !=(ReconcileResult left, ReconcileResult right) => !left.Equals(right);

    /// <inheritdoc/>
    public bool Equals(ReconcileResult other) => Outcome == other.Outcome && Delay == other.Delay && ReferenceEquals(StaleCache, other.StaleCache);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is ReconcileResult other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Outcome, Delay);

    /// <inheritdoc/>
    public override string ToString() => Outcome switch
    {
        ReconcileOutcome.RequeueAfter => $"RequeueAfter({Delay})",
        ReconcileOutcome.StaleSyncSkipped when Delay > TimeSpan.Zero => $"StaleSyncSkipped({StaleCache}, {Delay})",
        ReconcileOutcome.StaleSyncSkipped => $"StaleSyncSkipped({StaleCache})",
        _ => Outcome.ToString(),
    };
}
