namespace KubeConsistency.Client;

/// <summary>
/// What a <c>DELETE</c> returned (<see cref="IResourceClient{T}.DeleteWithResultAsync"/>): the object, when the server
/// answers with it (pods, and objects held by finalizers or marked for graceful deletion), or a <c>Status</c>
/// <c>Success</c> — which from Kubernetes v1.38 carries the resource version of the deletion (docs/upstream-after-1.36.md
/// §1.5) and before carries none.
/// </summary>
/// <typeparam name="T">The object type.</typeparam>
public sealed class DeleteResult<T>
{
    /// <summary>Creates a result.</summary>
    /// <param name="object">The returned object, or <see langword="null"/> for a <c>Status</c>.</param>
    /// <param name="statusResourceVersion">The <c>Status</c>'s <c>metadata.resourceVersion</c>, if any.</param>
    /// <param name="statusUid">The <c>Status</c>'s <c>details.uid</c> (the deleted object's UID), if any.</param>
    public DeleteResult(T? @object, string? statusResourceVersion = null, string? statusUid = null)
    {
        Object = @object;
        StatusResourceVersion = string.IsNullOrEmpty(statusResourceVersion) ? null : statusResourceVersion;
        StatusUid = string.IsNullOrEmpty(statusUid) ? null : statusUid;
    }

    /// <summary>The object the server returned, or <see langword="null"/> when it answered with a <c>Status</c>.</summary>
    public T? Object { get; }

    /// <summary>
    /// The resource version of the deletion from a <c>Status</c> answer (Kubernetes v1.38 and later); <see langword="null"/>
    /// when the server returned the object (read its resource version instead) or an older server returned none.
    /// </summary>
    public string? StatusResourceVersion { get; }

    /// <summary>The deleted object's UID from a <c>Status</c> answer's <c>details.uid</c>, if the server gave one.</summary>
    public string? StatusUid { get; }
}
