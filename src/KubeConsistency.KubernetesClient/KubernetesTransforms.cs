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
    /// <remarks>
    /// An informer created by <see cref="KubernetesClientExtensions.CreateInformer{T}"/>,
    /// <see cref="KubernetesClientExtensions.CreateMetadataInformer"/> or their factory counterparts with this transform
    /// (or <see cref="ForCache{T}"/>) decodes as with <see cref="KubernetesResourceOptions.SkipManagedFields"/>: the fields
    /// it would discard are never built, and the cached objects are the same.
    /// </remarks>
    /// <typeparam name="T">Any model with <see cref="V1ObjectMeta"/>.</typeparam>
    /// <returns>The transform.</returns>
    public static Func<T, T> StripManagedFields<T>()
        where T : class, IMetadata<V1ObjectMeta> => new CacheTransform<T>(dropLastApplied: false, then: null).Apply;

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
        where T : class, IMetadata<V1ObjectMeta> => new CacheTransform<T>(dropLastApplied: true, then).Apply;

    /// <summary>
    /// Whether <paramref name="transform"/> is one of ours that sets <c>metadata.managedFields</c> to <see langword="null"/>
    /// before anything else sees the object, so decoding them is wasted.
    /// </summary>
    internal static bool DiscardsManagedFields(Delegate? transform) => transform?.Target is ICacheTransform;

    /// <summary>Marks <see cref="CacheTransform{T}"/> whatever its type argument.</summary>
    private interface ICacheTransform;

    /// <summary>Strips managed fields, then optionally the last-applied annotation, then runs the caller's transform.</summary>
    private sealed class CacheTransform<T>(bool dropLastApplied, Func<T, T>? then) : ICacheTransform
        where T : class, IMetadata<V1ObjectMeta>
    {
        private static readonly Func<T, T> DropLastApplied = DropLastAppliedConfiguration<T>();

        public T Apply(T obj)
        {
            if (obj?.Metadata is { ManagedFields: not null } meta)
            {
                meta.ManagedFields = null;
            }

            // A null (never handed out by an informer) passes through, as from each transform alone.
            if (dropLastApplied)
            {
                obj = DropLastApplied(obj!);
            }

            return then is null ? obj! : then(obj!);
        }
    }
}
