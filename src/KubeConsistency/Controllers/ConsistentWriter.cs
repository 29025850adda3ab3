using KubeConsistency.Client;

namespace KubeConsistency.Controllers;

/// <summary>
/// Writes through an <see cref="IResourceClient{T}"/> on behalf of an owner and records the resource version of every
/// object the server returns from a successful create, update, status update or patch with
/// <see cref="StalenessGate.WroteAt"/> (upstream-semantics.md §8.1 step 2), under the client's group-resource. Deletes
/// are recorded only when the gate tracks them (<see cref="StalenessGateOptions.TrackDeletes"/>, beyond v1.36); by default
/// they pass through unrecorded, as upstream. Failed writes record nothing.
/// Get one from <see cref="StalenessGate.Writer{T}"/>.
/// </summary>
/// <typeparam name="T">The object type.</typeparam>
public sealed class ConsistentWriter<T>
    where T : class
{
    private readonly StalenessGate _gate;
    private readonly ObjectMetadataAccessor<T> _accessor;
    private readonly Cache.IStore<T>? _cache;

    internal ConsistentWriter(StalenessGate gate, IResourceClient<T> client, ObjectMetadataAccessor<T> accessor, Cache.IStore<T>? cache)
    {
        _gate = gate;
        Client = client;
        _accessor = accessor;
        _cache = cache;
        Resource = client.Resource.GroupResource;
    }

    /// <summary>The underlying client, for reads and untracked writes.</summary>
    public IResourceClient<T> Client { get; }

    /// <summary>The group-resource writes are recorded under.</summary>
    public GroupResource Resource { get; }

    /// <summary>Creates <paramref name="obj"/> and records the write for <paramref name="owner"/>.</summary>
    /// <param name="owner">The reconciled object the write is made for.</param>
    /// <param name="ownerUid">The reconciled object's UID.</param>
    /// <param name="obj">The object to create.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The created object as the server returned it.</returns>
    public async ValueTask<T> CreateAsync(NamespacedName owner, string ownerUid, T obj, CancellationToken cancellationToken = default) =>
        Record(owner, ownerUid, await Client.CreateAsync(obj, cancellationToken).ConfigureAwait(false));

    /// <summary>Updates <paramref name="obj"/> (<c>PUT</c>) and records the write for <paramref name="owner"/>.</summary>
    /// <param name="owner">The reconciled object the write is made for.</param>
    /// <param name="ownerUid">The reconciled object's UID.</param>
    /// <param name="obj">The object; a set resource version is a precondition.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The updated object as the server returned it.</returns>
    public async ValueTask<T> UpdateAsync(NamespacedName owner, string ownerUid, T obj, CancellationToken cancellationToken = default) =>
        Record(owner, ownerUid, await Client.UpdateAsync(obj, cancellationToken).ConfigureAwait(false));

    /// <summary>
    /// Updates the <c>/status</c> subresource and records the write for <paramref name="owner"/> — for a controller's own
    /// status, the owner is the object itself (§8.1 step 2: "own status writes").
    /// </summary>
    /// <param name="owner">The reconciled object the write is made for.</param>
    /// <param name="ownerUid">The reconciled object's UID.</param>
    /// <param name="obj">The object with the new status.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The updated object as the server returned it.</returns>
    public async ValueTask<T> UpdateStatusAsync(NamespacedName owner, string ownerUid, T obj, CancellationToken cancellationToken = default) =>
        Record(owner, ownerUid, await Client.UpdateStatusAsync(obj, cancellationToken).ConfigureAwait(false));

    /// <summary>Applies a JSON merge patch and records the write for <paramref name="owner"/>.</summary>
    /// <param name="owner">The reconciled object the write is made for.</param>
    /// <param name="ownerUid">The reconciled object's UID.</param>
    /// <param name="namespace">The patched object's namespace; <see langword="null"/> uses the client's.</param>
    /// <param name="name">The patched object's name.</param>
    /// <param name="mergePatchJson">The UTF-8 merge patch.</param>
    /// <param name="status">Patch the <c>/status</c> subresource.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The patched object as the server returned it.</returns>
    public async ValueTask<T> PatchAsync(NamespacedName owner, string ownerUid, string? @namespace, string name, ReadOnlyMemory<byte> mergePatchJson, bool status = false, CancellationToken cancellationToken = default) =>
        Record(owner, ownerUid, await Client.PatchAsync(@namespace, name, mergePatchJson, status, cancellationToken).ConfigureAwait(false));

    /// <summary>Deletes an object. Not recorded (upstream does not track deletes).</summary>
    /// <param name="namespace">The namespace; <see langword="null"/> uses the client's.</param>
    /// <param name="name">The name.</param>
    /// <param name="options">Delete options.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>What the server returned, if an object.</returns>
    public ValueTask<T?> DeleteAsync(string? @namespace, string name, DeleteOptions? options = null, CancellationToken cancellationToken = default) =>
        Client.DeleteAsync(@namespace, name, options, cancellationToken);

    /// <summary>
    /// Deletes <paramref name="obj"/> on behalf of <paramref name="owner"/> and, when the gate tracks deletes, records it
    /// (<see cref="StalenessGate.RecordDelete{T}"/>: the returned resource version, else by UID in the writer's cache). A
    /// delete that finds the object already gone (NotFound) is expected by UID too — the cache may still hold it — and
    /// then rethrown. The request carries a UID precondition when <paramref name="options"/> is <see langword="null"/>, so
    /// a newer object under the same name is never deleted by mistake.
    /// </summary>
    /// <param name="owner">The reconciled object the delete is made for.</param>
    /// <param name="ownerUid">The reconciled object's UID.</param>
    /// <param name="obj">The object to delete (its cached copy).</param>
    /// <param name="options">Delete options; <see langword="null"/> sends a UID precondition.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>What the server returned.</returns>
    /// <exception cref="NotFoundException">The object was already gone.</exception>
    public async ValueTask<DeleteResult<T>> DeleteAsync(NamespacedName owner, string ownerUid, T obj, DeleteOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var uid = _accessor.GetUid(obj);
        options ??= string.IsNullOrEmpty(uid) ? null : new DeleteOptions { Preconditions = new Preconditions { Uid = uid } };
        try
        {
            var result = await Client.DeleteWithResultAsync(_accessor.GetNamespace(obj), _accessor.GetName(obj) ?? string.Empty, options, cancellationToken).ConfigureAwait(false);
            if (_gate.TracksDeletes)
            {
                _gate.RecordDelete(owner, ownerUid, Resource, obj, result, _cache, _accessor);
            }

            return result;
        }
        catch (NotFoundException)
        {
            if (_cache is not null)
            {
                _gate.ExpectDeletion(owner, ownerUid, Resource, obj, _cache, _accessor);
            }

            throw;
        }
    }

    private T Record(NamespacedName owner, string ownerUid, T written)
    {
        _gate.RecordWrite(owner, ownerUid, Resource, written, _accessor);
        return written;
    }
}
