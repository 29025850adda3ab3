using KubeConsistency.Consistency;
using KubeConsistency.Controllers;
using KubeConsistency.Informers;

namespace KubeConsistency.Testing.Scenarios;

/// <summary>What a controller under test is built from, once per case.</summary>
public sealed class ScenarioContext
{
    private readonly ScenarioCase _case;

    internal ScenarioContext(ScenarioCase scenario, CancellationToken stopping)
    {
        _case = scenario;
        Stopping = stopping;
    }

    /// <summary>The server side, scoped to the case's namespace (create the controller's clients for <see cref="Namespace"/>).</summary>
    public ScenarioCluster Cluster => _case.Cluster;

    /// <summary>The case's namespace.</summary>
    public string Namespace => _case.Cluster.Namespace;

    /// <summary>The controller's clock: give it to the controller, its queue and its gate. Steps advance it.</summary>
    public ManualTimeProvider Time => _case.Time;

    /// <summary>Cancelled when the case ends.</summary>
    public CancellationToken Stopping { get; }

    /// <summary>The case's informer named <paramref name="name"/> (already synced).</summary>
    /// <typeparam name="T">Its object type.</typeparam>
    /// <param name="name">Its name.</param>
    public ISharedIndexInformer<T> Informer<T>(string name)
        where T : class => _case.Informer<T>(name);

    /// <summary>
    /// Wraps the controller's consistency store so the runner checks that <c>EnsureReady</c> never reports ready while a write
    /// it recorded is unobserved by the informers. Use the result as the controller's store.
    /// </summary>
    /// <param name="store">The controller's store (<see cref="ConsistencyStore.Create(IEnumerable{KeyValuePair{GroupResource, ILastSyncResourceVersionGetter}})"/> or <see cref="ConsistencyStore.Noop"/>).</param>
    public IConsistencyStore ObserveConsistency(IConsistencyStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        return new ConsistencyObserver(store, _case);
    }
}

/// <summary>The controller under test, as a case's factory returns it.</summary>
public sealed class ScenarioController
{
    /// <summary>Its work-queue host: the runner waits for its queue to go quiet between steps.</summary>
    public required IController Controller { get; init; }

    /// <summary>Runs it until the token is cancelled; defaults to <see cref="IController.RunAsync(CancellationToken)"/>.</summary>
    public Func<CancellationToken, Task>? Run { get; init; }

    /// <summary>Disposed when the case ends (clients, loggers…).</summary>
    public IDisposable? Resources { get; init; }
}
