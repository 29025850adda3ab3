using System.Diagnostics.Metrics;
using KubeConsistency.Informers;
using Microsoft.Extensions.Logging;

namespace KubeConsistency.Controllers;

/// <summary>Options for <see cref="Controller.Create"/>.</summary>
public sealed class ControllerOptions
{
    /// <summary>
    /// The controller's name, e.g. <c>replicaset</c>: used in logs and as the work queue's name (the <c>name</c> label of
    /// the <c>workqueue_*</c> metrics, as kube-controller-manager names its queues).
    /// </summary>
    public required string Name { get; init; }

    /// <summary>How many keys are reconciled concurrently (Go: <c>--concurrent-replicaset-syncs</c>, default 5 there); default 1.</summary>
    public int Workers { get; init; } = 1;

    /// <summary>The clock for the queue's delays and backoff and for cache-sync polling; defaults to <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// The queue's rate limiter; defaults to <see cref="RateLimiters.DefaultController{T}(TimeProvider?)"/> (5 ms doubling to
    /// 1000 s per key, at most 10 qps with a burst of 100 overall), which kube-controller-manager's controllers use.
    /// </summary>
    public IRateLimiter<string>? RateLimiter { get; init; }

    /// <summary>How often <c>Func&lt;bool&gt;</c> sync sources are polled while waiting for caches (Go: 100 ms).</summary>
    public TimeSpan CacheSyncPollInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Where the controller and its queue log; defaults to no logging.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Where the queue's metrics go; <see langword="null"/> uses the static <c>KubeConsistency</c> meter.</summary>
    public IMeterFactory? MeterFactory { get; init; }
}

/// <summary>
/// A work-queue controller host (the <c>Run</c>/<c>worker</c>/<c>processNextWorkItem</c> loop of kube-controller-manager's
/// controllers): event handlers add keys to <see cref="Queue"/>; <see cref="RunAsync(CancellationToken)"/> waits for the caches
/// to sync, then runs the workers, each taking a key, reconciling it and telling the queue the result.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>A key is never reconciled by two workers at once (the queue's guarantee), so a reconcile may call
/// <see cref="StalenessGate.EnsureReady"/> and record writes for its key without further locking (§7.3).</item>
/// <item>A reconcile that throws is logged and requeued with <c>AddRateLimited</c>; <see cref="ReconcileResult.Done"/> makes the
/// queue <c>Forget</c> the key; <see cref="ReconcileResult.RequeueAfter"/> forgets then adds after the delay;
/// <see cref="ReconcileResult.RequeueRateLimited"/> and <see cref="ReconcileResult.StaleSyncSkipped(KubeConsistency.Consistency.ConsistencyError)"/> add rate-limited.</item>
/// <item>Cancelling the run stops taking keys, lets the reconciles in flight finish (they see the cancellation through their
/// token), waits until each has been marked done (<c>ShutDownWithDrain</c>), then completes without throwing. Keys still
/// queued are dropped. A controller runs once.</item>
/// </list>
/// </remarks>
public interface IController
{
    /// <summary>The controller's name.</summary>
    string Name { get; }

    /// <summary>The controller's queue of <c>namespace/name</c> keys: event handlers <c>Add</c> to it.</summary>
    IRateLimitingWorkQueue<string> Queue { get; }

    /// <summary>Whether the caches have synced and the workers are running.</summary>
    bool IsRunning { get; }

    /// <summary>Runs the workers at once (no caches to wait for) until <paramref name="cancellationToken"/> is cancelled.</summary>
    /// <param name="cancellationToken">Stops the controller.</param>
    /// <returns>A task that completes once every worker has stopped.</returns>
    /// <exception cref="InvalidOperationException">The controller was already started.</exception>
    Task RunAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits until every handler registration has synced (Go: <c>cache.WaitForNamedCacheSync</c> over
    /// <c>HasSynced</c>), then runs the workers until <paramref name="cancellationToken"/> is cancelled. Cancelled before the
    /// caches synced, it starts no worker and completes.
    /// </summary>
    /// <param name="waitForSync">The registrations of the controller's event handlers.</param>
    /// <param name="cancellationToken">Stops the controller.</param>
    /// <returns>A task that completes once every worker has stopped.</returns>
    /// <exception cref="InvalidOperationException">The controller was already started.</exception>
    Task RunAsync(IEnumerable<IEventHandlerRegistration> waitForSync, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits until every function returns <see langword="true"/> (polled every <see cref="ControllerOptions.CacheSyncPollInterval"/>,
    /// e.g. <c>() =&gt; informer.HasSynced</c>), then runs the workers until <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    /// <param name="waitForSync">The sync checks.</param>
    /// <param name="cancellationToken">Stops the controller.</param>
    /// <returns>A task that completes once every worker has stopped.</returns>
    /// <exception cref="InvalidOperationException">The controller was already started.</exception>
    Task RunAsync(IEnumerable<Func<bool>> waitForSync, CancellationToken cancellationToken = default);
}

/// <summary>Creates <see cref="IController"/>s.</summary>
public static class Controller
{
    /// <summary>Creates a controller host around a reconcile function.</summary>
    /// <param name="options">The options.</param>
    /// <param name="reconcile">
    /// Syncs one key (<c>namespace/name</c>); never called concurrently for the same key. Its token is cancelled when the
    /// controller stops.
    /// </param>
    /// <returns>The controller; add keys to its <see cref="IController.Queue"/> and run it.</returns>
    /// <exception cref="ArgumentException">The name is empty or the worker count is not positive.</exception>
    public static IController Create(ControllerOptions options, Func<string, CancellationToken, ValueTask<ReconcileResult>> reconcile)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(reconcile);
        ArgumentException.ThrowIfNullOrEmpty(options.Name, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Workers, 1, nameof(options));
        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.CacheSyncPollInterval, TimeSpan.Zero, nameof(options));
        return new ControllerHost(options, reconcile);
    }
}
