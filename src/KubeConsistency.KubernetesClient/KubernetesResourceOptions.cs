namespace KubeConsistency.KubernetesClient;

/// <summary>
/// Which objects of a KubernetesClient model type a resource client or informer addresses. The group, version, plural
/// and kind come from the type's <c>[KubernetesEntity]</c> attribute unless <see cref="Resource"/> says otherwise.
/// </summary>
public sealed class KubernetesResourceOptions
{
    /// <summary>The namespace to list and watch, and the default for writes; <see langword="null"/> means all namespaces.</summary>
    public string? Namespace { get; init; }

    /// <summary>A label selector applied to every list and watch.</summary>
    public string? LabelSelector { get; init; }

    /// <summary>A field selector applied to every list and watch.</summary>
    public string? FieldSelector { get; init; }

    /// <summary>The <c>fieldManager</c> sent with writes; <see langword="null"/> lets the server derive it from the User-Agent.</summary>
    public string? FieldManager { get; init; }

    /// <summary>
    /// Whether the resource is namespaced. <see langword="null"/> (default): built-in cluster-scoped kinds (Node,
    /// Namespace, PersistentVolume, ClusterRole, …) are cluster-scoped, every other kind namespaced. Set it for a
    /// cluster-scoped custom resource.
    /// </summary>
    public bool? Namespaced { get; init; }

    /// <summary>The resource, for a model type without <c>[KubernetesEntity]</c>; <see langword="null"/> reads the attribute.</summary>
    public GroupVersionResource? Resource { get; init; }

    /// <summary>The kind, for a model type without <c>[KubernetesEntity]</c>; <see langword="null"/> reads the attribute.</summary>
    public string? Kind { get; init; }

    /// <summary>
    /// Decode without <c>metadata.managedFields</c>: the reader skips them, so they cost neither allocation nor a place in
    /// the cache (controller-runtime users strip them with a transform after decoding; skipping is cheaper). Objects are
    /// otherwise exactly what KubernetesClient decodes. Applies to every object this client or informer returns, writes'
    /// answers included; an update sent from such an object leaves the server's managed fields as they are. Default
    /// <see langword="false"/>.
    /// </summary>
    public bool SkipManagedFields { get; init; }

    /// <summary>
    /// Share repeated values between decoded objects: short strings through <see cref="Http.DeduplicatingStringConverter"/>
    /// (namespaces, label keys and values, images, node names), <see cref="k8s.Models.ResourceQuantity"/> instances of the
    /// same text, and equal <c>managedFields[].fieldsV1</c> field sets (one boxed <see cref="System.Text.Json.JsonElement"/>).
    /// This cuts what a large cache retains and what its decode allocates. Values are equal to KubernetesClient's, with
    /// the same types and text; only their identity is shared, and each shared type is immutable, so even code that
    /// (against the cache's contract) changes a cached object cannot change another through them. Default
    /// <see langword="true"/>; <see langword="false"/> decodes exactly as KubernetesClient does, instance for instance.
    /// </summary>
    public bool DeduplicateValues { get; init; } = true;

    /// <summary>These options with <see cref="SkipManagedFields"/> on.</summary>
    internal KubernetesResourceOptions WithSkipManagedFields() => SkipManagedFields ? this : new()
    {
        Namespace = Namespace,
        LabelSelector = LabelSelector,
        FieldSelector = FieldSelector,
        FieldManager = FieldManager,
        Namespaced = Namespaced,
        Resource = Resource,
        Kind = Kind,
        SkipManagedFields = true,
        DeduplicateValues = DeduplicateValues,
    };

    /// <summary>The options when none are given.</summary>
    internal static KubernetesResourceOptions Default { get; } = new();

    /// <summary>What a shared informer factory keys informers of these options by (besides type and resource).</summary>
    internal string InformerScope => $"{Namespace}|{LabelSelector}|{FieldSelector}|{SkipManagedFields}|{DeduplicateValues}";
}
