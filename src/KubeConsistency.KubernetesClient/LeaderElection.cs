using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeConsistency.KubernetesClient;

/// <summary>Options for <see cref="LeaderElection.RunAsync"/>: the Lease and KubernetesClient's election timings.</summary>
public sealed class LeaderElectionOptions
{
    /// <summary>The Lease's namespace.</summary>
    public required string LeaseNamespace { get; init; }

    /// <summary>The Lease's name (one per controller set that must not run twice, e.g. <c>my-operator</c>).</summary>
    public required string LeaseName { get; init; }

    /// <summary>This replica's identity in <c>spec.holderIdentity</c>; default: the host name and a random suffix.</summary>
    public string Identity { get; init; } = Environment.MachineName + "_" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>How long a standby waits after it last saw the Lease change before taking it (client-go default 15 s).</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long the leader keeps retrying a renewal before it gives up leading (default 10 s; less than <see cref="LeaseDuration"/>).</summary>
    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The wait between attempts to acquire or renew (default 2 s).</summary>
    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// After leading ends because this replica stops (cancellation, or the leading work returned), shorten the Lease to
    /// one second so a standby takes over at once instead of after <see cref="LeaseDuration"/> (client-go:
    /// <c>ReleaseOnCancel</c>). Default <see langword="true"/>. Never done after the Lease was lost.
    /// </summary>
    public bool ReleaseOnStop { get; init; } = true;

    /// <summary>Where the election logs; <see langword="null"/> logs nothing.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(LeaseNamespace, nameof(LeaseNamespace));
        ArgumentException.ThrowIfNullOrEmpty(LeaseName, nameof(LeaseName));
        ArgumentException.ThrowIfNullOrEmpty(Identity, nameof(Identity));
        if (LeaseDuration < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(LeaseDuration), LeaseDuration, $"{nameof(LeaseDuration)} must be at least 1 s (the Lease stores whole seconds).");
        }

        if (RenewDeadline <= TimeSpan.Zero || RenewDeadline >= LeaseDuration)
        {
            throw new ArgumentOutOfRangeException(nameof(RenewDeadline), RenewDeadline, $"{nameof(RenewDeadline)} must be positive and shorter than {nameof(LeaseDuration)}.");
        }

        if (RetryPeriod <= TimeSpan.Zero || RetryPeriod >= RenewDeadline)
        {
            throw new ArgumentOutOfRangeException(nameof(RetryPeriod), RetryPeriod, $"{nameof(RetryPeriod)} must be positive and shorter than {nameof(RenewDeadline)}.");
        }
    }
}

/// <summary>
/// Runs work only while this replica holds a <c>coordination.k8s.io/v1</c> Lease, with KubernetesClient's own
/// <see cref="LeaderElector"/> and <see cref="LeaseLock"/>.
/// </summary>
/// <remarks>
/// Each term (from acquiring the Lease to losing it) calls the leading delegate once with a token that is cancelled the
/// moment leadership is lost — a missed renewal deadline, another holder — or the caller cancels. The delegate should
/// build its controllers afresh per term (work queues do not restart) and return promptly when its token is cancelled;
/// the next term starts only after it returned. Informers can stay warm across terms, so a new leader acts on a current
/// cache. KubernetesClient's elector reads the wall clock, not a <see cref="TimeProvider"/>.
/// </remarks>
public static partial class LeaderElection
{
    /// <summary>
    /// Campaigns for the Lease until <paramref name="cancellationToken"/> is cancelled, running <paramref name="whileLeading"/>
    /// during every term this replica leads.
    /// </summary>
    /// <param name="client">The client for the Lease.</param>
    /// <param name="options">The Lease and the election timings.</param>
    /// <param name="whileLeading">The work; its token is cancelled when this term ends.</param>
    /// <param name="cancellationToken">Stops campaigning (and leading).</param>
    /// <returns>Completes when cancelled and the last term's work has returned; faults with the work's exception if it threw.</returns>
    public static async Task RunAsync(IKubernetes client, LeaderElectionOptions options, Func<CancellationToken, Task> whileLeading, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(whileLeading);
        options.Validate();
        var logger = options.LoggerFactory?.CreateLogger("KubeConsistency.KubernetesClient.LeaderElection") ?? NullLogger.Instance;
        var leaseLock = new LeaseLock(client, options.LeaseNamespace, options.LeaseName, options.Identity);
        while (!cancellationToken.IsCancellationRequested)
        {
            var outcome = await RunTermAsync(leaseLock, options, whileLeading, logger, cancellationToken).ConfigureAwait(false);
            if (outcome.Stopped && options.ReleaseOnStop)
            {
                // A lock of its own: KubernetesClient's elector can leave a renewal in flight after cancellation, and a
                // LeaseLock caches the object it last read, so sharing one would let that renewal swap the cached object.
                var releaseLock = new LeaseLock(client, options.LeaseNamespace, options.LeaseName, options.Identity);
                using var timeout = new CancellationTokenSource(ReleaseTimeout);
                await ReleaseAsync(releaseLock, logger, timeout.Token).ConfigureAwait(false);
            }

            outcome.Failure?.Throw();
            if (outcome.Stopped)
            {
                return;
            }
        }
    }

    private static async Task<TermOutcome> RunTermAsync(LeaseLock leaseLock, LeaderElectionOptions options, Func<CancellationToken, Task> whileLeading, ILogger logger, CancellationToken cancellationToken)
    {
        // One token per term: cancelling it ends the work and also the elector's background renewal, which
        // KubernetesClient leaves running after a missed deadline.
        using var term = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var elector = new LeaderElector(new LeaderElectionConfig(leaseLock)
        {
            LeaseDuration = options.LeaseDuration,
            RenewDeadline = options.RenewDeadline,
            RetryPeriod = options.RetryPeriod,
        });
        Task? leading = null;
        var workEndedWhileLeading = false;
        elector.OnStartedLeading += () =>
        {
            LogStartedLeading(logger, options.Identity, options.LeaseNamespace, options.LeaseName);

            // The elector calls this inline and renews only after it returns: start the work elsewhere.
            leading = Task.Run(
                async () =>
                {
                    try
                    {
                        await whileLeading(term.Token).ConfigureAwait(false);
                    }
                    finally
                    {
                        // Work that ends (or fails) while still leading ends the term: stop renewing, step down.
                        if (!term.IsCancellationRequested)
                        {
                            Volatile.Write(ref workEndedWhileLeading, true);
                            await term.CancelAsync().ConfigureAwait(false);
                        }
                    }
                },
                CancellationToken.None);
        };
        elector.OnStoppedLeading += () =>
        {
            LogStoppedLeading(logger, options.Identity, options.LeaseNamespace, options.LeaseName);
            term.Cancel();
        };
        elector.OnError += error => LogElectionError(logger, options.LeaseNamespace, options.LeaseName, error);

        try
        {
            await elector.RunUntilLeadershipLostAsync(term.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (term.IsCancellationRequested)
        {
            // Cancelled by the caller, or the work ended while leading.
        }

        await term.CancelAsync().ConfigureAwait(false);
        if (leading is null)
        {
            return new TermOutcome(Stopped: cancellationToken.IsCancellationRequested, Failure: null);
        }

        try
        {
            await leading.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (term.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            return new TermOutcome(Stopped: true, System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex));
        }

        // The work returning on its own while still leading means this replica is done leading.
        return new TermOutcome(Stopped: cancellationToken.IsCancellationRequested || Volatile.Read(ref workEndedWhileLeading), Failure: null);
    }

    private static readonly TimeSpan ReleaseTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How many read-then-update rounds a release tries; a failed update is almost always a 409 from a renewal that was still in flight.</summary>
    internal const int ReleaseAttempts = 5;

    /// <summary>Shortens the Lease to one second if this replica still holds it, re-reading after a failed update.</summary>
    /// <returns><see langword="true"/> when the Lease was shortened or is no longer ours; <see langword="false"/> when every attempt failed (logged).</returns>
    internal static async Task<bool> ReleaseAsync(ILock leaseLock, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            for (var attempt = 1; attempt <= ReleaseAttempts; attempt++)
            {
                var record = await leaseLock.GetAsync(cancellationToken).ConfigureAwait(false);
                if (record?.HolderIdentity != leaseLock.Identity)
                {
                    return true;
                }

                // KubernetesClient's elector treats a Lease without a holder as missing (it tries to create it and gets
                // 409), so the holder stays and the Lease is shortened instead: a standby takes over one second after it
                // sees this.
                record.LeaseDurationSeconds = 1;
                record.RenewTime = DateTime.UtcNow;

                // The lock reports a rejected update (409 after a concurrent renewal, or any HTTP error) as false.
                if (await leaseLock.UpdateAsync(record, cancellationToken).ConfigureAwait(false))
                {
                    return true;
                }
            }

            LogReleaseFailed(logger, ReleaseAttempts, null);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogReleaseFailed(logger, ReleaseAttempts, ex);
        }

        return false;
    }

    private readonly record struct TermOutcome(bool Stopped, System.Runtime.ExceptionServices.ExceptionDispatchInfo? Failure);

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Identity} started leading (Lease {Namespace}/{Name})")]
    private static partial void LogStartedLeading(ILogger logger, string identity, string @namespace, string name);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "{Identity} stopped leading (Lease {Namespace}/{Name})")]
    private static partial void LogStoppedLeading(ILogger logger, string identity, string @namespace, string name);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Leader election on Lease {Namespace}/{Name} failed an attempt")]
    private static partial void LogElectionError(ILogger logger, string @namespace, string name, Exception error);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Releasing the Lease failed (up to {Attempts} attempts); a standby takes over when it expires")]
    private static partial void LogReleaseFailed(ILogger logger, int attempts, Exception? error);
}
