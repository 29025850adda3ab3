using KubeConsistency.Informers;

namespace KubeConsistency.Testing.Scenarios;

/// <summary>
/// Something that must hold in every case of a scenario: after every step (<see cref="Always"/>) or once the case has been
/// run to quiet and everything delivered (<see cref="Eventually"/>). A check returns <see langword="null"/> when it holds,
/// else what is wrong (printed with the step it failed at).
/// </summary>
public sealed class ScenarioInvariant
{
    private ScenarioInvariant(string name, bool atEndOnly, Func<ScenarioState, string?> check)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(check);
        Name = name;
        AtEndOnly = atEndOnly;
        Check = check;
    }

    /// <summary>The invariant's name, e.g. <c>never more than spec.replicas live pods</c>.</summary>
    public string Name { get; }

    /// <summary>Whether it is checked only at the end (converges) rather than after every step (safety).</summary>
    public bool AtEndOnly { get; }

    /// <summary>The check.</summary>
    public Func<ScenarioState, string?> Check { get; }

    /// <summary>A safety property: checked after every step, with the controller quiet.</summary>
    /// <param name="name">Its name.</param>
    /// <param name="check">Returns what is wrong, or <see langword="null"/>.</param>
    public static ScenarioInvariant Always(string name, Func<ScenarioState, string?> check) => new(name, false, check);

    /// <summary>A liveness property: checked once, after every pending event was delivered and the clock ran the controller to quiet.</summary>
    /// <param name="name">Its name.</param>
    /// <param name="check">Returns what is wrong, or <see langword="null"/>.</param>
    public static ScenarioInvariant Eventually(string name, Func<ScenarioState, string?> check) => new(name, true, check);
}

/// <summary>What an invariant sees: the server, the informers, the clock and where in the schedule the case is.</summary>
public sealed class ScenarioState
{
    private readonly ScenarioCase _case;

    internal ScenarioState(ScenarioCase scenario, int step, bool isFinal)
    {
        _case = scenario;
        Step = step;
        IsFinal = isFinal;
    }

    /// <summary>The server side, scoped to the case's namespace.</summary>
    public ScenarioCluster Cluster => _case.Cluster;

    /// <summary>The 1-based step just run (0: before the first step).</summary>
    public int Step { get; }

    /// <summary>Whether this is the final check, after convergence.</summary>
    public bool IsFinal { get; }

    /// <summary>The controller's clock now.</summary>
    public DateTimeOffset Now => _case.Time.GetUtcNow();

    /// <summary>The case's informer named <paramref name="name"/>.</summary>
    /// <typeparam name="T">Its object type.</typeparam>
    /// <param name="name">Its name.</param>
    public ISharedIndexInformer<T> Informer<T>(string name)
        where T : class => _case.Informer<T>(name);
}

/// <summary>One broken invariant.</summary>
/// <param name="Step">The 1-based step after which it was found (0: during start-up; the step count + 1: at the end).</param>
/// <param name="Invariant">The invariant's name.</param>
/// <param name="Message">What was wrong.</param>
public sealed record ScenarioViolation(int Step, string Invariant, string Message)
{
    /// <inheritdoc/>
    public override string ToString() => $"after step {Step}: {Invariant}: {Message}";
}
