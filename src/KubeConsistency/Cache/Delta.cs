namespace KubeConsistency.Cache;

/// <summary>What a <see cref="Delta{T}"/> records (upstream-semantics.md §2.1).</summary>
public enum DeltaType
{
    /// <summary>An object was added (payload: the object).</summary>
    Added,

    /// <summary>An object was updated (payload: the new object).</summary>
    Updated,

    /// <summary>An object was deleted (payload: the final object, or a <see cref="DeletedFinalStateUnknown{T}"/>).</summary>
    Deleted,

    /// <summary>Legacy non-atomic relist: one per listed object (payload: the object).</summary>
    Replaced,

    /// <summary>Legacy non-atomic resync: one per stored object (payload: the stored object).</summary>
    Sync,

    /// <summary>Atomic relist: the whole list at once (payload: <see cref="ReplacedAllInfo{T}"/>).</summary>
    ReplacedAll,

    /// <summary>Atomic resync (payload: <see cref="SyncAllInfo"/>).</summary>
    SyncAll,

    /// <summary>A watch bookmark flowing through the queue (payload: <see cref="BookmarkInfo"/>).</summary>
    Bookmark,
}

/// <summary>
/// One queued notification (Go: <c>Delta</c>). <see cref="Object"/> is the payload whose type depends on
/// <see cref="Type"/>: a <typeparamref name="T"/>, a <see cref="DeletedFinalStateUnknown{T}"/>, a
/// <see cref="ReplacedAllInfo{T}"/>, a <see cref="SyncAllInfo"/> or a <see cref="BookmarkInfo"/>.
/// </summary>
/// <typeparam name="T">The object type.</typeparam>
/// <remarks>
/// Two deltas are equal when their types are equal and their payloads are (<see cref="object.Equals(object)"/>: the same
/// object, or equal by the type's own equality; list payloads compare element by element).
/// </remarks>
public readonly struct Delta<T> : IEquatable<Delta<T>>
    where T : class
{
    /// <summary>Creates a delta.</summary>
    /// <param name="type">The delta type.</param>
    /// <param name="obj">The payload.</param>
    public Delta(DeltaType type, object obj)
    {
        Type = type;
        Object = obj ?? throw new ArgumentNullException(nameof(obj));
    }

    internal Delta(DeltaType type, object obj, string key, KeyFunc<T> keyFunction)
        : this(type, obj)
    {
        _key = key;
        _keyFunction = keyFunction;
    }

    // The object's key as the FIFO computed it, and the function that computed it: a store with the same key
    // function can reuse it instead of computing the key again (one key per watch event, not three).
    private readonly string? _key;
    private readonly KeyFunc<T>? _keyFunction;

    /// <summary>The cached key when it was computed by <paramref name="keyFunction"/>, else <see langword="null"/>.</summary>
    internal string? KeyFor(KeyFunc<T> keyFunction) => ReferenceEquals(keyFunction, _keyFunction) ? _key : null;

    /// <summary>The delta type.</summary>
    public DeltaType Type { get; }

    /// <summary>The payload (see the type remarks).</summary>
    public object Object { get; }

    /// <summary>Whether this delta may share a batch with others (§2.4: every type but ReplacedAll, SyncAll, Bookmark).</summary>
    public bool IsBatchable => Type is DeltaType.Added or DeltaType.Updated or DeltaType.Deleted or DeltaType.Replaced or DeltaType.Sync;

    /// <summary>Whether two deltas are equal.</summary>
    /// <param name="left">One delta.</param>
    /// <param name="right">The other.</param>
    public static bool operator ==(Delta<T> left, Delta<T> right) => left.Equals(right);

    /// <summary>Whether two deltas differ.</summary>
    /// <param name="left">One delta.</param>
    /// <param name="right">The other.</param>
    public static bool operator !=(Delta<T> left, Delta<T> right) => !left.Equals(right);

    /// <inheritdoc/>
    public bool Equals(Delta<T> other) => Type == other.Type && Equals(Object, other.Object);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Delta<T> other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Type, Object);

    /// <inheritdoc/>
    public override string ToString() => $"{Type}: {Object}";
}

/// <summary>The payload of a <see cref="DeltaType.ReplacedAll"/> delta: a whole list and its resource version.</summary>
/// <typeparam name="T">The object type.</typeparam>
/// <param name="ResourceVersion">The list resource version.</param>
/// <param name="Objects">The listed objects, already transformed.</param>
/// <remarks>Equal to another with the same resource version and equal objects in the same order.</remarks>
public sealed record ReplacedAllInfo<T>(string ResourceVersion, IReadOnlyList<T> Objects)
    where T : class
{
    /// <inheritdoc/>
    public bool Equals(ReplacedAllInfo<T>? other) =>
        other is not null && string.Equals(ResourceVersion, other.ResourceVersion, StringComparison.Ordinal) &&
        (ReferenceEquals(Objects, other.Objects) || Objects.SequenceEqual(other.Objects));

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(ResourceVersion, Objects.Count);
}

/// <summary>The payload of a <see cref="DeltaType.SyncAll"/> delta (an empty marker).</summary>
public sealed record SyncAllInfo
{
    /// <summary>The marker instance.</summary>
    public static SyncAllInfo Instance { get; } = new();
}

/// <summary>The payload of a <see cref="DeltaType.Bookmark"/> delta.</summary>
/// <param name="ResourceVersion">The bookmark resource version.</param>
public sealed record BookmarkInfo(string ResourceVersion);
