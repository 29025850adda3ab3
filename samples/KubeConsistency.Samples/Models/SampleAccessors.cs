using System.Text.Json.Serialization.Metadata;
using KubeConsistency.Client;
using KubeConsistency.Http;

namespace KubeConsistency.Samples.Models;

/// <summary>
/// Explicit <see cref="ObjectMetadataAccessor{T}"/>s for the sample models (no reflection), and typed resource clients
/// that use them with the source-generated JSON contracts.
/// </summary>
public static class SampleAccessors
{
    /// <summary>The accessor for pods.</summary>
    public static ObjectMetadataAccessor<Pod> Pod { get; } = For<Pod>();

    /// <summary>The accessor for ReplicaSets.</summary>
    public static ObjectMetadataAccessor<ReplicaSet> ReplicaSet { get; } = For<ReplicaSet>();

    /// <summary>The accessor for Jobs.</summary>
    public static ObjectMetadataAccessor<Job> Job { get; } = For<Job>();

    /// <summary>A pods client (optionally namespace-scoped and label-filtered) using the sample contracts.</summary>
    public static IResourceClient<Pod> Pods(KubernetesConnection connection, string? @namespace, string? fieldManager = null, string? labelSelector = null) =>
        Client(connection, GroupVersionResource.Pods, "Pod", SampleJsonContext.Default.Pod, Pod, @namespace, fieldManager, labelSelector);

    /// <summary>A ReplicaSets client using the sample contracts.</summary>
    public static IResourceClient<ReplicaSet> ReplicaSets(KubernetesConnection connection, string? @namespace, string? fieldManager = null, string? labelSelector = null) =>
        Client(connection, GroupVersionResource.ReplicaSets, "ReplicaSet", SampleJsonContext.Default.ReplicaSet, ReplicaSet, @namespace, fieldManager, labelSelector);

    /// <summary>A Jobs client using the sample contracts.</summary>
    public static IResourceClient<Job> Jobs(KubernetesConnection connection, string? @namespace, string? fieldManager = null, string? labelSelector = null) =>
        Client(connection, GroupVersionResource.Jobs, "Job", SampleJsonContext.Default.Job, Job, @namespace, fieldManager, labelSelector);

    private static IResourceClient<T> Client<T>(
        KubernetesConnection connection,
        GroupVersionResource resource,
        string kind,
        JsonTypeInfo<T> typeInfo,
        ObjectMetadataAccessor<T> accessor,
        string? @namespace,
        string? fieldManager,
        string? labelSelector)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(connection);
        return connection.Resource(new ResourceClientOptions<T>
        {
            Resource = resource,
            Kind = kind,
            Namespace = @namespace,
            FieldManager = fieldManager,
            LabelSelector = labelSelector,
            TypeInfo = typeInfo,
            Accessor = accessor,
        });
    }

    private static ObjectMetadataAccessor<T> For<T>()
        where T : IKubeObject => ObjectMetadataAccessor.Create(new ObjectMetadataFunctions<T>
        {
            HasMetadata = static o => o?.Metadata is not null,
            GetNamespace = static o => o.Metadata?.Namespace,
            GetName = static o => o.Metadata?.Name,
            GetUid = static o => o.Metadata?.Uid,
            GetResourceVersion = static o => o.Metadata?.ResourceVersion,
            GetLabels = static o => o.Metadata?.Labels,
            GetOwnerReferences = static o => o.Metadata?.OwnerReferences is { Count: > 0 } refs ? refs.ConvertAll(static r => r.ToOwnerReference()) : null,
            GetDeletionTimestamp = static o => o.Metadata?.DeletionTimestamp,
            GetGeneration = static o => o.Metadata?.Generation,
        });
}

/// <summary>Small helpers over the sample models.</summary>
public static class ModelExtensions
{
    /// <summary>The <c>namespace/name</c> key.</summary>
    public static string Key(this IKubeObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        return ObjectKeys.MetaNamespaceKey(obj.Metadata?.Namespace, obj.Metadata?.Name);
    }

    /// <summary>The controller owner reference, or <see langword="null"/>.</summary>
    public static OwnerRef? ControllerRef(this IKubeObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        if (obj.Metadata?.OwnerReferences is not { } refs)
        {
            return null;
        }

        foreach (var r in refs)
        {
            if (r.Controller == true)
            {
                return r;
            }
        }

        return null;
    }

    /// <summary>Whether the object is being deleted.</summary>
    public static bool IsDeleting(this IKubeObject obj) => obj?.Metadata?.DeletionTimestamp is not null;

    /// <summary>Whether the pod reached <c>Succeeded</c> or <c>Failed</c>.</summary>
    public static bool IsFinished(this Pod pod) => pod?.Status?.Phase is "Succeeded" or "Failed";

    /// <summary>Go: <c>podutil.IsPodReady</c>: the <c>Ready</c> condition is <c>True</c>.</summary>
    public static bool IsReady(this Pod pod) => pod?.Status?.Conditions?.Exists(static c => c.Type == "Ready" && c.Status == "True") == true;

    /// <summary>When the pod last became ready, or <see langword="null"/>.</summary>
    public static DateTimeOffset? ReadySince(this Pod pod) => pod?.Status?.Conditions?.Find(static c => c.Type == "Ready" && c.Status == "True")?.LastTransitionTime;

    /// <summary>A label value, or <see langword="null"/>.</summary>
    public static string? Label(this IKubeObject obj, string key) =>
        obj?.Metadata?.Labels is { } labels && labels.TryGetValue(key, out var value) ? value : null;
}
