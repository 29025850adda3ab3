namespace KubeConsistency.Informers;

/// <summary>
/// Builds informer transforms (<see cref="SharedIndexInformerOptions{T}.Transform"/>, Go: <c>cache.TransformFunc</c>): what
/// every object goes through once, after decoding and before it enters the store — the place to drop what a controller
/// never reads, since the cache keeps every object alive for the life of the process.
/// </summary>
public static class ObjectTransforms
{
    /// <summary>
    /// Runs <paramref name="transforms"/> in order, each on what the previous one returned; <see langword="null"/> entries
    /// are skipped. Returns <see langword="null"/> (no transform) when none is left, the single transform when one is.
    /// </summary>
    /// <typeparam name="T">The object type.</typeparam>
    /// <param name="transforms">The transforms, e.g. a built-in one followed by the caller's own.</param>
    /// <returns>One transform for <see cref="SharedIndexInformerOptions{T}.Transform"/>.</returns>
    public static Func<T, T>? Compose<T>(params Func<T, T>?[] transforms)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(transforms);
        var list = transforms.Where(static t => t is not null).Cast<Func<T, T>>().ToArray();
        return list.Length switch
        {
            0 => null,
            1 => list[0],
            _ => obj =>
            {
                foreach (var transform in list)
                {
                    obj = transform(obj);
                }

                return obj;
            },
        };
    }
}
