namespace KubeConsistency.Controllers;

/// <summary>The result of <see cref="IWorkQueue{T}.GetAsync"/>: a key to process, or the signal to exit.</summary>
/// <typeparam name="T">The key type.</typeparam>
/// <remarks>Deconstructs as <c>var (key, shutdown) = await queue.GetAsync(ct);</c>.</remarks>
public readonly struct WorkQueueItem<T> : IEquatable<WorkQueueItem<T>>
    where T : notnull
{
    internal WorkQueueItem(T item)
    {
        Item = item;
        Shutdown = false;
    }

    private WorkQueueItem(bool shutdown)
    {
        Item = default!;
        Shutdown = shutdown;
    }

    /// <summary>The key to process; <see langword="default"/> when <see cref="Shutdown"/> is set.</summary>
    public T Item { get; }

    /// <summary>Whether the queue is shut down and drained: the worker should exit.</summary>
    public bool Shutdown { get; }

    internal static WorkQueueItem<T> ShutdownResult => new(shutdown: true);

    /// <summary>Compares two results.</summary>
    /// <param name="left">The first result.</param>
    /// <param name="right">The second result.</param>
    public static bool operator ==(WorkQueueItem<T> left, WorkQueueItem<T> right) => left.Equals(right);

    /// <summary>Compares two results.</summary>
    /// <param name="left">The first result.</param>
    /// <param name="right">The second result.</param>
    public static bool operator !=(WorkQueueItem<T> left, WorkQueueItem<T> right) => !left.Equals(right);

    /// <summary>Deconstructs into the key and the shutdown flag.</summary>
    /// <param name="item">The key (<see langword="default"/> on shutdown).</param>
    /// <param name="shutdown">Whether the worker should exit.</param>
    public void Deconstruct(out T item, out bool shutdown)
    {
        item = Item;
        shutdown = Shutdown;
    }

    /// <inheritdoc/>
    public bool Equals(WorkQueueItem<T> other) =>
        Shutdown == other.Shutdown && EqualityComparer<T>.Default.Equals(Item, other.Item);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is WorkQueueItem<T> other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Item, Shutdown);

    /// <inheritdoc/>
    public override string ToString() => Shutdown ? "(shutdown)" : $"{Item}";
}
