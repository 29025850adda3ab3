using Microsoft.Extensions.Options;

namespace KubeConsistency.Hosting;

/// <summary>
/// The operator's settings, bound from the <c>KubeConsistency</c> configuration section and validated when the host starts
/// (a bad value fails start with a message naming it).
/// </summary>
public sealed class KubeConsistencyOptions
{
    /// <summary>The configuration section the options bind from.</summary>
    public const string SectionName = "KubeConsistency";

    /// <summary>
    /// A kubeconfig file to connect with; <see langword="null"/> uses KubernetesClient's default (the in-cluster service
    /// account inside a pod, else <c>$KUBECONFIG</c> or <c>~/.kube/config</c>). Ignored when the container already has an <c>IKubernetes</c>.
    /// </summary>
    public string? Kubeconfig { get; set; }

    /// <summary>The kubeconfig context; <see langword="null"/> for its current one.</summary>
    public string? Context { get; set; }

    /// <summary>Leader election: controllers run only on the replica holding the Lease.</summary>
    public LeaderElectionSettings LeaderElection { get; set; } = new();

    /// <summary>
    /// Liveness: a watch loop that made no progress (no event, bookmark or list) for this long is unhealthy. Keep it above
    /// the server's bookmark interval (about a minute on kube-apiserver); default 5 minutes.
    /// </summary>
    public TimeSpan WatchProgressBound { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>Leader election settings (KubernetesClient's <c>LeaderElector</c> over a <c>coordination.k8s.io</c> Lease).</summary>
public sealed class LeaderElectionSettings
{
    /// <summary>Whether controllers wait for the Lease (default <see langword="false"/>: one replica, always leading).</summary>
    public bool Enabled { get; set; }

    /// <summary>The Lease's name (required when enabled).</summary>
    public string? LeaseName { get; set; }

    /// <summary>The Lease's namespace (required when enabled).</summary>
    public string? LeaseNamespace { get; set; }

    /// <summary>This replica's identity; <see langword="null"/> for the machine name plus a random suffix.</summary>
    public string? Identity { get; set; }

    /// <summary>How long a Lease is valid without renewal (default 15 s, kube-controller-manager's).</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long the leader keeps trying to renew before it gives up leading (default 10 s).</summary>
    public TimeSpan RenewDeadline { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often candidates retry (default 2 s).</summary>
    public TimeSpan RetryPeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// On taking over, wait (at most this long) until every informer's store has applied the newest object a fresh LIST
    /// returns, before any controller runs: the new leader's consistency store knows nothing of the previous leader's writes,
    /// and a cache still lagging behind them would make it create again what the old leader just created. Zero turns it off
    /// (upstream's behaviour); default 30 s. After the bound the controllers start anyway, with a warning.
    /// </summary>
    public TimeSpan TakeoverCatchUpTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Checks <see cref="KubeConsistencyOptions"/> at start; every message names the setting.</summary>
internal sealed class KubeConsistencyOptionsValidator : IValidateOptions<KubeConsistencyOptions>
{
    public ValidateOptionsResult Validate(string? name, KubeConsistencyOptions options)
    {
        var failures = new List<string>();
        const string Le = KubeConsistencyOptions.SectionName + ":" + nameof(KubeConsistencyOptions.LeaderElection) + ":";
        if (options.WatchProgressBound <= TimeSpan.Zero)
        {
            failures.Add($"{KubeConsistencyOptions.SectionName}:{nameof(KubeConsistencyOptions.WatchProgressBound)} must be positive (was {options.WatchProgressBound}).");
        }

        if (options.Kubeconfig is { Length: > 0 } path && !File.Exists(path))
        {
            failures.Add($"{KubeConsistencyOptions.SectionName}:{nameof(KubeConsistencyOptions.Kubeconfig)} names a file that does not exist: {path}.");
        }

        var le = options.LeaderElection ?? new LeaderElectionSettings();
        if (le.Enabled)
        {
            if (string.IsNullOrWhiteSpace(le.LeaseName))
            {
                failures.Add($"{Le}{nameof(LeaderElectionSettings.LeaseName)} is required when leader election is enabled.");
            }

            if (string.IsNullOrWhiteSpace(le.LeaseNamespace))
            {
                failures.Add($"{Le}{nameof(LeaderElectionSettings.LeaseNamespace)} is required when leader election is enabled.");
            }

            if (le.TakeoverCatchUpTimeout < TimeSpan.Zero)
            {
                failures.Add($"{Le}{nameof(LeaderElectionSettings.TakeoverCatchUpTimeout)} must not be negative (was {le.TakeoverCatchUpTimeout}).");
            }

            if (le.RetryPeriod <= TimeSpan.Zero)
            {
                failures.Add($"{Le}{nameof(LeaderElectionSettings.RetryPeriod)} must be positive (was {le.RetryPeriod}).");
            }

            if (le.RenewDeadline <= le.RetryPeriod)
            {
                failures.Add($"{Le}{nameof(LeaderElectionSettings.RenewDeadline)} ({le.RenewDeadline}) must be longer than {nameof(LeaderElectionSettings.RetryPeriod)} ({le.RetryPeriod}).");
            }

            if (le.LeaseDuration <= le.RenewDeadline)
            {
                failures.Add($"{Le}{nameof(LeaderElectionSettings.LeaseDuration)} ({le.LeaseDuration}) must be longer than {nameof(LeaderElectionSettings.RenewDeadline)} ({le.RenewDeadline}).");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
