using k8s;
using k8s.Models;

namespace KubeConsistency.KubernetesClient;

/// <summary>
/// Memory transforms for informers of KubernetesClient models (<see cref="Informers.SharedIndexInformerOptions{T}.Transform"/>):
/// they drop metadata that controllers almost never read but that every cached object keeps alive — managed fields
/// (Go: controller-runtime's <c>cache.TransformStripManagedFields</c>) and kubectl's last-applied configuration, which
/// together are often most of an object's metadata. Each mutates the freshly decoded object in place and returns it;
/// combine them with your own through <see cref="Informers.ObjectTransforms.Compose{T}"/>.
/// </summary>
public static class KubernetesTransforms
{
    /// <summary>The annotation <c>kubectl apply</c> keeps the whole applied manifest in.</summary>
    public const string LastAppliedConfigurationAnnotation = "kubectl.kubernetes.io/last-applied-configuration";

    /// <summary>Sets <c>metadata.managedFields</c> to <see langword="null"/>.</summary>
    /// <typeparam name="T">Any model with <see cref="V1ObjectMeta"/>.</typeparam>
    /// <returns>The transform.</returns>
    public static Func<T, T> StripManagedFields<T>()
        where T : class, IMetadata<V1ObjectMeta> => static obj =>
        {
            if (obj?.Metadata is { ManagedFields: not null } meta)
            {
                meta.ManagedFields = null;
            }

            return obj!;
        };

    /// <summary>
    /// Removes the <see cref="LastAppliedConfigurationAnnotation"/> annotation (and the annotation map when it was the only
    /// entry).
    /// </summary>
    /// <typeparam name="T">Any model with <see cref="V1ObjectMeta"/>.</typeparam>
    /// <returns>The transform.</returns>
    public static Func<T, T> DropLastAppliedConfiguration<T>()
        where T : class, IMetadata<V1ObjectMeta> => static obj =>
        {
            if (obj?.Metadata is { Annotations: { } annotations } meta && annotations.Remove(LastAppliedConfigurationAnnotation) && annotations.Count == 0)
            {
                meta.Annotations = null;
            }

            return obj!;
        };

    /// <summary>
    /// Both <see cref="StripManagedFields{T}"/> and <see cref="DropLastAppliedConfiguration{T}"/>, then
    /// <paramref name="then"/> when given: the usual informer transform for a controller's cache.
    /// </summary>
    /// <typeparam name="T">Any model with <see cref="V1ObjectMeta"/>.</typeparam>
    /// <param name="then">The caller's own transform, run last; <see langword="null"/> for none.</param>
    /// <returns>The transform.</returns>
    public static Func<T, T> ForCache<T>(Func<T, T>? then = null)
        where T : class, IMetadata<V1ObjectMeta>
    {
        var strip = StripManagedFields<T>();
        var drop = DropLastAppliedConfiguration<T>();
        return then is null
            ? obj => drop(strip(obj))
            : obj => then(drop(strip(obj)));
    }
}
