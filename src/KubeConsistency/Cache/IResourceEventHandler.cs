namespace KubeConsistency.Cache;

/// <summary>
/// Receives notifications about cached objects (Go: <c>ResourceEventHandler</c>). By the time a method runs,
/// the store already reflects the change (and possibly later ones).
/// </summary>
/// <typeparam name="T">The object type.</typeparam>
public interface IResourceEventHandler<in T>
    where T : class
{
    /// <summary>An object appeared in the cache.</summary>
    /// <param name="obj">The object.</param>
    /// <param name="isInInitialList">Whether it came with the informer's initial list rather than a later event.</param>
    void OnAdd(T obj, bool isInInitialList);

    /// <summary>
    /// An object changed — or, for a resync, did not (<paramref name="oldObj"/> and <paramref name="newObj"/>
    /// then carry the same resource version).
    /// </summary>
    /// <param name="oldObj">The previous state.</param>
    /// <param name="newObj">The new state.</param>
    void OnUpdate(T oldObj, T newObj);

    /// <summary>
    /// An object was deleted. <paramref name="obj"/> is the final <typeparamref name="T"/>, or a
    /// <see cref="DeletedFinalStateUnknown{T}"/> when the deletion was inferred from a relist; unwrap with
    /// <see cref="DeletedFinalStateUnknown.Unwrap{T}(object?)"/>.
    /// </summary>
    /// <param name="obj">The deleted object or its tombstone.</param>
    void OnDelete(object obj);
}

/// <summary>An <see cref="IResourceEventHandler{T}"/> built from delegates (Go: <c>ResourceEventHandlerFuncs</c>); missing ones are ignored.</summary>
/// <typeparam name="T">The object type.</typeparam>
public sealed class ResourceEventHandler<T> : IResourceEventHandler<T>
    where T : class
{
    /// <summary>Called for adds.</summary>
    public Action<T, bool>? OnAdd { get; init; }

    /// <summary>Called for updates and resyncs.</summary>
    public Action<T, T>? OnUpdate { get; init; }

    /// <summary>Called for deletes (the object or a tombstone).</summary>
    public Action<object>? OnDelete { get; init; }

    void IResourceEventHandler<T>.OnAdd(T obj, bool isInInitialList) => OnAdd?.Invoke(obj, isInInitialList);

    void IResourceEventHandler<T>.OnUpdate(T oldObj, T newObj) => OnUpdate?.Invoke(oldObj, newObj);

    void IResourceEventHandler<T>.OnDelete(object obj) => OnDelete?.Invoke(obj);
}
