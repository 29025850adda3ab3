using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace KubeConsistency.Consistency;

/// <summary>
/// Options for <see cref="ReadYourWritesReader{T}.Create"/>: validated and copied when the reader is created, so changing
/// them afterwards changes nothing.
/// </summary>
/// <typeparam name="T">The object type.</typeparam>
public sealed class ReadYourWritesOptions<T>
    where T : class
{
    /// <summary>The informer's group-resource: the <c>group</c> and <c>resource</c> labels of the reader's metrics.</summary>
    public required GroupResource Resource { get; init; }

    /// <summary>
    /// The longest a read waits for this process's own writes when the call names no timeout (default 10 s). controller-runtime
    /// v0.25 waits as long as the caller's context allows (docs/upstream-after-1.36.md §2.1); a bound here turns a cache that
    /// never catches up into a <see cref="ReadYourWritesTimeoutException"/> instead of a hung reconcile.
    /// </summary>
    public TimeSpan DefaultTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The namespace the informer watches; a write to another namespace takes no barrier (the cache would never see it).
    /// <see langword="null"/> (default): all namespaces.
    /// </summary>
    public string? Namespace { get; init; }

    /// <summary>
    /// The informer's label selector; a written object it does not match takes no barrier. <see langword="null"/> (default):
    /// every object matches.
    /// </summary>
    public LabelSelector? LabelSelector { get; init; }

    /// <summary>
    /// Any further test of whether the informer watches a written object (a field selector, a transform that drops objects);
    /// <see langword="null"/>: only <see cref="Namespace"/> and <see cref="LabelSelector"/> decide.
    /// </summary>
    public Func<T, bool>? IsWatched { get; init; }

    /// <summary>Reads object metadata; defaults to <see cref="ObjectMetadataAccessor{T}.Default"/>.</summary>
    public ObjectMetadataAccessor<T>? Accessor { get; init; }

    /// <summary>The clock of every timeout; defaults to <see cref="System.TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Where timeouts and unwatched writes are logged; defaults to no logging.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>The metrics (<c>kubeconsistency_read_your_writes_*</c>); <see langword="null"/> uses the static meter.</summary>
    public IMeterFactory? MeterFactory { get; init; }

    internal ReadYourWritesOptions<T> Validated()
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(DefaultTimeout, TimeSpan.Zero, nameof(DefaultTimeout));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        return new ReadYourWritesOptions<T>
        {
            Resource = Resource,
            DefaultTimeout = DefaultTimeout,
            Namespace = Namespace,
            LabelSelector = LabelSelector,
            IsWatched = IsWatched,
            Accessor = Accessor ?? ObjectMetadataAccessor<T>.Default,
            TimeProvider = TimeProvider,
            Logger = Logger,
            MeterFactory = MeterFactory,
        };
    }
}

/// <summary>Per-call choices of a read.</summary>
public sealed class ReadOptions
{
    /// <summary>The default: wait for this process's own earlier writes, bounded by the reader's default timeout.</summary>
    public static ReadOptions Default { get; } = new();

    /// <summary>The opt-out: read the cache as it is, without waiting (<see cref="ReadSource.CacheUnchecked"/>).</summary>
    public static ReadOptions NoWait { get; } = new() { Wait = false };

    /// <summary>Whether to wait for earlier writes (default <see langword="true"/>).</summary>
    public bool Wait { get; init; } = true;

    /// <summary>The longest this read waits; <see langword="null"/> uses <see cref="ReadYourWritesOptions{T}.DefaultTimeout"/>.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// When the wait times out, read the object from the server instead of throwing (<see cref="ReadSource.Server"/>); needs
    /// the reader to have a client. Default <see langword="false"/>.
    /// </summary>
    public bool FallBackToServer { get; init; }
}

/// <summary>Where a read's answer came from.</summary>
public enum ReadSource
{
    /// <summary>The informer cache, after it had observed every earlier write of this process to what was read.</summary>
    Cache,

    /// <summary>The informer cache as it was, without waiting (<see cref="ReadOptions.NoWait"/>): it may predate a write of this process.</summary>
    CacheUnchecked,

    /// <summary>A live GET from the API server (the fallback after a timed-out wait).</summary>
    Server,
}

/// <summary>What a <see cref="ReadYourWritesReader{T}.GetAsync"/> returned.</summary>
/// <typeparam name="T">The object type.</typeparam>
/// <param name="Object">The object, or <see langword="null"/> when there is none under the key.</param>
/// <param name="Source">Where it came from.</param>
public readonly record struct ReadResult<T>(T? Object, ReadSource Source)
    where T : class
{
    /// <summary>Whether an object was found.</summary>
    public bool Found => Object is not null;
}

/// <summary>What a <see cref="ReadYourWritesReader{T}.ListAsync"/> returned.</summary>
/// <typeparam name="T">The object type.</typeparam>
/// <param name="Items">The cached objects.</param>
/// <param name="Source">Whether the wait for earlier writes was made (<see cref="ReadSource.Cache"/>) or skipped.</param>
public readonly record struct ListResult<T>(IReadOnlyList<T> Items, ReadSource Source)
    where T : class;

/// <summary>
/// A read gave up waiting for the cache to observe this process's own write: the reader's default timeout (or the call's)
/// passed first. Counted in <c>kubeconsistency_read_your_writes_timeouts_total{group,resource}</c>.
/// </summary>
public sealed class ReadYourWritesTimeoutException : TimeoutException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="resource">The group-resource read.</param>
    /// <param name="key">The key read, or <see langword="null"/> for a list.</param>
    /// <param name="awaited">What the read was waiting for (a resource version, or the deletion of a UID).</param>
    /// <param name="storeResourceVersion">The store's resource version when it gave up.</param>
    /// <param name="timeout">How long it waited.</param>
    public ReadYourWritesTimeoutException(GroupResource resource, string? key, string awaited, string storeResourceVersion, TimeSpan timeout)
        : base($"Read of {(key is null ? "the list of " + resource : key + " (" + resource + ")")} timed out after {timeout.TotalMilliseconds:0} ms waiting for the cache to observe this process's own write ({awaited}); the cache is at resource version \"{storeResourceVersion}\".")
    {
        Resource = resource;
        Key = key;
        Awaited = awaited;
        StoreResourceVersion = storeResourceVersion;
        Timeout = timeout;
    }

    /// <summary>The group-resource read.</summary>
    public GroupResource Resource { get; }

    /// <summary>The key read, or <see langword="null"/> for a list.</summary>
    public string? Key { get; }

    /// <summary>What the read was waiting for: <c>resourceVersion ≥ N</c>, <c>deletion of uid U</c> or <c>a write in flight</c>.</summary>
    public string Awaited { get; }

    /// <summary>The store's <c>LastStoreSyncResourceVersion</c> when the read gave up.</summary>
    public string StoreResourceVersion { get; }

    /// <summary>How long the read waited.</summary>
    public TimeSpan Timeout { get; }
}
