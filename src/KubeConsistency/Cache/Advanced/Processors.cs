namespace KubeConsistency.Cache.Advanced;

// The consumer side of IDeltaQueue<T>: what an informer's processing loop passes to PopAsync/PopBatchAsync. Most code
// never names these types (a lambda converts), so they live in the advanced namespace.

/// <summary>Processes one popped delta.</summary>
/// <typeparam name="T">The object type.</typeparam>
/// <param name="delta">The delta.</param>
/// <param name="isInInitialList">Whether the delta belongs to the initial list (the queue had not synced when it was popped).</param>
public delegate void PopProcessor<T>(Delta<T> delta, bool isInInitialList)
    where T : class;

/// <summary>Processes a popped batch of deltas with distinct keys.</summary>
/// <typeparam name="T">The object type.</typeparam>
/// <param name="deltas">The batch, oldest first; valid only during the call.</param>
/// <param name="isInInitialList">Whether the batch belongs to the initial list.</param>
public delegate void BatchProcessor<T>(ReadOnlySpan<Delta<T>> deltas, bool isInInitialList)
    where T : class;
