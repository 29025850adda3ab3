namespace KubeConsistency.Cache;

/// <summary>
/// A queue whose transformer a reflector may apply itself, to each listed object as it arrives, so that a relist never
/// holds every object untransformed at once (Go: the reflector's <c>TransformingStore</c> check, kubernetes#131799).
/// </summary>
/// <typeparam name="T">The object type.</typeparam>
internal interface ITransformingQueue<T>
    where T : class
{
    /// <summary>The transformer the queue applies to every object, or <see langword="null"/>.</summary>
    Func<T, T>? Transformer { get; }

    /// <summary>
    /// <see cref="IDeltaQueue{T}.Replace"/> for items the caller already passed through <see cref="Transformer"/>: they
    /// are queued as they are, so each object is transformed once.
    /// </summary>
    /// <param name="items">The transformed items, in list order.</param>
    /// <param name="resourceVersion">The list's resource version.</param>
    void ReplaceTransformed(IReadOnlyList<T> items, string resourceVersion);
}
