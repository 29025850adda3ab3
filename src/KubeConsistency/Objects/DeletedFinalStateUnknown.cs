namespace KubeConsistency;

/// <summary>
/// A tombstone: the object was deleted while the watch was disconnected, so its final state is unknown
/// (upstream-semantics.md §2.1). <see cref="Object"/> is the last state the cache knew, and may be stale
/// or <see langword="null"/>.
/// </summary>
/// <typeparam name="T">The object type.</typeparam>
/// <param name="key">The cache key of the deleted object.</param>
/// <param name="obj">The last known state, or <see langword="null"/>.</param>
/// <remarks>Two tombstones are equal when their keys are equal and their last known states are equal.</remarks>
public sealed class DeletedFinalStateUnknown<T>(string key, T? obj) : IEquatable<DeletedFinalStateUnknown<T>>
    where T : class
{
    /// <summary>The cache key of the deleted object.</summary>
    public string Key { get; } = key ?? throw new ArgumentNullException(nameof(key));

    /// <summary>The last known state of the object, possibly stale; <see langword="null"/> when unknown.</summary>
    public T? Object { get; } = obj;

    /// <inheritdoc/>
    public bool Equals(DeletedFinalStateUnknown<T>? other) =>
        other is not null && string.Equals(Key, other.Key, StringComparison.Ordinal) && Equals(Object, other.Object);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is DeletedFinalStateUnknown<T> other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Key, Object);

    /// <inheritdoc/>
    public override string ToString() => $"DeletedFinalStateUnknown{{Key: {Key}}}";
}

/// <summary>Helpers for delete notifications that may carry a tombstone.</summary>
public static class DeletedFinalStateUnknown
{
    /// <summary>
    /// Unwraps a delete notification: the object itself, or a tombstone's last known state.
    /// </summary>
    /// <typeparam name="T">The object type.</typeparam>
    /// <param name="deleted">What <c>OnDelete</c> received: a <typeparamref name="T"/> or a <see cref="DeletedFinalStateUnknown{T}"/>.</param>
    /// <returns>The object, or <see langword="null"/> for a tombstone without a last known state or an unexpected type.</returns>
    public static T? Unwrap<T>(object? deleted)
        where T : class => deleted switch
        {
            T obj => obj,
            DeletedFinalStateUnknown<T> tombstone => tombstone.Object,
            _ => null,
        };
}
