using System.Diagnostics.Metrics;
using KubeConsistency.Cache;
using KubeConsistency.Client;
using Microsoft.Extensions.Logging;

namespace KubeConsistency.Informers;

/// <summary>
/// A shared informer (Go: <c>SharedIndexInformer</c>): one reflector, one atomic FIFO and one indexed store
/// per resource, feeding any number of event handlers (upstream-semantics.md §3.4, §5).
/// </summary>
/// <typeparam name="T">The object type.</typeparam>
public interface ISharedIndexInformer<T>
    where T : class
{
    /// <summary>The informer's cache. Objects in it are shared: treat them as immutable.</summary>
    IIndexer<T> Indexer { get; }

    /// <summary>The resource this informer lists and watches.</summary>
    GroupVersionResource Resource { get; }

    /// <summary>Whether the initial list has been applied to the store (the FIFO's latch, §2.4).</summary>
    bool HasSynced { get; }

    /// <summary>
    /// The resource version the reflector has <em>received</em>; the store's applied version is
    /// <see cref="Consistency.ILastSyncResourceVersionGetter.LastStoreSyncResourceVersion"/> on <see cref="Indexer"/> (§4.3).
    /// </summary>
    string LastSyncResourceVersion { get; }

    /// <summary>What the reflector has done and which failures it recovered from.</summary>
    ReflectorStatistics Statistics { get; }

    /// <summary>Handler invocations that threw (logged and skipped).</summary>
    long HandlerFailures { get; }

    /// <summary>
    /// Completes once the store has applied <paramref name="resourceVersion"/> or a newer one (its
    /// <c>LastStoreSyncResourceVersion</c> compares at least as new, §6.1) — e.g. to read your own write
    /// through the cache. Bookmarks count: they advance the store's resource version too.
    /// </summary>
    /// <param name="resourceVersion">A well-formed resource version, typically returned by a write.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <exception cref="InvalidResourceVersionException"><paramref name="resourceVersion"/> is not well formed.</exception>
    Task WaitForStoreResourceVersionAsync(string resourceVersion, CancellationToken cancellationToken = default);

    /// <summary>Completes when <see cref="HasSynced"/> turns true; cancellable.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    Task WaitForSyncAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Adds a handler with its own unbounded buffer, so a slow handler never blocks others or the queue. A handler
    /// added after start first receives the current content as adds (<c>isInInitialList: true</c>).
    /// </summary>
    /// <param name="handler">The handler.</param>
    /// <param name="resyncPeriod">How often this handler wants every object re-delivered as an update; <see langword="null"/> uses the informer default, <see cref="TimeSpan.Zero"/> none.</param>
    /// <returns>The registration, which knows whether this handler has seen the initial list.</returns>
    IEventHandlerRegistration AddEventHandler(IResourceEventHandler<T> handler, TimeSpan? resyncPeriod = null);

    /// <summary>Stops delivering to a handler; notifications still buffered for it are dropped.</summary>
    /// <param name="registration">The registration returned by <see cref="AddEventHandler"/>.</param>
    void RemoveEventHandler(IEventHandlerRegistration registration);

    /// <summary>
    /// Runs the informer until <paramref name="cancellationToken"/> is cancelled, then stops cleanly: the
    /// reflector, the queue consumer and every handler task have finished when the returned task completes.
    /// </summary>
    /// <param name="cancellationToken">Stops the informer.</param>
    /// <exception cref="InvalidOperationException">The informer was already started.</exception>
    Task RunAsync(CancellationToken cancellationToken);
}

/// <summary>A handler registered on an informer.</summary>
public interface IEventHandlerRegistration
{
    /// <summary>Whether the informer has synced and this handler has processed every initial-list notification.</summary>
    bool HasSynced { get; }

    /// <summary>Completes when <see cref="HasSynced"/> turns true.</summary>
    Task Synced { get; }
}

/// <summary>
/// Options for <see cref="SharedIndexInformer.Create{T}"/>: immutable (derive variants with <c>with</c>), validated and
/// copied when the informer is created, so changing them afterwards cannot change a running informer.
/// </summary>
/// <typeparam name="T">The object type.</typeparam>
public sealed record SharedIndexInformerOptions<T>
    where T : class
{
    /// <summary>The informer name for logs and for the <c>name</c> label of the informer metrics; <see langword="null"/> disables metrics.</summary>
    public string? Name { get; init; }

    /// <summary>The resource, for metrics labels and logs.</summary>
    public GroupVersionResource Resource { get; init; }

    /// <summary>The resync period of handlers that do not ask for their own; zero disables resync.</summary>
    public TimeSpan DefaultResyncPeriod { get; init; }

    /// <summary>Index functions for the store; the namespace index (<see cref="Indexes.Namespace"/>) is always added, as in client-go's generated informers.</summary>
    public IReadOnlyDictionary<string, IndexFunc<T>>? Indexers { get; init; }

    /// <summary>Applied to every object before it enters the store (e.g. to strip managed fields).</summary>
    public Func<T, T>? Transform { get; init; }

    /// <summary>Reads object metadata; defaults to <see cref="ObjectMetadataAccessor{T}.Default"/>.</summary>
    public ObjectMetadataAccessor<T>? MetadataAccessor { get; init; }

    /// <summary>The <c>AtomicFIFO</c> gate (§1.1): atomic relists, bookmarks through the queue, store RV tracking.</summary>
    public bool AtomicFifo { get; init; } = FeatureGates.AtomicFifo;

    /// <summary>The <c>UnlockWhileProcessingFIFO</c> gate (only with <see cref="AtomicFifo"/>).</summary>
    public bool UnlockWhileProcessingFifo { get; init; } = FeatureGates.UnlockWhileProcessingFifo;

    /// <summary>The <c>InOrderInformersBatchProcess</c> gate: consume the FIFO in batches.</summary>
    public bool BatchProcessing { get; init; } = FeatureGates.InOrderInformersBatchProcess;

    /// <summary>The <c>WatchListClient</c> gate: prefer the streaming watch-list, falling back to LIST.</summary>
    public bool UseWatchList { get; init; } = FeatureGates.WatchListClient;

    /// <summary>The minimum watch timeout; each watch asks for a random timeout in [min, 2 × min] (§5.3). Default 5 minutes.</summary>
    public TimeSpan MinWatchTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The LIST page size (client-go's pager default: 500).</summary>
    public int ListPageSize { get; init; } = 500;

    /// <summary>The clock for backoff, timeouts, resync and latency; defaults to <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>Where to log; defaults to no logging.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// The longest one LIST page, or the gap between two initial events of a watch-list, may take before the request
    /// is abandoned, logged, counted (<see cref="ReflectorStatistics.Stalls"/>) and retried (default 60 s).
    /// </summary>
    public TimeSpan RequestProgressTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The longest a watch may deliver nothing, not even a bookmark, before it is abandoned and resumed from its last
    /// resource version (default 3 min: kube-apiserver sends a bookmark about once a minute to a watch that asked for
    /// them; never more than the watch's server-side timeout plus 60 s).
    /// </summary>
    public TimeSpan WatchProgressTimeout { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>The application's meter factory; <see langword="null"/> uses the static meter.</summary>
    public IMeterFactory? MeterFactory { get; init; }

    /// <summary>The source of jitter in [0, 1); tests make it deterministic.</summary>
    public Func<double>? Random { get; init; }

    /// <summary>The store key of an object; default <c>namespace/name</c> (Go: <c>MetaNamespaceKeyFunc</c>). Must be deterministic.</summary>
    public KeyFunc<T>? KeyFunction { get; init; }

    /// <summary>The reflector's first backoff after a failed list-and-watch cycle (client-go: 800 ms); it doubles, with up to 100 % jitter.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(800);

    /// <summary>The reflector's longest backoff (client-go: 30 s).</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Throws for an option no informer can run with, naming it.</summary>
    internal void Validate()
    {
        static void Positive(TimeSpan value, string name)
        {
            if (value <= TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
            {
                throw new ArgumentOutOfRangeException(name, value, $"{nameof(SharedIndexInformerOptions<T>)}.{name} must be positive.");
            }
        }

        if (DefaultResyncPeriod < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(DefaultResyncPeriod), DefaultResyncPeriod, $"{nameof(SharedIndexInformerOptions<T>)}.{nameof(DefaultResyncPeriod)} must not be negative (zero disables resync).");
        }

        if (ListPageSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ListPageSize), ListPageSize, $"{nameof(SharedIndexInformerOptions<T>)}.{nameof(ListPageSize)} must be positive.");
        }

        if (MinWatchTimeout < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(MinWatchTimeout), MinWatchTimeout, $"{nameof(SharedIndexInformerOptions<T>)}.{nameof(MinWatchTimeout)} must be at least 1 s (watch timeouts are whole seconds).");
        }

        Positive(RequestProgressTimeout, nameof(RequestProgressTimeout));
        Positive(WatchProgressTimeout, nameof(WatchProgressTimeout));
        Positive(InitialBackoff, nameof(InitialBackoff));
        if (MaxBackoff < InitialBackoff)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBackoff), MaxBackoff, $"{nameof(SharedIndexInformerOptions<T>)}.{nameof(MaxBackoff)} must not be shorter than {nameof(InitialBackoff)}.");
        }

        if (Indexers is not null && Indexers.Any(kv => string.IsNullOrEmpty(kv.Key) || kv.Value is null))
        {
            throw new ArgumentException($"{nameof(SharedIndexInformerOptions<T>)}.{nameof(Indexers)} has an empty name or a null index function.", nameof(Indexers));
        }
    }
}

/// <summary>Creates shared index informers.</summary>
public static class SharedIndexInformer
{
    /// <summary>Creates an informer over a list/watch source (e.g. an <see cref="IResourceClient{T}"/>).</summary>
    /// <typeparam name="T">The object type.</typeparam>
    /// <param name="listWatch">Lists and watches the resource.</param>
    /// <param name="options">Options; <see langword="null"/> for defaults.</param>
    public static ISharedIndexInformer<T> Create<T>(IListWatch<T> listWatch, SharedIndexInformerOptions<T>? options = null)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(listWatch);

        // The informer runs on its own copy: the caller's options object is never written, and changing it later
        // changes nothing (the indexer map is copied too).
        var copy = (options ?? new SharedIndexInformerOptions<T>()) with { };
        if (copy.Resource == default && listWatch is IResourceClient<T> client)
        {
            copy = copy with { Resource = client.Resource };
        }

        if (copy.Indexers is { } indexers)
        {
            copy = copy with { Indexers = indexers.ToDictionary(StringComparer.Ordinal) };
        }

        copy.Validate();
        return new SharedIndexInformerImpl<T>(listWatch, copy);
    }
}
