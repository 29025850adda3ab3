namespace KubeConsistency.Cache.Advanced;

// Batched store writes (Go: TransactionStore), used by the informer's batch processing (§3.2); advanced API.

/// <summary>The kind of a <see cref="StoreTransaction{T}"/>.</summary>
public enum StoreTransactionType
{
    /// <summary>Add the object.</summary>
    Add,

    /// <summary>Update the object.</summary>
    Update,

    /// <summary>Delete the object (or a tombstone's key).</summary>
    Delete,
}

/// <summary>One operation of <see cref="IStore{T}.Transaction"/>.</summary>
/// <typeparam name="T">The object type.</typeparam>
public readonly struct StoreTransaction<T>
    where T : class
{
    private StoreTransaction(StoreTransactionType type, T? obj, DeletedFinalStateUnknown<T>? tombstone, string? key = null)
    {
        Type = type;
        Object = obj;
        Tombstone = tombstone;
        Key = key;
    }

    /// <summary>A key already computed with the target store's key function, or <see langword="null"/>.</summary>
    internal string? Key { get; }

    /// <summary>The same transaction carrying a precomputed key (only for the store whose key function computed it).</summary>
    internal StoreTransaction<T> WithKey(string? key) => new(Type, Object, Tombstone, key);

    /// <summary>The operation.</summary>
    public StoreTransactionType Type { get; }

    /// <summary>The object; <see langword="null"/> for a tombstone delete.</summary>
    public T? Object { get; }

    /// <summary>The tombstone of a delete whose final state is unknown, else <see langword="null"/>.</summary>
    public DeletedFinalStateUnknown<T>? Tombstone { get; }

    /// <summary>An add.</summary>
    /// <param name="obj">The object.</param>
    public static StoreTransaction<T> Add(T obj) => new(StoreTransactionType.Add, obj ?? throw new ArgumentNullException(nameof(obj)), null);

    /// <summary>An update.</summary>
    /// <param name="obj">The object.</param>
    public static StoreTransaction<T> Update(T obj) => new(StoreTransactionType.Update, obj ?? throw new ArgumentNullException(nameof(obj)), null);

    /// <summary>A delete that carries the deleted object (and its deletion RV).</summary>
    /// <param name="obj">The deleted object.</param>
    public static StoreTransaction<T> Delete(T obj) => new(StoreTransactionType.Delete, obj ?? throw new ArgumentNullException(nameof(obj)), null);

    /// <summary>A delete by tombstone; it does not move the store RV (a tombstone has no metadata, §4.2).</summary>
    /// <param name="tombstone">The tombstone.</param>
    public static StoreTransaction<T> Delete(DeletedFinalStateUnknown<T> tombstone) => new(StoreTransactionType.Delete, null, tombstone ?? throw new ArgumentNullException(nameof(tombstone)));
}

/// <summary>
/// Some operations of a <see cref="IStore{T}.Transaction"/> failed (Go: <c>TransactionError</c>); the others
/// were applied.
/// </summary>
public sealed class TransactionException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="successfulIndices">Indices of the operations that were applied.</param>
    /// <param name="errors">The failures.</param>
    public TransactionException(IReadOnlyList<int> successfulIndices, IReadOnlyList<Exception> errors)
        : base($"not all transactions were applied: {errors.Count} failed; first: {errors.FirstOrDefault()?.Message}", errors.FirstOrDefault())
    {
        SuccessfulIndices = successfulIndices;
        Errors = errors;
    }

    /// <summary>Indices of the operations that were applied.</summary>
    public IReadOnlyList<int> SuccessfulIndices { get; }

    /// <summary>The failures, in operation order.</summary>
    public IReadOnlyList<Exception> Errors { get; }
}
