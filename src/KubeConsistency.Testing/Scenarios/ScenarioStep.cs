using System.Globalization;

namespace KubeConsistency.Testing.Scenarios;

/// <summary>
/// One step of a <see cref="ScenarioSchedule"/>: a write by another client, or something that decides what one informer sees
/// and when (delivery, a bookmark, a disconnect, a 410 and relist), or the clock moving. The controller under test runs
/// between steps until nothing more can happen without the next one.
/// </summary>
public abstract record ScenarioStep
{
    private protected ScenarioStep()
    {
    }
}

/// <summary>Another client (a user, the scheduler, the kubelet…) writes to the cluster.</summary>
/// <param name="Operation">The write.</param>
public sealed record ApplyStep(ClusterOperation Operation) : ScenarioStep
{
    /// <inheritdoc/>
    public override string ToString() => Operation.ToString();
}

/// <summary>
/// The informer's watch delivers its next <paramref name="Count"/> pending events in order (0 or less: every pending event).
/// Events not delivered are the informer's lag: its cache is that far behind the server.
/// </summary>
/// <param name="Informer">The informer's name.</param>
/// <param name="Count">How many events; 0 or less for all.</param>
public sealed record DeliverStep(string Informer, int Count = 0) : ScenarioStep
{
    /// <inheritdoc/>
    public override string ToString() => Count <= 0 ? $"deliver {Informer} (all pending)" : $"deliver {Informer} ×{Count.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>
/// The informer's watch sends a bookmark at the newest resource version it may (the server's current one when nothing is
/// pending for this informer, else just before the first pending event): its store's resource version advances without a change.
/// </summary>
/// <param name="Informer">The informer's name.</param>
public sealed record BookmarkStep(string Informer) : ScenarioStep
{
    /// <inheritdoc/>
    public override string ToString() => $"bookmark {Informer}";
}

/// <summary>
/// The informer's watch ends cleanly (a server timeout, a load balancer, a restart); the reflector resumes from its last
/// resource version. With <paramref name="RepeatLast"/> the resumed watch first repeats the last event the informer already
/// had (at-least-once delivery at the resume point; a compliant server never sends anything older).
/// </summary>
/// <param name="Informer">The informer's name.</param>
/// <param name="RepeatLast">Whether the resumed watch repeats the last delivered event.</param>
public sealed record DisconnectStep(string Informer, bool RepeatLast = false) : ScenarioStep
{
    /// <inheritdoc/>
    public override string ToString() => RepeatLast ? $"disconnect {Informer}, resume repeating its last event" : $"disconnect {Informer}, resume";
}

/// <summary>
/// The informer's watch fails with 410 Gone and its resource version is compacted away, so the reflector relists. With
/// <paramref name="Behind"/> &gt; 0 the list is served as of that many events before the newest (never older than what the
/// informer already has): the writes after it race the relist and arrive on the following watch.
/// </summary>
/// <param name="Informer">The informer's name.</param>
/// <param name="Behind">How many of the newest events the list does not include yet.</param>
public sealed record RelistStep(string Informer, int Behind = 0) : ScenarioStep
{
    /// <inheritdoc/>
    public override string ToString() => Behind > 0
        ? $"410 Gone on {Informer}: relist racing the newest {Behind.ToString(CultureInfo.InvariantCulture)} write(s)"
        : $"410 Gone on {Informer}: relist";
}

/// <summary>The controller's clock advances (due requeues, rate-limited retries and expectations timeouts fire).</summary>
/// <param name="Duration">How far.</param>
public sealed record TickStep(TimeSpan Duration) : ScenarioStep
{
    /// <inheritdoc/>
    public override string ToString() => $"clock +{Duration.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)} ms";
}

/// <summary>
/// A generated case: the steps, and whether the informers use watch-list (initial events streamed on the watch, ended by the
/// <c>k8s.io/initial-events-end</c> bookmark) instead of LIST then WATCH.
/// </summary>
/// <param name="Steps">The steps, in order.</param>
/// <param name="UseWatchList">Whether informers (re)list with watch-list.</param>
public sealed record ScenarioSchedule(IReadOnlyList<ScenarioStep> Steps, bool UseWatchList = false)
{
    /// <summary>Prints the schedule as numbered steps: the counterexample a failing property reports.</summary>
    public override string ToString()
    {
        var lines = new List<string>(Steps.Count + 1)
        {
            $"schedule of {Steps.Count.ToString(CultureInfo.InvariantCulture)} step(s), informers {(UseWatchList ? "on watch-list" : "on LIST+WATCH")}:",
        };
        for (var i = 0; i < Steps.Count; i++)
        {
            lines.Add($"  {(i + 1).ToString(CultureInfo.InvariantCulture),3}. {Steps[i]}");
        }

        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>Value equality over the steps (a record compares the list by reference).</summary>
    /// <param name="other">The other schedule.</param>
    public bool Equals(ScenarioSchedule? other) =>
        other is not null && UseWatchList == other.UseWatchList && Steps.SequenceEqual(other.Steps);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(UseWatchList);
        foreach (var step in Steps)
        {
            hash.Add(step);
        }

        return hash.ToHashCode();
    }
}
