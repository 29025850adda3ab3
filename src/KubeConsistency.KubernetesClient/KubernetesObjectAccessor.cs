using k8s;
using k8s.Models;

namespace KubeConsistency.KubernetesClient;

/// <summary>Metadata access for KubernetesClient models, through <see cref="IKubernetesObject{TMetadata}"/> (no reflection).</summary>
public static class KubernetesObjectMetadata
{
    /// <summary>The accessor for <typeparamref name="T"/>: namespace, name, UID, resource version, labels, owner references, deletion timestamp and generation.</summary>
    /// <typeparam name="T">Any model implementing <c>IKubernetesObject&lt;V1ObjectMeta&gt;</c> (built-in kinds and custom resources alike).</typeparam>
    public static ObjectMetadataAccessor<T> For<T>()
        where T : IKubernetesObject<V1ObjectMeta> => KubernetesObjectAccessor<T>.Instance;
}

/// <summary>Reads <see cref="V1ObjectMeta"/> through the model's interface; KubernetesClient is nullable-oblivious, so every hop is null-checked.</summary>
/// <typeparam name="T">The model type.</typeparam>
internal sealed class KubernetesObjectAccessor<T> : ObjectMetadataAccessor<T>
    where T : IKubernetesObject<V1ObjectMeta>
{
    public static KubernetesObjectAccessor<T> Instance { get; } = new();

    public override bool HasMetadata(T obj) => obj?.Metadata is not null;

    public override string? GetNamespace(T obj) => obj?.Metadata?.NamespaceProperty;

    public override string? GetName(T obj) => obj?.Metadata?.Name;

    public override string? GetUid(T obj) => obj?.Metadata?.Uid;

    public override string? GetResourceVersion(T obj) => obj?.Metadata?.ResourceVersion;

    public override IReadOnlyDictionary<string, string>? GetLabels(T obj) => obj?.Metadata?.Labels switch
    {
        null => null,
        IReadOnlyDictionary<string, string> readOnly => readOnly,
        var labels => labels.ToDictionary(StringComparer.Ordinal),
    };

    public override IReadOnlyList<OwnerReference> GetOwnerReferences(T obj)
    {
        if (obj?.Metadata?.OwnerReferences is not { Count: > 0 } refs)
        {
            return [];
        }

        var result = new OwnerReference[refs.Count];
        for (var i = 0; i < result.Length; i++)
        {
            var r = refs[i];
            result[i] = new OwnerReference(r.ApiVersion ?? string.Empty, r.Kind ?? string.Empty, r.Name ?? string.Empty, r.Uid ?? string.Empty, r.Controller, r.BlockOwnerDeletion);
        }

        return result;
    }

    public override DateTimeOffset? GetDeletionTimestamp(T obj) =>
        obj?.Metadata?.DeletionTimestamp is { } t ? new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)) : null;

    public override long? GetGeneration(T obj) => obj?.Metadata?.Generation;
}
