using System.Collections.Concurrent;
using k8s.Models;
using KubeConsistency.Client;
using KubeConsistency.Samples.Models;

namespace KubeConsistency.Samples.Controllers;

/// <summary>
/// A pods client that counts every successful pod create per controller owner (<c>namespace/name</c> of the pod's
/// controller reference) and every delete request per pod, and notifies an observer, so a scenario can compare what the
/// controllers created and deleted with the minimum the specs asked for. Everything else passes through.
/// </summary>
public sealed class CountingPodClient(IResourceClient<V1Pod> inner) : IResourceClient<V1Pod>
{
    private readonly ConcurrentDictionary<string, int> _createsByOwner = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _deletesByPod = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _createRequestsByName = new(StringComparer.Ordinal);
    private long _creates;
    private long _deletes;

    /// <summary>Raised after each successful create, with the created pod.</summary>
    public event Action<V1Pod>? Created;

    /// <summary>Every pod created through this client.</summary>
    public long Creates => Interlocked.Read(ref _creates);

    /// <summary>Pods created per owner key (<c>namespace/name</c> of the controller reference).</summary>
    public IReadOnlyDictionary<string, int> CreatesByOwner => _createsByOwner;

    /// <summary>Every pod delete sent through this client (counted before the request, so a failed one counts too).</summary>
    public long Deletes => Interlocked.Read(ref _deletes);

    /// <summary>Delete requests per pod key (<c>namespace/name</c>): a value above 1 is a pod deleted twice.</summary>
    public IReadOnlyDictionary<string, int> DeletesByPod => _deletesByPod;

    /// <summary>
    /// Create requests per pod key for pods created under a fixed name (StatefulSet ordinals), counted before the request:
    /// a value above 1 is an ordinal created twice (the second attempt fails with AlreadyExists, or recreates a pod).
    /// </summary>
    public IReadOnlyDictionary<string, int> CreateRequestsByName => _createRequestsByName;

    /// <inheritdoc/>
    public GroupVersionResource Resource => inner.Resource;

    /// <inheritdoc/>
    public async ValueTask<V1Pod> CreateAsync(V1Pod obj, CancellationToken cancellationToken = default)
    {
        if (obj.Metadata?.Name is { Length: > 0 } name)
        {
            _createRequestsByName.AddOrUpdate(ObjectKeys.MetaNamespaceKey(obj.Metadata.NamespaceProperty, name), 1, static (_, n) => n + 1);
        }

        var created = await inner.CreateAsync(obj, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _creates);
        if (created.GetController() is { Name: { } owner })
        {
            _createsByOwner.AddOrUpdate(ObjectKeys.MetaNamespaceKey(created.Metadata?.NamespaceProperty, owner), 1, static (_, n) => n + 1);
        }

        Created?.Invoke(created);
        return created;
    }

    /// <inheritdoc/>
    public ValueTask<V1Pod> GetAsync(string? @namespace, string name, CancellationToken cancellationToken = default) => inner.GetAsync(@namespace, name, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<V1Pod> UpdateAsync(V1Pod obj, CancellationToken cancellationToken = default) => inner.UpdateAsync(obj, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<V1Pod> UpdateStatusAsync(V1Pod obj, CancellationToken cancellationToken = default) => inner.UpdateStatusAsync(obj, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<V1Pod> PatchAsync(string? @namespace, string name, ReadOnlyMemory<byte> mergePatchJson, bool status = false, CancellationToken cancellationToken = default) =>
        inner.PatchAsync(@namespace, name, mergePatchJson, status, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<V1Pod?> DeleteAsync(string? @namespace, string name, DeleteOptions? options = null, CancellationToken cancellationToken = default)
    {
        CountDelete(@namespace, name);
        return inner.DeleteAsync(@namespace, name, options, cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask<DeleteResult<V1Pod>> DeleteWithResultAsync(string? @namespace, string name, DeleteOptions? options = null, CancellationToken cancellationToken = default)
    {
        CountDelete(@namespace, name);
        return inner.DeleteWithResultAsync(@namespace, name, options, cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask<ListPage<V1Pod>> ListAsync(ListOptions options, CancellationToken cancellationToken = default) => inner.ListAsync(options, cancellationToken);

    /// <inheritdoc/>
    public IAsyncEnumerable<WatchEvent<V1Pod>> WatchAsync(WatchOptions options, CancellationToken cancellationToken = default) => inner.WatchAsync(options, cancellationToken);

    private void CountDelete(string? @namespace, string name)
    {
        Interlocked.Increment(ref _deletes);
        _deletesByPod.AddOrUpdate(ObjectKeys.MetaNamespaceKey(@namespace, name), 1, static (_, n) => n + 1);
    }
}
