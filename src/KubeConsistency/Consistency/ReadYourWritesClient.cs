using KubeConsistency.Client;

namespace KubeConsistency.Consistency;

/// <summary>
/// A resource client that raises a read-your-writes barrier before each write is sent and completes it with the answer
/// (<see cref="ReadYourWritesReader{T}.Writer"/>); a failed write releases its barrier. Reads pass through.
/// </summary>
/// <typeparam name="T">The object type.</typeparam>
internal sealed class ReadYourWritesClient<T>(ReadYourWritesReader<T> reader, IResourceClient<T> inner, ObjectMetadataAccessor<T> accessor, string? defaultNamespace) : IResourceClient<T>
    where T : class
{
    public GroupVersionResource Resource => inner.Resource;

    public ValueTask<T> GetAsync(string? @namespace, string name, CancellationToken cancellationToken = default) => inner.GetAsync(@namespace, name, cancellationToken);

    public ValueTask<ListPage<T>> ListAsync(ListOptions options, CancellationToken cancellationToken = default) => inner.ListAsync(options, cancellationToken);

    public IAsyncEnumerable<WatchEvent<T>> WatchAsync(WatchOptions options, CancellationToken cancellationToken = default) => inner.WatchAsync(options, cancellationToken);

    public ValueTask<T> CreateAsync(T obj, CancellationToken cancellationToken = default) =>
        WriteAsync(string.IsNullOrEmpty(accessor.GetName(obj)) ? null : KeyOf(obj), () => inner.CreateAsync(obj, cancellationToken));

    public ValueTask<T> UpdateAsync(T obj, CancellationToken cancellationToken = default) => WriteAsync(KeyOf(obj), () => inner.UpdateAsync(obj, cancellationToken));

    public ValueTask<T> UpdateStatusAsync(T obj, CancellationToken cancellationToken = default) => WriteAsync(KeyOf(obj), () => inner.UpdateStatusAsync(obj, cancellationToken));

    public ValueTask<T> PatchAsync(string? @namespace, string name, ReadOnlyMemory<byte> mergePatchJson, bool status = false, CancellationToken cancellationToken = default) =>
        WriteAsync(Key(@namespace, name), () => inner.PatchAsync(@namespace, name, mergePatchJson, status, cancellationToken));

    public async ValueTask<T?> DeleteAsync(string? @namespace, string name, DeleteOptions? options = null, CancellationToken cancellationToken = default) =>
        (await DeleteWithResultAsync(@namespace, name, options, cancellationToken).ConfigureAwait(false)).Object;

    public async ValueTask<DeleteResult<T>> DeleteWithResultAsync(string? @namespace, string name, DeleteOptions? options = null, CancellationToken cancellationToken = default)
    {
        // Raised before the request: a read that starts while the delete is in flight waits for it.
        using var barrier = reader.BeginWrite(Key(@namespace, name));
        var result = await inner.DeleteWithResultAsync(@namespace, name, options, cancellationToken).ConfigureAwait(false);
        barrier.Deleted(result, options?.Preconditions?.Uid);
        return result;
    }

    private async ValueTask<T> WriteAsync(string? key, Func<ValueTask<T>> send)
    {
        using var barrier = reader.BeginWrite(key);
        var written = await send().ConfigureAwait(false);
        barrier.Written(written);
        return written;
    }

    private string KeyOf(T obj) => Key(accessor.GetNamespace(obj), accessor.GetName(obj) ?? string.Empty);

    private string Key(string? @namespace, string name) => ObjectKeys.MetaNamespaceKey(string.IsNullOrEmpty(@namespace) ? defaultNamespace : @namespace, name);
}
