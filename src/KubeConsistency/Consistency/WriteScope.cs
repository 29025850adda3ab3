namespace KubeConsistency.Consistency;

/// <summary>
/// The owner a reconcile is writing on behalf of, carried with the async flow, so that a write made anywhere below
/// it — through any client, e.g. KubernetesClient's <c>IKubernetes</c> with <c>KubeConsistency.KubernetesClient</c>'s
/// recording handler — is recorded with <see cref="IConsistencyStore.WroteAt"/> for that owner without code per kind.
/// </summary>
/// <remarks>
/// <para>
/// Open one per reconcile, after the gate's <see cref="IConsistencyStore.EnsureReady"/> passed and the owner was read:
/// <c>using var scope = WriteScope.Begin(store, owner, ownerUid);</c>. The scope flows into every call and task started
/// below it (it is an <see cref="AsyncLocal{T}"/>) and ends at <see cref="Dispose"/>, which restores the scope that was
/// current before. A write made outside any scope is not recorded.
/// </para>
/// <para>
/// Upstream records writes at each call site (<c>WroteAt(owner, uid, gr, rv)</c> after a create or status update,
/// upstream-semantics.md §8.1 step 2); a scope records the same tuple from the server's response instead.
/// </para>
/// </remarks>
public sealed class WriteScope : IDisposable
{
    private static readonly AsyncLocal<WriteScope?> s_current = new();

    private readonly WriteScope? _previous;
    private bool _disposed;
    private int _recorded;

    private WriteScope(IConsistencyStore store, NamespacedName owner, string ownerUid, WriteScope? previous)
    {
        Store = store;
        Owner = owner;
        OwnerUid = ownerUid;
        _previous = previous;
    }

    /// <summary>The scope of the current async flow, or <see langword="null"/> outside any.</summary>
    public static WriteScope? Current => s_current.Value;

    /// <summary>The store the writes are recorded in.</summary>
    public IConsistencyStore Store { get; }

    /// <summary>The reconciled object.</summary>
    public NamespacedName Owner { get; }

    /// <summary>The reconciled object's UID.</summary>
    public string OwnerUid { get; }

    /// <summary>How many writes this scope has recorded.</summary>
    public int RecordedWrites => Volatile.Read(ref _recorded);

    /// <summary>Makes a scope current for this async flow until it is disposed.</summary>
    /// <param name="store">Where writes are recorded.</param>
    /// <param name="owner">The reconciled object.</param>
    /// <param name="ownerUid">Its UID (as read from the cache for this sync).</param>
    public static WriteScope Begin(IConsistencyStore store, NamespacedName owner, string ownerUid)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(ownerUid);
        var scope = new WriteScope(store, owner, ownerUid, s_current.Value);
        s_current.Value = scope;
        return scope;
    }

    /// <summary>
    /// Records a successful write's resource version for <see cref="Owner"/> (<see cref="IConsistencyStore.WroteAt"/>).
    /// Ignored after <see cref="Dispose"/>: a write that completes after its reconcile ended (a fire-and-forget task)
    /// must not reopen a record the reconcile may already have seen cleared.
    /// </summary>
    /// <param name="resource">The group-resource written.</param>
    /// <param name="resourceVersion">The resource version the server returned.</param>
    /// <returns>Whether the write was recorded.</returns>
    public bool RecordWrite(GroupResource resource, string resourceVersion)
    {
        ArgumentNullException.ThrowIfNull(resourceVersion);
        if (Volatile.Read(ref _disposed))
        {
            return false;
        }

        Store.WroteAt(Owner, OwnerUid, resource, resourceVersion);
        Interlocked.Increment(ref _recorded);
        return true;
    }

    /// <summary>Ends the scope and restores the one that was current when it began.</summary>
    public void Dispose()
    {
        if (Volatile.Read(ref _disposed))
        {
            return;
        }

        Volatile.Write(ref _disposed, true);
        if (ReferenceEquals(s_current.Value, this))
        {
            s_current.Value = _previous;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"WriteScope {{ Owner = {Owner}, OwnerUid = {OwnerUid} }}";
}
