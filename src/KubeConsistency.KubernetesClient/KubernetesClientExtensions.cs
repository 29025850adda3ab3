using k8s;
using k8s.Models;
using KubeConsistency.Client;
using KubeConsistency.Http;
using KubeConsistency.Informers;

namespace KubeConsistency.KubernetesClient;

/// <summary>
/// Informers and resource clients for KubernetesClient model types — built-in kinds (<c>V1Pod</c>, <c>V1ReplicaSet</c>,
/// <c>V1Lease</c>, …) and custom resources (any <c>IKubernetesObject&lt;V1ObjectMeta&gt;</c> with <c>[KubernetesEntity]</c>)
/// — from the <see cref="IKubernetes"/> an operator already has.
/// </summary>
/// <remarks>
/// Lists and watches use KubeConsistency's decoder (paged LIST, watch-list with <c>sendInitialEvents</c>, bookmarks,
/// <c>k8s.io/initial-events-end</c>, 410 → relist, typed errors) over the client's own HTTP pipeline and credentials,
/// decoding with KubernetesClient's serializer options, so the objects are exactly those its own calls return.
/// </remarks>
public static class KubernetesClientExtensions
{
    /// <summary>A resource client for <typeparamref name="T"/> (list, watch, get, create, update, status, merge patch, delete).</summary>
    /// <typeparam name="T">The model type.</typeparam>
    /// <param name="client">A <see cref="Kubernetes"/> client.</param>
    /// <param name="options">Namespace, selectors and the resource when the type has no <c>[KubernetesEntity]</c>.</param>
    public static IResourceClient<T> Resource<T>(this IKubernetes client, KubernetesResourceOptions? options = null)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var connection = KubernetesClientConnections.For(client);
        var (resource, kind, namespaced) = KubernetesModel<T>.Describe(options);
        var serializerOptions = KubernetesDecoding.For(options);
        return connection.Resource(new ResourceClientOptions<T>
        {
            Resource = resource,
            Kind = kind,
            Namespaced = namespaced,
            Namespace = options?.Namespace,
            LabelSelector = options?.LabelSelector,
            FieldSelector = options?.FieldSelector,
            FieldManager = options?.FieldManager,
            SerializerOptions = serializerOptions,
            DecodeWatchDirectly = KubernetesDecoding.DecodesWatchDirectly,
            WatchIdentity = KubernetesDecoding.WatchIdentity<T>(serializerOptions),
            Accessor = KubernetesObjectAccessor<T>.Instance,
        });
    }

    /// <summary>
    /// A shared index informer for <typeparamref name="T"/>: list (or watch-list), then watch with bookmarks, relisting on
    /// 410, into a store that knows the resource version it has applied. Start it with <c>RunAsync</c>.
    /// </summary>
    /// <typeparam name="T">The model type.</typeparam>
    /// <param name="client">A <see cref="Kubernetes"/> client.</param>
    /// <param name="resource">Namespace, selectors and the resource when the type has no <c>[KubernetesEntity]</c>.</param>
    /// <param name="informer">The informer's options (name, indexers, resync, transform, clock, logging, metrics); the
    /// resource and the metadata accessor are filled in when unset.</param>
    public static ISharedIndexInformer<T> CreateInformer<T>(this IKubernetes client, KubernetesResourceOptions? resource = null, SharedIndexInformerOptions<T>? informer = null)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var options = informer ?? new SharedIndexInformerOptions<T>();
        var source = client.Resource<T>(DecodingFor(resource, options.Transform));
        options = options with
        {
            Resource = options.Resource == default ? source.Resource : options.Resource,
            MetadataAccessor = options.MetadataAccessor ?? KubernetesObjectAccessor<T>.Instance,
        };
        return SharedIndexInformer.Create(source, options);
    }

    /// <summary>
    /// The factory's informer for <typeparamref name="T"/> in <paramref name="resource"/>'s namespace and selectors,
    /// created on first use with the factory's name, clock, logging and metrics.
    /// </summary>
    /// <typeparam name="T">The model type.</typeparam>
    /// <param name="factory">The informer factory.</param>
    /// <param name="client">A <see cref="Kubernetes"/> client.</param>
    /// <param name="resource">Namespace, selectors and the resource when the type has no <c>[KubernetesEntity]</c>.</param>
    /// <param name="configure">Derives the informer's options from the factory's defaults (<c>o =&gt; o with { … }</c>).</param>
    public static ISharedIndexInformer<T> GetOrAdd<T>(this SharedInformerFactory factory, IKubernetes client, KubernetesResourceOptions? resource = null, Func<SharedIndexInformerOptions<T>, SharedIndexInformerOptions<T>>? configure = null)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(factory);
        return GetOrAddFollowingTransform(factory, client.Resource<T>(resource), resource, decoding => client.Resource<T>(decoding), configure);
    }

    /// <summary>
    /// A metadata-only resource client for any resource, like client-go's metadata client
    /// (<c>metadata.NewForConfig(…).Resource(gvr)</c>): list, watch and get return <see cref="PartialObjectMetadata"/>
    /// (the server is asked for <c>as=PartialObjectMetadata[List]</c>), merge patch and delete are sent as usual and
    /// answered with metadata, and create, update and status update throw <see cref="NotSupportedException"/>, as
    /// client-go's <c>metadata.ResourceInterface</c> has none.
    /// </summary>
    /// <param name="client">A <see cref="Kubernetes"/> client.</param>
    /// <param name="resource">The resource, e.g. <see cref="GroupVersionResource.Pods"/>.</param>
    /// <param name="options">Namespace, selectors, field manager and decoding (<see cref="KubernetesResourceOptions.SkipManagedFields"/>,
    /// <see cref="KubernetesResourceOptions.DeduplicateValues"/>); <see cref="KubernetesResourceOptions.Kind"/>, when set, is the
    /// resource's kind, accepted besides <c>PartialObjectMetadata</c> from a server that ignores <c>as=</c>.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> names a different resource.</exception>
    public static IResourceClient<PartialObjectMetadata> MetadataResource(this IKubernetes client, GroupVersionResource resource, KubernetesResourceOptions? options = null)
    {
        if (options?.Resource is { } named && named != resource)
        {
            throw new ArgumentException($"The options name {named}, the call {resource}; give the resource once.", nameof(options));
        }

        var connection = KubernetesClientConnections.For(client);
        var serializerOptions = KubernetesDecoding.For(options);
        return connection.Resource(new ResourceClientOptions<PartialObjectMetadata>
        {
            Resource = resource,
            Kind = options?.Kind,
            Namespaced = options?.Namespaced ?? !KubernetesModel.ClusterScoped.Contains(resource.GroupResource),
            Namespace = options?.Namespace,
            LabelSelector = options?.LabelSelector,
            FieldSelector = options?.FieldSelector,
            FieldManager = options?.FieldManager,
            SerializerOptions = serializerOptions,
            DecodeWatchDirectly = KubernetesDecoding.DecodesWatchDirectly,
            WatchIdentity = KubernetesDecoding.WatchIdentity<PartialObjectMetadata>(serializerOptions),
            Accessor = KubernetesObjectAccessor<PartialObjectMetadata>.Instance,
            MetadataOnly = true,
        });
    }

    /// <summary>
    /// A metadata-only shared index informer for any resource (Go: client-go's <c>metadatainformer</c>, controller-runtime's
    /// <c>PartialObjectMetadata</c> watches): the same list/watch-list, bookmarks and store resource version as
    /// <see cref="CreateInformer{T}"/>, but the cache holds only each object's <see cref="PartialObjectMetadata"/>.
    /// </summary>
    /// <param name="client">A <see cref="Kubernetes"/> client.</param>
    /// <param name="resource">The resource, e.g. <see cref="GroupVersionResource.Pods"/>.</param>
    /// <param name="options">Namespace, selectors and decoding, as for <see cref="MetadataResource"/>.</param>
    /// <param name="informer">The informer's options (name, indexers, resync, transform such as
    /// <see cref="KubernetesTransforms.ForCache{T}"/>, clock, logging, metrics); the resource and the metadata accessor are
    /// filled in when unset.</param>
    public static ISharedIndexInformer<PartialObjectMetadata> CreateMetadataInformer(this IKubernetes client, GroupVersionResource resource, KubernetesResourceOptions? options = null, SharedIndexInformerOptions<PartialObjectMetadata>? informer = null)
    {
        var informerOptions = informer ?? new SharedIndexInformerOptions<PartialObjectMetadata>();
        var source = client.MetadataResource(resource, DecodingFor(options, informerOptions.Transform));
        informerOptions = informerOptions with
        {
            Resource = informerOptions.Resource == default ? source.Resource : informerOptions.Resource,
            MetadataAccessor = informerOptions.MetadataAccessor ?? KubernetesObjectAccessor<PartialObjectMetadata>.Instance,
        };
        return SharedIndexInformer.Create(source, informerOptions);
    }

    /// <summary>
    /// The factory's metadata-only informer for <paramref name="resource"/> in <paramref name="options"/>'s namespace and
    /// selectors, created on first use with the factory's name, clock, logging and metrics. It is a different informer from
    /// the full-object one of the same resource (<see cref="GetOrAdd{T}"/>), as client-go keeps metadata informers in a
    /// factory of their own: both can run side by side, each with its own list, watch and cache.
    /// </summary>
    /// <param name="factory">The informer factory.</param>
    /// <param name="client">A <see cref="Kubernetes"/> client.</param>
    /// <param name="resource">The resource, e.g. <see cref="GroupVersionResource.Pods"/>.</param>
    /// <param name="options">Namespace, selectors and decoding, as for <see cref="MetadataResource"/>.</param>
    /// <param name="configure">Derives the informer's options from the factory's defaults (<c>o =&gt; o with { … }</c>).</param>
    public static ISharedIndexInformer<PartialObjectMetadata> GetOrAddMetadata(this SharedInformerFactory factory, IKubernetes client, GroupVersionResource resource, KubernetesResourceOptions? options = null, Func<SharedIndexInformerOptions<PartialObjectMetadata>, SharedIndexInformerOptions<PartialObjectMetadata>>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(factory);

        // The factory keys by object type as well, so this never collides with GetOrAdd<V1Pod> of the same resource.
        return GetOrAddFollowingTransform(factory, client.MetadataResource(resource, options), options, decoding => client.MetadataResource(resource, decoding), configure);
    }

    /// <summary>
    /// The factory's informer over <paramref name="source"/>, keyed by <paramref name="resource"/>'s scope. The factory
    /// configures before it asks for the list-watch, so the source can follow the configured transform: one that discards
    /// managed fields gets a source from <paramref name="sourceFor"/> that skips decoding them.
    /// </summary>
    private static ISharedIndexInformer<TObject> GetOrAddFollowingTransform<TObject>(
        SharedInformerFactory factory,
        IResourceClient<TObject> source,
        KubernetesResourceOptions? resource,
        Func<KubernetesResourceOptions?, IResourceClient<TObject>> sourceFor,
        Func<SharedIndexInformerOptions<TObject>, SharedIndexInformerOptions<TObject>>? configure)
        where TObject : class, IKubernetesObject<V1ObjectMeta>
    {
        Delegate? transform = null;
        return factory.GetOrAdd(
            source.Resource,
            () => KubernetesTransforms.DiscardsManagedFields(transform) ? sourceFor(DecodingFor(resource, transform)) : source,
            (resource ?? KubernetesResourceOptions.Default).InformerScope,
            options =>
            {
                options = options with { MetadataAccessor = options.MetadataAccessor ?? KubernetesObjectAccessor<TObject>.Instance };
                options = configure?.Invoke(options) ?? options;
                transform = options.Transform;
                return options;
            });
    }

    // A transform of ours that discards managed fields first: skip decoding them, for the same cached objects.
    internal static KubernetesResourceOptions? DecodingFor(KubernetesResourceOptions? resource, Delegate? transform) =>
        KubernetesTransforms.DiscardsManagedFields(transform) ? (resource ?? KubernetesResourceOptions.Default).WithSkipManagedFields() : resource;
}
