using KubeConsistency.Informers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeConsistency.Controllers;

/// <summary>The work-queue loop behind <see cref="IController"/>.</summary>
internal sealed class ControllerHost : IController
{
    private readonly Func<string, CancellationToken, ValueTask<ReconcileResult>> _reconcile;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly int _workers;
    private readonly TimeSpan _pollInterval;
    private int _started;
    private volatile bool _running;

    public ControllerHost(ControllerOptions options, Func<string, CancellationToken, ValueTask<ReconcileResult>> reconcile)
    {
        Name = options.Name;
        _reconcile = reconcile;
        _logger = options.Logger ?? NullLogger.Instance;
        _time = options.TimeProvider;
        _workers = options.Workers;
        _pollInterval = options.CacheSyncPollInterval;
        Queue = WorkQueue.CreateRateLimiting(new WorkQueueOptions<string>
        {
            Name = options.Name,
            TimeProvider = options.TimeProvider,
            RateLimiter = options.RateLimiter,
            MeterFactory = options.MeterFactory,
            Logger = options.Logger,
            Comparer = StringComparer.Ordinal,
        });
    }

    public string Name { get; }

    public IRateLimitingWorkQueue<string> Queue { get; }

    public bool IsRunning => _running;

    public Task RunAsync(CancellationToken cancellationToken = default) =>
        RunCoreAsync(static _ => Task.FromResult(true), cancellationToken);

    public Task RunAsync(IEnumerable<IEventHandlerRegistration> waitForSync, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(waitForSync);
        IEventHandlerRegistration[] registrations = [.. waitForSync];
        foreach (var r in registrations)
        {
            ArgumentNullException.ThrowIfNull(r, nameof(waitForSync));
        }

        return RunCoreAsync(ct => WaitAsync(registrations, ct), cancellationToken);
    }

    public Task RunAsync(IEnumerable<Func<bool>> waitForSync, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(waitForSync);
        Func<bool>[] checks = [.. waitForSync];
        foreach (var c in checks)
        {
            ArgumentNullException.ThrowIfNull(c, nameof(waitForSync));
        }

        return RunCoreAsync(ct => PollAsync(checks, ct), cancellationToken);
    }

    private static async Task<bool> WaitAsync(IEventHandlerRegistration[] registrations, CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(registrations.Select(r => r.Synced)).WaitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private async Task<bool> PollAsync(Func<bool>[] checks, CancellationToken cancellationToken)
    {
        try
        {
            while (!checks.All(static c => c()))
            {
                await Task.Delay(_pollInterval, _time, cancellationToken).ConfigureAwait(false);
            }

            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private async Task RunCoreAsync(Func<CancellationToken, Task<bool>> waitForSync, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException($"Controller {Name} was already started; a controller runs once.");
        }

        ControllerLog.Starting(_logger, Name, _workers);
        try
        {
            ControllerLog.WaitingForCaches(_logger, Name);
            if (!await waitForSync(cancellationToken).ConfigureAwait(false))
            {
                ControllerLog.CacheSyncAborted(_logger, Name);
                return;
            }

            ControllerLog.CachesSynced(_logger, Name);
            var workers = new Task[_workers];
            for (var i = 0; i < workers.Length; i++)
            {
                workers[i] = Task.Run(() => WorkerAsync(cancellationToken), CancellationToken.None);
            }

            _running = true;
            await WhenCancelledAsync(cancellationToken).ConfigureAwait(false);
            _running = false;

            ControllerLog.Stopping(_logger, Name);

            // Workers waiting for a key leave through their cancelled wait; those reconciling finish (their token is
            // cancelled too) and mark their key done, which is what the drain waits for.
            await Queue.ShutDownWithDrainAsync(CancellationToken.None).ConfigureAwait(false);
            await Task.WhenAll(workers).ConfigureAwait(false);
        }
        finally
        {
            _running = false;
            Queue.ShutDown();
            ControllerLog.Stopped(_logger, Name);
        }
    }

    private static Task WhenCancelledAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.CompletedTask;
        }

        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var registration = cancellationToken.Register(static s => ((TaskCompletionSource)s!).TrySetResult(), stopped);
        return stopped.Task.ContinueWith(_ => registration.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task WorkerAsync(CancellationToken stop)
    {
        while (true)
        {
            WorkQueueItem<string> next;
            try
            {
                next = await Queue.GetAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }

            if (next.Shutdown)
            {
                return;
            }

            var key = next.Item;
            try
            {
                if (!stop.IsCancellationRequested)
                {
                    await ProcessAsync(key, stop).ConfigureAwait(false);
                }
            }
            finally
            {
                Queue.Done(key);
            }
        }
    }

    /// <summary>Go: <c>processNextWorkItem</c>: reconcile, then Forget on success or AddRateLimited on failure.</summary>
    private async ValueTask ProcessAsync(string key, CancellationToken stop)
    {
        ReconcileResult result;
        try
        {
            result = await _reconcile(key, stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopping: the queue is shutting down, a requeue would be dropped anyway.
            ControllerLog.ReconcileCancelled(_logger, Name, key);
            return;
        }
#pragma warning disable CA1031 // A failing reconcile must not kill its worker: it is logged and retried with backoff.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            ControllerLog.ReconcileFailed(_logger, Name, key, Queue.NumRequeues(key), ex);
            Queue.AddRateLimited(key);
            return;
        }

        switch (result.Outcome)
        {
            case ReconcileOutcome.Done:
                Queue.Forget(key);
                break;
            case ReconcileOutcome.RequeueAfter:
                Queue.Forget(key);
                Queue.AddAfter(key, result.Delay);
                break;
            case ReconcileOutcome.RequeueRateLimited:
                Queue.AddRateLimited(key);
                break;
            case ReconcileOutcome.StaleSyncSkipped:
                // §8.1 step 3: the error return of kube-controller-manager, without an error log (the gate logged it).
                ControllerLog.StaleSyncRequeued(_logger, Name, key, result.StaleCache?.GroupResource.ToString() ?? string.Empty);
                if (result.Delay > TimeSpan.Zero)
                {
                    Queue.Forget(key);
                    Queue.AddAfter(key, result.Delay);
                }
                else
                {
                    Queue.AddRateLimited(key);
                }

                break;
            default:
                // An undefined outcome value: treat it as a failure rather than dropping the key.
                ControllerLog.UnknownOutcome(_logger, Name, key, (int)result.Outcome);
                Queue.AddRateLimited(key);
                break;
        }
    }
}
