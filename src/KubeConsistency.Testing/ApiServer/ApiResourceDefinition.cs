namespace KubeConsistency.Testing;

/// <summary>How dependents of a deleted object are treated (Kubernetes <c>DeletionPropagation</c>).</summary>
public enum ApiDeletionPropagation
{
    /// <summary>Dependents keep existing; the owner reference to the deleted object is removed from them.</summary>
    Orphan,

    /// <summary>The owner is deleted at once; dependents are deleted right after it.</summary>
    Background,

    /// <summary>Dependents are deleted first; the owner carries the <c>foregroundDeletion</c> finalizer until then.</summary>
    Foreground,
}

/// <summary>An extra column of the server-side Table rendering of a resource (like a CRD's <c>additionalPrinterColumns</c>).</summary>
/// <param name="Name">Column header, for example <c>Phase</c>.</param>
/// <param name="Type">OpenAPI type of the cell: <c>string</c>, <c>integer</c>, <c>number</c>, <c>boolean</c> or <c>date</c>.</param>
/// <param name="JsonPath">Simple dotted path into the object, for example <c>.status.phase</c>; array indexes as <c>[0]</c>.</param>
public sealed record ApiTableColumn(string Name, string Type, string JsonPath)
{
    /// <summary>Column description shown in <c>columnDefinitions</c>.</summary>
    public string Description { get; init; } = "";

    /// <summary>0 for default <c>kubectl get</c> columns, 1 for columns that only appear with <c>-o wide</c>.</summary>
    public int Priority { get; init; }

    /// <summary>OpenAPI format of the cell (usually empty).</summary>
    public string Format { get; init; } = "";
}

/// <summary>
/// Describes one API resource served by <see cref="EmbeddedApiServer"/>: its group, version, kind, names, scope
/// and subresources. The static instances are the built-in resources; custom resources are added with
/// <see cref="EmbeddedApiServer.RegisterResource"/> or <see cref="EmbeddedApiServerOptions.AdditionalResources"/>.
/// </summary>
/// <param name="Group">API group; empty for the core group.</param>
/// <param name="Version">API version, for example <c>v1</c>.</param>
/// <param name="Kind">Kind, for example <c>Widget</c>.</param>
/// <param name="Plural">Plural resource name used in URLs, for example <c>widgets</c>.</param>
/// <param name="Singular">Singular resource name, for example <c>widget</c>.</param>
/// <param name="Namespaced">Whether objects live in namespaces.</param>
public sealed record ApiResourceDefinition(string Group, string Version, string Kind, string Plural, string Singular, bool Namespaced)
{
    /// <summary>Short names (for example <c>po</c>) listed in discovery.</summary>
    public IReadOnlyList<string> ShortNames { get; init; } = [];

    /// <summary>Categories (for example <c>all</c>) listed in discovery.</summary>
    public IReadOnlyList<string> Categories { get; init; } = [];

    /// <summary>Whether the resource has a <c>/status</c> subresource. Then writes to the main resource ignore <c>status</c> and writes to <c>/status</c> change only <c>status</c>.</summary>
    public bool HasStatusSubresource { get; init; }

    /// <summary>Whether the resource has a <c>/scale</c> subresource (<c>autoscaling/v1</c> Scale over <c>.spec.replicas</c>, <c>.status.replicas</c>).</summary>
    public bool HasScaleSubresource { get; init; }

    /// <summary>Whether <c>metadata.generation</c> is maintained (1 on create, +1 when anything but metadata or status changes).</summary>
    public bool TracksGeneration { get; init; } = true;

    /// <summary>Fields usable in <c>fieldSelector</c> besides <c>metadata.name</c> and <c>metadata.namespace</c>, as dotted paths such as <c>spec.nodeName</c>.</summary>
    public IReadOnlyList<string> SelectableFields { get; init; } = [];

    /// <summary>Columns of the Table rendering between Name and Age for resources without a built-in printer.</summary>
    public IReadOnlyList<ApiTableColumn> TableColumns { get; init; } = [];

    /// <summary>Propagation used by DELETE when the request names none.</summary>
    public ApiDeletionPropagation DefaultPropagation { get; init; } = ApiDeletionPropagation.Background;

    /// <summary>The <c>apiVersion</c> of objects: <c>v1</c> for the core group, else <c>group/version</c>.</summary>
    public string ApiVersion => Group.Length == 0 ? Version : Group + "/" + Version;

    /// <summary>The Kubernetes group-qualified resource name used in error messages: <c>pods</c> or <c>replicasets.apps</c>.</summary>
    public string QualifiedResource => Group.Length == 0 ? Plural : Plural + "." + Group;

    private static readonly string[] s_all = ["all"];

    /// <summary>Core <c>v1</c> Pods (namespaced, status subresource, selectable pod fields).</summary>
    public static ApiResourceDefinition Pods { get; } = new("", "v1", "Pod", "pods", "pod", Namespaced: true)
    {
        ShortNames = ["po"],
        Categories = s_all,
        HasStatusSubresource = true,
        TracksGeneration = false,
        SelectableFields =
        [
            "spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
            "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName",
        ],
    };

    /// <summary>Core <c>v1</c> ConfigMaps.</summary>
    public static ApiResourceDefinition ConfigMaps { get; } = new("", "v1", "ConfigMap", "configmaps", "configmap", Namespaced: true)
    {
        ShortNames = ["cm"],
        TracksGeneration = false,
    };

    /// <summary>Core <c>v1</c> Namespaces (cluster-scoped, status subresource).</summary>
    public static ApiResourceDefinition Namespaces { get; } = new("", "v1", "Namespace", "namespaces", "namespace", Namespaced: false)
    {
        ShortNames = ["ns"],
        HasStatusSubresource = true,
        TracksGeneration = false,
        SelectableFields = ["status.phase"],
    };

    /// <summary><c>apps/v1</c> ReplicaSets (status and scale subresources).</summary>
    public static ApiResourceDefinition ReplicaSets { get; } = new("apps", "v1", "ReplicaSet", "replicasets", "replicaset", Namespaced: true)
    {
        ShortNames = ["rs"],
        Categories = s_all,
        HasStatusSubresource = true,
        HasScaleSubresource = true,
        SelectableFields = ["status.replicas"],
    };

    /// <summary><c>batch/v1</c> Jobs (status subresource; default propagation Orphan like batch/v1).</summary>
    public static ApiResourceDefinition Jobs { get; } = new("batch", "v1", "Job", "jobs", "job", Namespaced: true)
    {
        Categories = s_all,
        HasStatusSubresource = true,
        SelectableFields = ["status.successful"],
        DefaultPropagation = ApiDeletionPropagation.Orphan,
    };

    /// <summary><c>coordination.k8s.io/v1</c> Leases.</summary>
    public static ApiResourceDefinition Leases { get; } = new("coordination.k8s.io", "v1", "Lease", "leases", "lease", Namespaced: true)
    {
        TracksGeneration = false,
    };

    /// <summary>Core <c>v1</c> Nodes (cluster-scoped, status subresource). There is no node lifecycle: a node is what its object says.</summary>
    public static ApiResourceDefinition Nodes { get; } = new("", "v1", "Node", "nodes", "node", Namespaced: false)
    {
        ShortNames = ["no"],
        HasStatusSubresource = true,
        TracksGeneration = false,
        SelectableFields = ["spec.unschedulable"],
    };

    /// <summary><c>apps/v1</c> DaemonSets (status subresource).</summary>
    public static ApiResourceDefinition DaemonSets { get; } = new("apps", "v1", "DaemonSet", "daemonsets", "daemonset", Namespaced: true)
    {
        ShortNames = ["ds"],
        Categories = s_all,
        HasStatusSubresource = true,
        TableColumns =
        [
            new("Desired", "integer", ".status.desiredNumberScheduled"),
            new("Current", "integer", ".status.currentNumberScheduled"),
            new("Ready", "integer", ".status.numberReady"),
        ],
    };

    /// <summary><c>apps/v1</c> StatefulSets (status and scale subresources).</summary>
    public static ApiResourceDefinition StatefulSets { get; } = new("apps", "v1", "StatefulSet", "statefulsets", "statefulset", Namespaced: true)
    {
        ShortNames = ["sts"],
        Categories = s_all,
        HasStatusSubresource = true,
        HasScaleSubresource = true,
        TableColumns =
        [
            new("Replicas", "integer", ".spec.replicas"),
            new("Ready", "integer", ".status.readyReplicas"),
        ],
    };

    /// <summary>
    /// The built-in resources, in the order they are registered: exactly what the recorded kube-apiserver of the wire
    /// fixtures served, so discovery matches it byte for byte. <see cref="Nodes"/>, <see cref="DaemonSets"/> and
    /// <see cref="StatefulSets"/> are registered on request (<see cref="Workloads"/>).
    /// </summary>
    public static IReadOnlyList<ApiResourceDefinition> BuiltIn { get; } = [ConfigMaps, Namespaces, Pods, ReplicaSets, Jobs, Leases];

    /// <summary>
    /// Nodes, DaemonSets and StatefulSets, with the same server-side behaviour as the built-ins (defaulting, status
    /// subresource, scale): add them with <c>EmbeddedApiServerOptions.AdditionalResources</c>.
    /// </summary>
    public static IReadOnlyList<ApiResourceDefinition> Workloads { get; } = [Nodes, DaemonSets, StatefulSets];
}
