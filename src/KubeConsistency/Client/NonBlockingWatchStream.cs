namespace KubeConsistency.Client;

/// <summary>
/// Marks a watch stream whose <see cref="IAsyncEnumerator{T}.MoveNextAsync"/> never blocks its caller: it completes
/// synchronously only when the next event is already in memory, and otherwise returns a pending task.
/// </summary>
/// <remarks>
/// Why: the reflector holds the informer consumer's wake-ups while events arrive back to back (see
/// <c>IConsumerWakeBatching</c>). That is safe only when a synchronous completion cannot hide a wait for the network, so
/// it is offered only by streams that promise it: ours over HTTP, not a user's <see cref="IListWatch{T}"/>.
/// </remarks>
internal interface INonBlockingWatchEnumerator;

/// <summary>Wraps a watch stream that keeps the <see cref="INonBlockingWatchEnumerator"/> promise, so that the reflector can see it.</summary>
/// <typeparam name="T">The object type.</typeparam>
internal sealed class NonBlockingWatchStream<T>(IAsyncEnumerable<WatchEvent<T>> inner) : IAsyncEnumerable<WatchEvent<T>>
{
    public IAsyncEnumerator<WatchEvent<T>> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        new Enumerator(inner.GetAsyncEnumerator(cancellationToken));

    private sealed class Enumerator(IAsyncEnumerator<WatchEvent<T>> inner) : IAsyncEnumerator<WatchEvent<T>>, INonBlockingWatchEnumerator
    {
        public WatchEvent<T> Current => inner.Current;

        public ValueTask<bool> MoveNextAsync() => inner.MoveNextAsync();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
