using System.Diagnostics.Metrics;
using KubeConsistency.Client;
using Microsoft.Extensions.Logging;

namespace KubeConsistency.Informers;

/// <summary>Options for <see cref="SharedInformerFactory"/> (immutable; copied when the factory is created).</summary>
public sealed record SharedInformerFactoryOptions
{
    /// <summary>The informer name: the <c>name</c> label of every informer metric (Go: <c>WithInformerName</c>). Default <c>kubeconsistency</c>.</summary>
    public string InformerName { get; init; } = "kubeconsistency";

    /// <summary>The default resync period of the informers' handlers; zero disables resync.</summary>
    public TimeSpan DefaultResyncPeriod { get; init; }

    /// <summary>The clock for every informer.</summary>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>Where informers log.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>The application's meter factory; <see langword="null"/> uses the static meter.</summary>
    public IMeterFactory? MeterFactory { get; init; }
}

/// <summary>
/// Shares one informer per resource type (and scope) across a process's controllers (Go:
/// <c>SharedInformerFactory</c>), starts them together and stops them together.
/// </summary>
public sealed class SharedInformerFactory : IAsyncDisposable
{
    private readonly SharedInformerFactoryOptions _options;
    private readonly Lock _lock = new();
    private readonly Dictionary<(Type Type, GroupVersionResource Resource, string Scope), object> _informers = [];
    private readonly Dictionary<object, Task> _running = [];
    private readonly CancellationTokenSource _stop = new();
    private bool _disposing;

    /// <summary>Creates the factory.</summary>
    /// <param name="options">Options; <see langword="null"/> for defaults.</param>
    public SharedInformerFactory(SharedInformerFactoryOptions? options = null)
    {
        _options = (options ?? new SharedInformerFactoryOptions()) with { };
        ArgumentException.ThrowIfNullOrEmpty(_options.InformerName, $"{nameof(SharedInformerFactoryOptions)}.{nameof(SharedInformerFactoryOptions.InformerName)}");
        if (_options.DefaultResyncPeriod < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.DefaultResyncPeriod, $"{nameof(SharedInformerFactoryOptions)}.{nameof(SharedInformerFactoryOptions.DefaultResyncPeriod)} must not be negative.");
        }
    }

    /// <summary>
    /// Returns the informer for <typeparamref name="T"/> over <paramref name="resource"/> in
    /// <paramref name="scope"/>, creating it on first use.
    /// </summary>
    /// <typeparam name="T">The object type.</typeparam>
    /// <param name="resource">The resource.</param>
    /// <param name="listWatch">Creates the list/watch source (called only when the informer is created, after <paramref name="configure"/>).</param>
    /// <param name="scope">Distinguishes informers over the same resource with different namespaces or selectors.</param>
    /// <param name="configure">Derives the informer's options from the factory's defaults (<c>o =&gt; o with { … }</c>) before it is created.</param>
    public ISharedIndexInformer<T> GetOrAdd<T>(GroupVersionResource resource, Func<IListWatch<T>> listWatch, string scope = "", Func<SharedIndexInformerOptions<T>, SharedIndexInformerOptions<T>>? configure = null)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(listWatch);
        ObjectDisposedException.ThrowIf(_stop.IsCancellationRequested, this);
        lock (_lock)
        {
            var key = (typeof(T), resource, scope ?? string.Empty);
            if (_informers.TryGetValue(key, out var existing))
            {
                return (ISharedIndexInformer<T>)existing;
            }

            var options = new SharedIndexInformerOptions<T>
            {
                Name = _options.InformerName,
                Resource = resource,
                DefaultResyncPeriod = _options.DefaultResyncPeriod,
                TimeProvider = _options.TimeProvider,
                LoggerFactory = _options.LoggerFactory,
                MeterFactory = _options.MeterFactory,
            };
            options = configure?.Invoke(options) ?? options;
            var informer = SharedIndexInformer.Create(listWatch(), options);
            _informers[key] = informer;
            return informer;
        }
    }

    /// <summary>Returns the informer over a resource client's resource, creating it on first use.</summary>
    /// <typeparam name="T">The object type.</typeparam>
    /// <param name="client">The resource client (its namespace and selectors should match <paramref name="scope"/>).</param>
    /// <param name="scope">Distinguishes informers over the same resource with different namespaces or selectors.</param>
    /// <param name="configure">Derives the informer's options from the factory's defaults (<c>o =&gt; o with { … }</c>) before it is created.</param>
    public ISharedIndexInformer<T> GetOrAdd<T>(IResourceClient<T> client, string scope = "", Func<SharedIndexInformerOptions<T>, SharedIndexInformerOptions<T>>? configure = null)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(client);
        return GetOrAdd(client.Resource, () => client, scope, configure);
    }

    /// <summary>Starts every informer not started yet (idempotent; call again after adding informers).</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_stop.IsCancellationRequested, this);
        lock (_lock)
        {
            foreach (var informer in _informers.Values)
            {
                if (!_running.ContainsKey(informer))
                {
                    _running[informer] = Run(informer, _stop.Token);
                }
            }
        }
    }

    /// <summary>Waits until every started informer has synced.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public Task WaitForCacheSyncAsync(CancellationToken cancellationToken = default)
    {
        List<Task> waits;
        lock (_lock)
        {
            waits = [.. _running.Keys.Select(i => WaitForSync(i, cancellationToken))];
        }

        return Task.WhenAll(waits);
    }

    /// <summary>Stops every informer and waits until all of them have finished.</summary>
    public async ValueTask DisposeAsync()
    {
        Task[] running;
        lock (_lock)
        {
            if (_stop.IsCancellationRequested || _disposing)
            {
                return;
            }

            _disposing = true;

            running = [.. _running.Values];
        }

        await _stop.CancelAsync().ConfigureAwait(false);

        await Task.WhenAll(running).ConfigureAwait(false);
        _stop.Dispose();
    }

    private static Task Run(object informer, CancellationToken cancellationToken) => ((IRunnableInformer)informer).RunAsync(cancellationToken);

    private static Task WaitForSync(object informer, CancellationToken cancellationToken) => ((IRunnableInformer)informer).WaitForSyncAsync(cancellationToken);
}

/// <summary>The non-generic face of an informer, for the factory.</summary>
internal interface IRunnableInformer
{
    Task RunAsync(CancellationToken cancellationToken);

    Task WaitForSyncAsync(CancellationToken cancellationToken);
}
