using k8s;
using KubeConsistency.Informers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using KcLeaderElection = KubeConsistency.KubernetesClient.LeaderElection;
using KcLeaderElectionOptions = KubeConsistency.KubernetesClient.LeaderElectionOptions;

namespace KubeConsistency.Hosting;

/// <summary>
/// Starts every registered informer with the host (on every replica: a standby's caches stay warm) and stops them last:
/// it is registered before the controllers' service, and the host stops services in reverse order.
/// </summary>
internal sealed class InformersHostedService(SharedInformerFactory factory, InformerHandles informers, ILogger<InformersHostedService> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Resolving creates each informer in the factory; Start runs them all.
        var handles = informers.All;
        factory.Start();
        Log.InformersStarted(logger, handles.Count, string.Join(", ", handles.Select(h => h.Name)));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await factory.DisposeAsync().AsTask().WaitAsync(cancellationToken).ConfigureAwait(false);
        Log.InformersStopped(logger);
    }
}

/// <summary>
/// Runs the controllers once every informer has synced and, with leader election, only while this replica holds the Lease.
/// Losing the Lease stops the controllers and then the application (as kube-controller-manager exits): a restarted replica
/// rejoins as a standby with fresh controllers. Shutdown cancels the controllers and waits for their drain within the host's
/// shutdown timeout.
/// </summary>
internal sealed class ControllersHostedService(
    IServiceProvider services,
    SharedInformerFactory factory,
    IEnumerable<ControllerRegistration> controllers,
    IEnumerable<InformerRegistration> informers,
    IOptions<KubeConsistencyOptions> options,
    Leadership leadership,
    IHostApplicationLifetime lifetime,
    ILoggerFactory loggerFactory,
    ILogger<ControllersHostedService> logger) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _running = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _running = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _running.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Log.DrainTimedOut(logger);
        }
    }

    public void Dispose() => _stopping.Dispose();

    private async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            await factory.WaitForCacheSyncAsync(stopping).ConfigureAwait(false);
            Log.CachesSynced(logger);
            var le = options.Value.LeaderElection;
            if (!le.Enabled)
            {
                await LeadAsync(stopping).ConfigureAwait(false);
                return;
            }

            var kubernetes = services.GetRequiredService<IKubernetes>();
            var electionOptions = new KcLeaderElectionOptions
            {
                LeaseName = le.LeaseName!,
                LeaseNamespace = le.LeaseNamespace!,
                Identity = leadership.Identity,
                LeaseDuration = le.LeaseDuration,
                RenewDeadline = le.RenewDeadline,
                RetryPeriod = le.RetryPeriod,
                LoggerFactory = loggerFactory,
            };
            await KcLeaderElection.RunAsync(kubernetes, electionOptions, async term =>
            {
                await CatchUpAsync(le.TakeoverCatchUpTimeout, term).ConfigureAwait(false);
                await LeadAsync(term).ConfigureAwait(false);
                if (!stopping.IsCancellationRequested)
                {
                    // The term ended without a shutdown: the Lease was lost. The controllers have drained; stop the application
                    // rather than campaign again in this process (controllers run once; their handlers stay on the informers).
                    Log.LeaseLost(logger, leadership.Identity);
                    lifetime.StopApplication();
                }
            }, stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.ControllersFailed(logger, ex);
            lifetime.StopApplication();
        }
    }

    /// <summary>Before a new leader's controllers run: every cache has applied what the server lists now (bounded).</summary>
    private async Task CatchUpAsync(TimeSpan timeout, CancellationToken term)
    {
        if (timeout <= TimeSpan.Zero)
        {
            return;
        }

        var started = TimeProvider.System.GetTimestamp();
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(term);
        bound.CancelAfter(timeout);
        try
        {
            await Task.WhenAll(informers.Select(i => i.CatchUp(services, bound.Token))).ConfigureAwait(false);
            Log.CaughtUp(logger, TimeProvider.System.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (OperationCanceledException) when (!term.IsCancellationRequested)
        {
            Log.CatchUpTimedOut(logger, timeout);
        }
    }

    /// <summary>One leadership term: every controller runs until the term's token is cancelled, then drains.</summary>
    private async Task LeadAsync(CancellationToken term)
    {
        leadership.IsLeader = true;
        Log.Leading(logger, leadership.Identity, controllers.Count());
        try
        {
            await Task.WhenAll(controllers.Select(c => RunOneAsync(c, term))).ConfigureAwait(false);
        }
        finally
        {
            leadership.IsLeader = false;
        }
    }

    private async Task RunOneAsync(ControllerRegistration controller, CancellationToken term)
    {
        try
        {
            await controller.Run(services, term).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (term.IsCancellationRequested)
        {
        }

        Log.ControllerStopped(logger, controller.Name);
    }
}
