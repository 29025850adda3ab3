using KubeConsistency.Metrics;

namespace KubeConsistency.Cache;

/// <summary>Options for <see cref="Store.Create{T}"/>.</summary>
/// <typeparam name="T">The object type.</typeparam>
public sealed class StoreOptions<T>
    where T : class
{
    /// <summary>Reads object metadata; defaults to <see cref="ObjectMetadataAccessor{T}.Default"/>.</summary>
    public ObjectMetadataAccessor<T>? MetadataAccessor { get; init; }

    /// <summary>Computes keys; defaults to <c>namespace/name</c> over <see cref="MetadataAccessor"/>.</summary>
    public KeyFunc<T>? KeyFunction { get; init; }

    /// <summary>Index functions by name, e.g. <see cref="Indexes.Namespace"/> → <see cref="Indexes.ByNamespace{T}"/>.</summary>
    public IReadOnlyDictionary<string, IndexFunc<T>>? Indexers { get; init; }

    /// <summary>
    /// Whether <see cref="Consistency.ILastSyncResourceVersionGetter.LastStoreSyncResourceVersion"/> reports the
    /// applied RV. Off means it always returns <c>""</c>, exactly like client-go with the <c>AtomicFIFO</c> gate
    /// off (§4.3). Defaults to <see cref="FeatureGates.AtomicFifo"/>.
    /// </summary>
    public bool TrackResourceVersion { get; init; } = FeatureGates.AtomicFifo;

    /// <summary>
    /// Where to emit <c>informer_store_resource_version</c> (§9.2). Unlike client-go v1.36.0, whose factory
    /// informers never emitted it, the gauge is set on every RV change whenever metrics are given.
    /// </summary>
    public InformerMetrics? Metrics { get; init; }
}

/// <summary>Creates stores and indexers.</summary>
public static class Store
{
    /// <summary>Creates a thread-safe indexed store (Go: <c>NewIndexer</c>).</summary>
    /// <typeparam name="T">The object type.</typeparam>
    /// <param name="options">Options; <see langword="null"/> for defaults.</param>
    public static IIndexer<T> Create<T>(StoreOptions<T>? options = null)
        where T : class => new ThreadSafeIndexer<T>(options ?? new StoreOptions<T>());
}

/// <summary>Well-known index names and functions (Go: <c>NamespaceIndex</c>, <c>MetaNamespaceIndexFunc</c>).</summary>
public static class Indexes
{
    /// <summary>The conventional name of the namespace index: <c>namespace</c>.</summary>
    public const string Namespace = "namespace";

    /// <summary>Indexes objects by namespace (cluster-scoped objects under <c>""</c>, as upstream does).</summary>
    /// <typeparam name="T">The object type.</typeparam>
    /// <param name="accessor">Reads metadata; defaults to <see cref="ObjectMetadataAccessor{T}.Default"/>.</param>
    public static IndexFunc<T> ByNamespace<T>(ObjectMetadataAccessor<T>? accessor = null)
    {
        accessor ??= ObjectMetadataAccessor<T>.Default;
        return SingleValue<T>(obj => accessor.HasMetadata(obj) ? accessor.GetNamespace(obj) ?? string.Empty : null);
    }

    /// <summary>
    /// An index with at most one value per object (<see langword="null"/> = not indexed). Stores built by this
    /// library recognise it and index without allocating; elsewhere it behaves like any <see cref="IndexFunc{T}"/>.
    /// </summary>
    /// <typeparam name="T">The object type.</typeparam>
    /// <param name="value">Computes the object's single index value.</param>
    public static IndexFunc<T> SingleValue<T>(Func<T, string?> value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new SingleValueIndex<T>(value).Values;
    }
}

/// <summary>The target of an <see cref="IndexFunc{T}"/> made by <see cref="Indexes.SingleValue{T}"/>.</summary>
internal sealed class SingleValueIndex<T>(Func<T, string?> value)
{
    public Func<T, string?> Value { get; } = value;

    public IReadOnlyList<string> Values(T obj) => Value(obj) is { } v ? [v] : [];

    public static Func<T, string?>? Of(IndexFunc<T> func) => (func.Target as SingleValueIndex<T>)?.Value;
}
