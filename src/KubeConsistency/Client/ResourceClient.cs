namespace KubeConsistency.Client;

/// <summary>
/// Reads and writes one resource over the Kubernetes REST API. Every write returns the server's object, whose
/// <c>metadata.resourceVersion</c> is what a controller records with <c>ConsistencyStore.WroteAt</c>.
/// </summary>
/// <typeparam name="T">The object type.</typeparam>
public interface IResourceClient<T> : IListWatch<T>
{
    /// <summary>The resource this client addresses.</summary>
    GroupVersionResource Resource { get; }

    /// <summary><c>GET</c> one object.</summary>
    /// <param name="namespace">The namespace; <see langword="null"/> uses the client's namespace (namespaced resources) and must be <see langword="null"/> or empty for cluster-scoped ones.</param>
    /// <param name="name">The object name.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="NotFoundException">No such object.</exception>
    ValueTask<T> GetAsync(string? @namespace, string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// <c>POST</c> the object to its collection. The namespace comes from the object's <c>metadata.namespace</c>,
    /// else the client's namespace. <c>metadata.generateName</c> without a name lets the server pick the name.
    /// </summary>
    /// <param name="obj">The object to create.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The created object as the server stored it.</returns>
    /// <exception cref="AlreadyExistsException">An object with that name exists.</exception>
    ValueTask<T> CreateAsync(T obj, CancellationToken cancellationToken = default);

    /// <summary><c>PUT</c> the object. A set <c>metadata.resourceVersion</c> is an optimistic-concurrency precondition.</summary>
    /// <param name="obj">The object; its namespace and name address it.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="ConflictException">The object changed since <c>metadata.resourceVersion</c>.</exception>
    ValueTask<T> UpdateAsync(T obj, CancellationToken cancellationToken = default);

    /// <summary><c>PUT</c> the object to its <c>/status</c> subresource (the server ignores spec changes there).</summary>
    /// <param name="obj">The object; its namespace and name address it.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="ConflictException">The object changed since <c>metadata.resourceVersion</c>.</exception>
    ValueTask<T> UpdateStatusAsync(T obj, CancellationToken cancellationToken = default);

    /// <summary><c>PATCH</c> with a JSON merge patch (<c>application/merge-patch+json</c>, RFC 7386).</summary>
    /// <param name="namespace">The namespace; <see langword="null"/> uses the client's namespace.</param>
    /// <param name="name">The object name.</param>
    /// <param name="mergePatchJson">The UTF-8 merge patch document.</param>
    /// <param name="status">Patch the <c>/status</c> subresource instead of the object.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    ValueTask<T> PatchAsync(string? @namespace, string name, ReadOnlyMemory<byte> mergePatchJson, bool status = false, CancellationToken cancellationToken = default);

    /// <summary>
    /// <c>DELETE</c> one object. Returns the object when the server returns it (e.g. pods, or objects with
    /// finalizers that are only marked for deletion), else <see langword="null"/> (a <c>Status</c> <c>Success</c>).
    /// </summary>
    /// <param name="namespace">The namespace; <see langword="null"/> uses the client's namespace.</param>
    /// <param name="name">The object name.</param>
    /// <param name="options">Preconditions, propagation policy and grace period; <see langword="null"/> sends no body.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="NotFoundException">No such object.</exception>
    /// <exception cref="ConflictException">A precondition failed.</exception>
    ValueTask<T?> DeleteAsync(string? @namespace, string name, DeleteOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// <c>DELETE</c> one object, keeping what a <c>Status</c> answer says: from Kubernetes v1.38 the deletion's resource
    /// version (docs/upstream-after-1.36.md §1.5), which a controller records to wait for its own delete. The default
    /// implementation calls <see cref="DeleteAsync"/> and so knows only the returned object.
    /// </summary>
    /// <param name="namespace">The namespace; <see langword="null"/> uses the client's namespace.</param>
    /// <param name="name">The object name.</param>
    /// <param name="options">Preconditions, propagation policy and grace period; <see langword="null"/> sends no body.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="NotFoundException">No such object.</exception>
    /// <exception cref="ConflictException">A precondition failed.</exception>
    async ValueTask<DeleteResult<T>> DeleteWithResultAsync(string? @namespace, string name, DeleteOptions? options = null, CancellationToken cancellationToken = default) =>
        new(await DeleteAsync(@namespace, name, options, cancellationToken).ConfigureAwait(false));
}

/// <summary>How dependents are garbage-collected on delete (Go: <c>metav1.DeletionPropagation</c>).</summary>
public enum PropagationPolicy
{
    /// <summary><c>Orphan</c>: dependents are left alone.</summary>
    Orphan,

    /// <summary><c>Background</c>: the object goes at once, dependents are collected afterwards.</summary>
    Background,

    /// <summary><c>Foreground</c>: the object stays (with a <c>foregroundDeletion</c> finalizer) until its blocking dependents are gone.</summary>
    Foreground,
}

/// <summary>Delete preconditions (Go: <c>metav1.Preconditions</c>); the server answers 409 Conflict when one fails.</summary>
public sealed class Preconditions
{
    /// <summary>The UID the object must have.</summary>
    public string? Uid { get; init; }

    /// <summary>The resource version the object must have.</summary>
    public string? ResourceVersion { get; init; }
}

/// <summary>The body of a delete request (Go: <c>metav1.DeleteOptions</c>).</summary>
public sealed class DeleteOptions
{
    /// <summary><c>gracePeriodSeconds</c>; 0 deletes immediately.</summary>
    public long? GracePeriodSeconds { get; init; }

    /// <summary><c>preconditions</c>.</summary>
    public Preconditions? Preconditions { get; init; }

    /// <summary><c>propagationPolicy</c>.</summary>
    public PropagationPolicy? PropagationPolicy { get; init; }

    /// <summary><c>dryRun: ["All"]</c>: validate without persisting.</summary>
    public bool DryRun { get; init; }
}
