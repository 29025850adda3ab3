namespace KubeConsistency;

/// <summary>
/// Computes the cache key of an object (Go: <c>cache.KeyFunc</c>). Throws <see cref="KeyException"/>
/// when no key can be computed.
/// </summary>
/// <typeparam name="T">The object type.</typeparam>
/// <param name="obj">The object.</param>
/// <returns>The key.</returns>
public delegate string KeyFunc<in T>(T obj);

/// <summary>
/// Cache keys: <c>namespace/name</c>, or <c>name</c> for cluster-scoped objects (Go: <c>MetaNamespaceKeyFunc</c>).
/// </summary>
public static class ObjectKeys
{
    /// <summary>Builds the key from a namespace and name (Go: <c>ObjectToName</c> rendering).</summary>
    /// <param name="namespace">The namespace, <see langword="null"/> or <c>""</c> for cluster-scoped objects.</param>
    /// <param name="name">The name.</param>
    public static string MetaNamespaceKey(string? @namespace, string? name) =>
        string.IsNullOrEmpty(@namespace) ? name ?? string.Empty : string.Concat(@namespace, "/", name);

    /// <summary>
    /// Splits a key into namespace and name (Go: <c>SplitMetaNamespaceKey</c>): <c>name</c> → ("", name);
    /// <c>ns/name</c> → (ns, name).
    /// </summary>
    /// <param name="key">The key.</param>
    /// <exception cref="FormatException">The key contains more than one <c>/</c>.</exception>
    public static (string Namespace, string Name) SplitMetaNamespaceKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return (string.Empty, key);
        }

        if (key.IndexOf('/', slash + 1) >= 0)
        {
            throw new FormatException($"unexpected key format: \"{key}\"");
        }

        return (key[..slash], key[(slash + 1)..]);
    }

    /// <summary>
    /// The default key function over an accessor: <c>namespace/name</c>, or <c>name</c> when the namespace is
    /// empty. Objects without metadata throw <see cref="KeyException"/> (Go: "object has no meta").
    /// </summary>
    /// <typeparam name="T">The object type.</typeparam>
    /// <param name="accessor">Reads metadata; <see langword="null"/> uses <see cref="ObjectMetadataAccessor{T}.Default"/>.</param>
    public static KeyFunc<T> MetaNamespaceKeyFunc<T>(ObjectMetadataAccessor<T>? accessor = null) =>
        accessor is null || ReferenceEquals(accessor, ObjectMetadataAccessor<T>.Default) ? DefaultKeyFunc<T>.Instance : Create(accessor);

    private static KeyFunc<T> Create<T>(ObjectMetadataAccessor<T> accessor)
    {
        return obj =>
        {
            if (obj is null || !accessor.HasMetadata(obj))
            {
                throw new KeyException(obj, "object has no meta");
            }

            return MetaNamespaceKey(accessor.GetNamespace(obj), accessor.GetName(obj));
        };
    }

    /// <summary>One shared default key function per type, so a FIFO and a store built with defaults share it
    /// (and keys computed by one are valid for the other).</summary>
    private static class DefaultKeyFunc<T>
    {
        public static readonly KeyFunc<T> Instance = Create(ObjectMetadataAccessor<T>.Default);
    }
}

/// <summary>
/// A key could not be computed for an object (Go: <c>cache.KeyError</c>).
/// </summary>
public sealed class KeyException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="obj">The object whose key could not be computed.</param>
    /// <param name="reason">Why.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    public KeyException(object? obj, string reason, Exception? innerException = null)
        : base($"couldn't create key for object {Describe(obj)}: {reason}", innerException) => Object = obj;

    /// <summary>The object whose key could not be computed.</summary>
    public object? Object { get; }

    private static string Describe(object? obj) => obj is null ? "<null>" : obj.GetType().Name;
}
