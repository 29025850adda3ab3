using System.Diagnostics;
using System.Globalization;
using System.Text;
using KubeConsistency.Testing.ApiServer;

namespace KubeConsistency.Testing.Scenarios;

/// <summary>Options for <see cref="ScenarioRunner"/>; copied when the runner is created.</summary>
public sealed record ScenarioRunnerOptions
{
    /// <summary>The server every case writes to (each case in a namespace of its own); one server serves many cases.</summary>
    public required EmbeddedApiServer Server { get; init; }

    /// <summary>The informers each case creates and feeds as its schedule says; schedules name them.</summary>
    public required IReadOnlyList<ScenarioInformer> Informers { get; init; }

    /// <summary>Builds the controller under test for one case, from the case's informers, clock and namespace.</summary>
    public required Func<ScenarioContext, ScenarioController> Controller { get; init; }

    /// <summary>The user's invariants (the built-in ones are always checked).</summary>
    public IReadOnlyList<ScenarioInvariant> Invariants { get; init; } = [];

    /// <summary>Writes made before the informers start (their initial list sees them).</summary>
    public IReadOnlyList<ClusterOperation> Setup { get; init; } = [];

    /// <summary>
    /// How far the final phase may advance the controller's clock, one due timer at a time, to let requeues and retries run
    /// (default 15 minutes: past the work queue's longest per-item backoff that a few dozen steps can build up).
    /// </summary>
    public TimeSpan ConvergenceHorizon { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>The most rounds of "deliver everything, run due timers" in the final phase (default 200).</summary>
    public int MaxConvergenceRounds { get; init; } = 200;

    /// <summary>
    /// The longest real time a case may take to go quiet after one step (default 30 s). A case that does not is reported
    /// with what was still busy: a hang is a finding, never a stuck test.
    /// </summary>
    public TimeSpan QuiescenceTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Whether the informers list and watch the embedded server over HTTP (each informer needs its <c>overHttp</c> list-watch):
    /// deliveries release events the server holds back, disconnects and relists end the server's watch streams (a relist after
    /// compacting its history). Bookmarks come from the server's own timer, and a relist cannot be served behind the newest
    /// writes; those steps say so in the trace. Default <see langword="false"/>: informers are fed straight from the server's
    /// history, which is faster and can do everything.
    /// </summary>
    public bool OverHttp { get; init; }

    /// <summary>The controller clock's start (default 2026-01-01T00:00:00Z): fixed, so replays see the same times.</summary>
    public DateTimeOffset Start { get; init; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Server, nameof(Server));
        ArgumentNullException.ThrowIfNull(Informers, nameof(Informers));
        ArgumentNullException.ThrowIfNull(Controller, nameof(Controller));
        ArgumentNullException.ThrowIfNull(Invariants, nameof(Invariants));
        ArgumentNullException.ThrowIfNull(Setup, nameof(Setup));
        if (Informers.Count == 0 || Informers.Any(i => i is null))
        {
            throw new ArgumentException($"{nameof(ScenarioRunnerOptions)}.{nameof(Informers)} needs at least one informer and no null entries.", nameof(Informers));
        }

        if (OverHttp && Informers.FirstOrDefault(i => !i.SupportsHttp) is { } noHttp)
        {
            throw new ArgumentException($"{nameof(ScenarioRunnerOptions)}.{nameof(OverHttp)} needs every informer's overHttp list-watch; \"{noHttp.Name}\" has none.", nameof(OverHttp));
        }

        if (Informers.Select(i => i.Name).Distinct(StringComparer.Ordinal).Count() != Informers.Count)
        {
            throw new ArgumentException($"{nameof(ScenarioRunnerOptions)}.{nameof(Informers)} names must be unique.", nameof(Informers));
        }

        if (ConvergenceHorizon < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ConvergenceHorizon), ConvergenceHorizon, $"{nameof(ScenarioRunnerOptions)}.{nameof(ConvergenceHorizon)} must not be negative.");
        }

        if (MaxConvergenceRounds < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConvergenceRounds), MaxConvergenceRounds, $"{nameof(ScenarioRunnerOptions)}.{nameof(MaxConvergenceRounds)} must be at least 1.");
        }

        if (QuiescenceTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(QuiescenceTimeout), QuiescenceTimeout, $"{nameof(ScenarioRunnerOptions)}.{nameof(QuiescenceTimeout)} must be positive.");
        }
    }
}

/// <summary>The outcome of one case.</summary>
public sealed class ScenarioResult
{
    internal ScenarioResult(ScenarioSchedule schedule, string @namespace, IReadOnlyList<ScenarioViolation> violations, IReadOnlyList<string> trace)
    {
        Schedule = schedule;
        Namespace = @namespace;
        Violations = violations;
        Trace = trace;
    }

    /// <summary>The schedule that was run.</summary>
    public ScenarioSchedule Schedule { get; }

    /// <summary>The case's namespace on the server (inspect it with kubectl while the server runs).</summary>
    public string Namespace { get; }

    /// <summary>Every broken invariant, in the order found.</summary>
    public IReadOnlyList<ScenarioViolation> Violations { get; }

    /// <summary>What each step did (no-ops say why).</summary>
    public IReadOnlyList<string> Trace { get; }

    /// <summary>Whether every invariant held.</summary>
    public bool Passed => Violations.Count == 0;

    /// <inheritdoc/>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.AppendLine(Passed ? "passed" : $"{Violations.Count.ToString(CultureInfo.InvariantCulture)} violation(s):");
        foreach (var v in Violations.Take(10))
        {
            text.Append("  ").AppendLine(v.ToString());
        }

        text.AppendLine(Schedule.ToString());
        text.AppendLine("trace:");
        foreach (var line in Trace)
        {
            text.Append("  ").AppendLine(line);
        }

        return text.ToString();
    }
}

/// <summary>
/// Plays <see cref="ScenarioSchedule"/>s against a user's controller: each case gets a fresh namespace on the embedded server,
/// fresh informers fed straight from the server's history as the schedule says, a fresh controller on a manual clock. After
/// every step the runner waits (on explicit conditions, never a fixed time) until nothing can happen without the next step,
/// then checks the invariants; at the end it delivers everything, runs the clock through due requeues, and checks that the
/// caches converged to the server plus the user's eventual invariants.
/// </summary>
/// <remarks>
/// Built-in invariants: the informers' stores converge to the server; <c>LastStoreSyncResourceVersion</c> never decreases; no
/// handler sees a half-applied relist; <c>EnsureReady</c> never reports ready while a recorded write is unobserved (for stores
/// wrapped with <see cref="ScenarioContext.ObserveConsistency"/>). The same schedule gives the same run: the controller's clock
/// moves only on <see cref="TickStep"/>s and in the final phase, and every delivery is the schedule's; run the controller with one
/// worker so that reconciles of different keys do not race each other.
/// </remarks>
public sealed class ScenarioRunner
{
    // Process-wide, so that runners sharing a server never reuse a namespace.
    private static int s_namespaces;
    private readonly ScenarioRunnerOptions _options;
    private int _cases;

    /// <summary>Creates a runner.</summary>
    /// <param name="options">The options (copied).</param>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public ScenarioRunner(ScenarioRunnerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options with { Informers = [.. options.Informers], Invariants = [.. options.Invariants], Setup = [.. options.Setup] };
    }

    /// <summary>How many cases this runner has run.</summary>
    public int CasesRun => Volatile.Read(ref _cases);

    /// <summary>Runs one case to the end (blocking; for FsCheck properties).</summary>
    /// <param name="schedule">The schedule.</param>
    public ScenarioResult Run(ScenarioSchedule schedule) => Task.Run(() => RunAsync(schedule)).GetAwaiter().GetResult();

    /// <summary>Runs one case to the end.</summary>
    /// <param name="schedule">The schedule.</param>
    /// <param name="cancellationToken">Abandons the case.</param>
    public async Task<ScenarioResult> RunAsync(ScenarioSchedule schedule, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        Interlocked.Increment(ref _cases);
        var n = Interlocked.Increment(ref s_namespaces);
        var scenario = new ScenarioCase(_options.Server, "case-" + n.ToString(CultureInfo.InvariantCulture), _options.Start);
        var trace = new List<string>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task controllerRun = Task.CompletedTask;
        ScenarioController? controller = null;
        try
        {
            foreach (var op in _options.Setup)
            {
                trace.Add($"setup: {op}{Note(op.Apply(scenario.Cluster))}");
            }

            foreach (var definition in _options.Informers)
            {
                scenario.Add(definition.CreateFeed(scenario, schedule.UseWatchList, _options.OverHttp));
            }

            foreach (var feed in scenario.Feeds)
            {
                feed.Start(stop.Token);
            }

            await SettleAsync(scenario, stop.Token).ConfigureAwait(false);
            EndRelistChecks(scenario);
            controller = _options.Controller(new ScenarioContext(scenario, stop.Token)) ?? throw new InvalidOperationException("The controller factory returned null.");
            scenario.Controller = controller.Controller;
            controllerRun = (controller.Run ?? controller.Controller.RunAsync)(stop.Token);
            await SettleAsync(scenario, stop.Token).ConfigureAwait(false);
            CheckAlways(scenario);

            for (var i = 0; i < schedule.Steps.Count; i++)
            {
                scenario.Step = i + 1;
                var step = schedule.Steps[i];
                string? note;
                if (step is DeliverStep deliver)
                {
                    // One event at a time, each handled and reconciled before the next: a burst would let the worker race the
                    // handlers (one sync or two for the same key), and the same schedule must give the same run.
                    note = await DeliverOneByOneAsync(scenario, deliver, stop.Token).ConfigureAwait(false);
                }
                else
                {
                    note = Apply(scenario, step);
                }

                trace.Add($"{(i + 1).ToString(CultureInfo.InvariantCulture),3}. {step}{Note(note)}");
                await SettleAsync(scenario, stop.Token).ConfigureAwait(false);
                EndRelistChecks(scenario);
                CheckAlways(scenario);
            }

            scenario.Step = schedule.Steps.Count + 1;
            trace.Add("end: " + await ConvergeAsync(scenario, stop.Token).ConfigureAwait(false));
            foreach (var feed in scenario.Feeds)
            {
                scenario.Report(feed.CompareWithServer(), "the caches converge to the server");
            }

            Check(scenario, _options.Invariants.Where(i => i.AtEndOnly), isFinal: true);
        }
        catch (ScenarioStuckException ex)
        {
            scenario.Report(ex.Message, "the case goes quiet after each step");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            scenario.Report(ex.ToString(), "the case runs");
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await Finish(controllerRun, scenario, trace).ConfigureAwait(false);
            controller?.Resources?.Dispose();
            foreach (var feed in scenario.Feeds)
            {
                feed.Release();
            }
        }

        return new ScenarioResult(schedule, scenario.Cluster.Namespace, scenario.Violations, trace);
    }

    private static string Note(string? note) => note is null ? "" : $"  ({note})";

    private static string? Apply(ScenarioCase scenario, ScenarioStep step) => step switch
    {
        ApplyStep apply => apply.Operation.Apply(scenario.Cluster),
        DeliverStep deliver => scenario.Feed(deliver.Informer).Deliver(deliver.Count),
        BookmarkStep bookmark => scenario.Feed(bookmark.Informer).Bookmark(),
        DisconnectStep disconnect => scenario.Feed(disconnect.Informer).Disconnect(disconnect.RepeatLast),
        RelistStep relist => scenario.Feed(relist.Informer).Relist(relist.Behind),
        TickStep tick => Advance(scenario, tick.Duration),
        _ => throw new ArgumentException($"Unknown step {step.GetType().Name}.", nameof(step)),
    };

    private async Task<string?> DeliverOneByOneAsync(ScenarioCase scenario, DeliverStep step, CancellationToken cancellationToken)
    {
        var feed = scenario.Feed(step.Informer);
        var count = step.Count <= 0 ? int.MaxValue : step.Count;
        string? note = null;
        for (var delivered = 0; delivered < count; delivered++)
        {
            note = feed.Deliver(1);
            if (note is not null)
            {
                return delivered == 0 ? note : null;
            }

            await SettleAsync(scenario, cancellationToken).ConfigureAwait(false);
        }

        return note;
    }

    private static string? Advance(ScenarioCase scenario, TimeSpan duration)
    {
        scenario.Time.Advance(duration < TimeSpan.Zero ? TimeSpan.Zero : duration);
        return null;
    }

    /// <summary>Deliver everything, run due timers, repeat until nothing is pending and no timer is due within the horizon.</summary>
    private async Task<string> ConvergeAsync(ScenarioCase scenario, CancellationToken cancellationToken)
    {
        var advanced = TimeSpan.Zero;
        for (var round = 0; round < _options.MaxConvergenceRounds; round++)
        {
            var delivered = false;
            foreach (var feed in scenario.Feeds)
            {
                while (feed.PendingCount > 0)
                {
                    feed.Deliver(1);
                    delivered = true;
                    await SettleAsync(scenario, cancellationToken).ConfigureAwait(false);
                }
            }

            await SettleAsync(scenario, cancellationToken).ConfigureAwait(false);
            if (delivered)
            {
                continue;
            }

            if (scenario.Time.NextDueIn is { } due && advanced + due <= _options.ConvergenceHorizon)
            {
                var step = due < TimeSpan.Zero ? TimeSpan.Zero : due;
                scenario.Time.Advance(step);
                advanced += step;
                await SettleAsync(scenario, cancellationToken).ConfigureAwait(false);
                continue;
            }

            return $"quiet after {round.ToString(CultureInfo.InvariantCulture)} round(s), clock +{advanced.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s";
        }

        scenario.Report($"still busy after {_options.MaxConvergenceRounds} rounds (clock +{advanced.TotalSeconds:0.###} s): {scenario.Describe()}", "the controller converges");
        return "did not converge";
    }

    /// <summary>
    /// Waits until <see cref="ScenarioCase.IsQuiescent"/>: woken by the feeds' signals, re-checked at least every millisecond for
    /// what signals nothing (handlers returning, the queue emptying). The wait is on conditions; the millisecond is a poll interval.
    /// </summary>
    private async Task SettleAsync(ScenarioCase scenario, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var spins = 0;
        while (!scenario.IsQuiescent())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (Stopwatch.GetElapsedTime(started) > _options.QuiescenceTimeout)
            {
                throw new ScenarioStuckException($"not quiet {_options.QuiescenceTimeout.TotalSeconds:0.#} s after step {scenario.Step}: {scenario.Describe()}");
            }

            if (++spins < 32)
            {
                await Task.Yield();
            }
            else
            {
                await Task.WhenAny(scenario.Changed, Task.Delay(1, CancellationToken.None)).ConfigureAwait(false);
            }
        }
    }

    private static void EndRelistChecks(ScenarioCase scenario)
    {
        foreach (var feed in scenario.Feeds)
        {
            feed.EndRelistCheck();
        }
    }

    private void CheckAlways(ScenarioCase scenario)
    {
        scenario.CheckStoreResourceVersions();
        Check(scenario, _options.Invariants.Where(i => !i.AtEndOnly), isFinal: false);
    }

    private static void Check(ScenarioCase scenario, IEnumerable<ScenarioInvariant> invariants, bool isFinal)
    {
        var state = new ScenarioState(scenario, scenario.Step, isFinal);
        foreach (var invariant in invariants)
        {
            string? message;
            try
            {
                message = invariant.Check(state);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                message = $"the check threw {ex.GetType().Name}: {ex.Message}";
            }

            scenario.Report(message, invariant.Name);
        }
    }

    private static async Task Finish(Task controllerRun, ScenarioCase scenario, List<string> trace)
    {
        var all = scenario.Feeds.Select(f => f.Run).Append(controllerRun).ToArray();
        var finished = Task.WhenAll(all);
        if (await Task.WhenAny(finished, Task.Delay(TimeSpan.FromSeconds(30), CancellationToken.None)).ConfigureAwait(false) != finished)
        {
            scenario.Report("the controller or an informer did not stop within 30 s of cancellation", "the case stops");
            return;
        }

        if (finished.Exception is { } failure)
        {
            trace.Add("stopped with " + failure.GetBaseException().Message);
        }
    }
}

/// <summary>A case did not go quiet in time.</summary>
internal sealed class ScenarioStuckException(string message) : Exception(message);
