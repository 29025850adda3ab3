using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeConsistency.Controllers;

/// <summary>
/// What a controller expects to observe before it syncs an owner again (Go: <c>ControllerExpectationsInterface</c> in
/// <c>pkg/controller/controller_utils.go</c>): after creating N pods it expects N adds, after deleting M it expects M
/// deletes; informer events count them down. An owner is synced again once its expectations are met or have expired
/// (<see cref="ControllerExpectations.Timeout"/>, 5 minutes), which bounds the damage of a lost watch event. All members are
/// thread-safe; keys are the owners' <c>namespace/name</c> keys.
/// </summary>
/// <remarks>
/// Expectations are independent of the staleness gate: kube-controller-manager keeps both, the gate first (§8.1 step 5).
/// </remarks>
public interface IControllerExpectations
{
    /// <summary>The outstanding adds and deletes of <paramref name="controllerKey"/> (Go: <c>GetExpectations</c>).</summary>
    /// <param name="controllerKey">The owner's key.</param>
    /// <param name="add">Creations still expected (≤ 0 when met).</param>
    /// <param name="del">Deletions still expected (≤ 0 when met).</param>
    /// <returns>Whether expectations are recorded for the key.</returns>
    bool TryGetExpectations(string controllerKey, out long add, out long del);

    /// <summary>
    /// Whether the owner should be synced: <see langword="true"/> when no expectations are recorded, when they are met
    /// (adds and deletes ≤ 0), or when they are older than <see cref="ControllerExpectations.Timeout"/>.
    /// </summary>
    /// <param name="controllerKey">The owner's key.</param>
    bool SatisfiedExpectations(string controllerKey);

    /// <summary>Forgets the owner's expectations (when it is deleted or not found).</summary>
    /// <param name="controllerKey">The owner's key.</param>
    void DeleteExpectations(string controllerKey);

    /// <summary>Replaces the owner's expectations and restarts their timeout.</summary>
    /// <param name="controllerKey">The owner's key.</param>
    /// <param name="add">Creations expected.</param>
    /// <param name="del">Deletions expected.</param>
    void SetExpectations(string controllerKey, int add, int del);

    /// <summary><c>SetExpectations(key, adds, 0)</c>.</summary>
    /// <param name="controllerKey">The owner's key.</param>
    /// <param name="adds">Creations expected.</param>
    void ExpectCreations(string controllerKey, int adds);

    /// <summary><c>SetExpectations(key, 0, dels)</c>.</summary>
    /// <param name="controllerKey">The owner's key.</param>
    /// <param name="dels">Deletions expected.</param>
    void ExpectDeletions(string controllerKey, int dels);

    /// <summary>One expected creation was observed (or will never be: a failed create). No-op without expectations.</summary>
    /// <param name="controllerKey">The owner's key.</param>
    void CreationObserved(string controllerKey);

    /// <summary>One expected deletion was observed (or will never be). No-op without expectations.</summary>
    /// <param name="controllerKey">The owner's key.</param>
    void DeletionObserved(string controllerKey);

    /// <summary>Adds to the outstanding counts (keeps the timestamp). No-op without expectations.</summary>
    /// <param name="controllerKey">The owner's key.</param>
    /// <param name="add">Creations to add.</param>
    /// <param name="del">Deletions to add.</param>
    void RaiseExpectations(string controllerKey, int add, int del);

    /// <summary>Subtracts from the outstanding counts (keeps the timestamp). No-op without expectations.</summary>
    /// <param name="controllerKey">The owner's key.</param>
    /// <param name="add">Creations to subtract.</param>
    /// <param name="del">Deletions to subtract.</param>
    void LowerExpectations(string controllerKey, int add, int del);
}

/// <summary>
/// Expectations that remember <em>which</em> deletions are expected (Go: <c>UIDTrackingControllerExpectations</c>), so a
/// pod observed twice as deleted — once when its deletion timestamp is set, once when it is gone — counts once. The
/// ReplicaSet controller uses this flavour with pod keys (<c>namespace/name</c>).
/// </summary>
/// <remarks>
/// The count-only <see cref="IControllerExpectations.ExpectDeletions(string, int)"/> and
/// <see cref="IControllerExpectations.DeletionObserved(string)"/> inherited here adjust the counts without touching the
/// tracked keys (Go reaches them through the embedded interface); <see cref="IControllerExpectations.DeleteExpectations"/>
/// forgets both.
/// </remarks>
public interface IUidTrackingControllerExpectations : IControllerExpectations
{
    /// <summary>Expects the deletion of exactly <paramref name="deleteKeys"/> (replacing any keys still expected).</summary>
    /// <param name="controllerKey">The owner's key.</param>
    /// <param name="deleteKeys">The keys (e.g. pod <c>namespace/name</c>) whose deletion is expected.</param>
    void ExpectDeletions(string controllerKey, IEnumerable<string> deleteKeys);

    /// <summary>Counts the deletion of <paramref name="deleteKey"/> once, if it was expected.</summary>
    /// <param name="controllerKey">The owner's key.</param>
    /// <param name="deleteKey">The deleted object's key.</param>
    void DeletionObserved(string controllerKey, string deleteKey);

    /// <summary>A snapshot of the deletions still expected, or <see langword="null"/> when none are tracked.</summary>
    /// <param name="controllerKey">The owner's key.</param>
    IReadOnlySet<string>? GetUids(string controllerKey);
}

/// <summary>Creates controller expectations.</summary>
public static class ControllerExpectations
{
    /// <summary>How long expectations are waited for before the owner is synced anyway (Go: <c>ExpectationsTimeout</c>, 5 minutes).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    /// <summary>Creates count-based expectations (Go: <c>NewControllerExpectations</c>).</summary>
    /// <param name="timeProvider">The clock of the timeout; defaults to <see cref="TimeProvider.System"/>.</param>
    /// <param name="logger">Where to log; defaults to no logging.</param>
    public static IControllerExpectations Create(TimeProvider? timeProvider = null, ILogger? logger = null) =>
        new CountingExpectations(timeProvider ?? TimeProvider.System, logger ?? NullLogger.Instance);

    /// <summary>Creates deletion-tracking expectations (Go: <c>NewUIDTrackingControllerExpectations(NewControllerExpectations())</c>).</summary>
    /// <param name="timeProvider">The clock of the timeout; defaults to <see cref="TimeProvider.System"/>.</param>
    /// <param name="logger">Where to log; defaults to no logging.</param>
    public static IUidTrackingControllerExpectations CreateUidTracking(TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        logger ??= NullLogger.Instance;
        return new UidTrackingExpectations(new CountingExpectations(timeProvider ?? TimeProvider.System, logger), logger);
    }
}

internal sealed class CountingExpectations(TimeProvider time, ILogger logger) : IControllerExpectations
{
    private readonly ConcurrentDictionary<string, Expectee> _items = new(StringComparer.Ordinal);

    public bool TryGetExpectations(string controllerKey, out long add, out long del)
    {
        ArgumentNullException.ThrowIfNull(controllerKey);
        if (_items.TryGetValue(controllerKey, out var e))
        {
            (add, del) = (Interlocked.Read(ref e.Add), Interlocked.Read(ref e.Del));
            return true;
        }

        (add, del) = (0, 0);
        return false;
    }

    public bool SatisfiedExpectations(string controllerKey)
    {
        ArgumentNullException.ThrowIfNull(controllerKey);
        if (!_items.TryGetValue(controllerKey, out var e))
        {
            // Never recorded, deleted, or replaced: sync.
            return true;
        }

        var (add, del) = (Interlocked.Read(ref e.Add), Interlocked.Read(ref e.Del));
        if (add <= 0 && del <= 0)
        {
            return true;
        }

        if (time.GetElapsedTime(e.Timestamp) > ControllerExpectations.Timeout)
        {
            ControllerLog.ExpectationsExpired(logger, controllerKey, add, del);
            return true;
        }

        return false;
    }

    public void DeleteExpectations(string controllerKey)
    {
        ArgumentNullException.ThrowIfNull(controllerKey);
        _items.TryRemove(controllerKey, out _);
    }

    public void SetExpectations(string controllerKey, int add, int del)
    {
        ArgumentNullException.ThrowIfNull(controllerKey);
        ControllerLog.SettingExpectations(logger, controllerKey, add, del);
        _items[controllerKey] = new Expectee { Add = add, Del = del, Timestamp = time.GetTimestamp() };
    }

    public void ExpectCreations(string controllerKey, int adds) => SetExpectations(controllerKey, adds, 0);

    public void ExpectDeletions(string controllerKey, int dels) => SetExpectations(controllerKey, 0, dels);

    public void CreationObserved(string controllerKey) => LowerExpectations(controllerKey, 1, 0);

    public void DeletionObserved(string controllerKey) => LowerExpectations(controllerKey, 0, 1);

    public void RaiseExpectations(string controllerKey, int add, int del) => Adjust(controllerKey, add, del);

    public void LowerExpectations(string controllerKey, int add, int del) => Adjust(controllerKey, -(long)add, -(long)del);

    private void Adjust(string controllerKey, long add, long del)
    {
        ArgumentNullException.ThrowIfNull(controllerKey);
        if (_items.TryGetValue(controllerKey, out var e))
        {
            Interlocked.Add(ref e.Add, add);
            Interlocked.Add(ref e.Del, del);
        }
    }

    private sealed class Expectee
    {
        public long Add;
        public long Del;
        public long Timestamp;
    }
}

internal sealed class UidTrackingExpectations(IControllerExpectations inner, ILogger logger) : IUidTrackingControllerExpectations
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, HashSet<string>> _uids = new(StringComparer.Ordinal);

    public bool TryGetExpectations(string controllerKey, out long add, out long del) => inner.TryGetExpectations(controllerKey, out add, out del);

    public bool SatisfiedExpectations(string controllerKey) => inner.SatisfiedExpectations(controllerKey);

    public void SetExpectations(string controllerKey, int add, int del) => inner.SetExpectations(controllerKey, add, del);

    public void ExpectCreations(string controllerKey, int adds) => inner.ExpectCreations(controllerKey, adds);

    public void ExpectDeletions(string controllerKey, int dels) => inner.ExpectDeletions(controllerKey, dels);

    public void CreationObserved(string controllerKey) => inner.CreationObserved(controllerKey);

    public void DeletionObserved(string controllerKey) => inner.DeletionObserved(controllerKey);

    public void RaiseExpectations(string controllerKey, int add, int del) => inner.RaiseExpectations(controllerKey, add, del);

    public void LowerExpectations(string controllerKey, int add, int del) => inner.LowerExpectations(controllerKey, add, del);

    public void ExpectDeletions(string controllerKey, IEnumerable<string> deleteKeys)
    {
        ArgumentNullException.ThrowIfNull(controllerKey);
        ArgumentNullException.ThrowIfNull(deleteKeys);
        var expected = new HashSet<string>(deleteKeys, StringComparer.Ordinal);
        lock (_lock)
        {
            if (_uids.TryGetValue(controllerKey, out var existing) && existing.Count != 0)
            {
                ControllerLog.ClobberingDeleteKeys(logger, controllerKey, string.Join(", ", existing.Order(StringComparer.Ordinal)));
            }

            _uids[controllerKey] = expected;
            inner.ExpectDeletions(controllerKey, expected.Count);
        }
    }

    public void DeletionObserved(string controllerKey, string deleteKey)
    {
        ArgumentNullException.ThrowIfNull(controllerKey);
        ArgumentNullException.ThrowIfNull(deleteKey);
        lock (_lock)
        {
            if (_uids.TryGetValue(controllerKey, out var keys) && keys.Remove(deleteKey))
            {
                inner.DeletionObserved(controllerKey);
            }
        }
    }

    public void DeleteExpectations(string controllerKey)
    {
        ArgumentNullException.ThrowIfNull(controllerKey);
        lock (_lock)
        {
            inner.DeleteExpectations(controllerKey);
            _uids.Remove(controllerKey);
        }
    }

    public IReadOnlySet<string>? GetUids(string controllerKey)
    {
        ArgumentNullException.ThrowIfNull(controllerKey);
        lock (_lock)
        {
            return _uids.TryGetValue(controllerKey, out var keys) ? new HashSet<string>(keys, StringComparer.Ordinal) : null;
        }
    }
}
