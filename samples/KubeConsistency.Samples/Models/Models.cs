using System.Text.Json;
using System.Text.Json.Serialization;

namespace KubeConsistency.Samples.Models;

/// <summary>An object with Kubernetes object metadata (what <see cref="SampleAccessors"/> reads).</summary>
public interface IKubeObject
{
    /// <summary>The object's metadata.</summary>
    ObjectMeta? Metadata { get; }
}

/// <summary><c>metadata</c>: the fields the sample controllers read and write (Go: <c>metav1.ObjectMeta</c>).</summary>
public sealed class ObjectMeta
{
    public string? Name { get; set; }

    public string? GenerateName { get; set; }

    [JsonPropertyName("namespace")]
    public string? Namespace { get; set; }

    public string? Uid { get; set; }

    public string? ResourceVersion { get; set; }

    public long? Generation { get; set; }

    public DateTimeOffset? CreationTimestamp { get; set; }

    public DateTimeOffset? DeletionTimestamp { get; set; }

    public Dictionary<string, string>? Labels { get; set; }

    public Dictionary<string, string>? Annotations { get; set; }

    public List<OwnerRef>? OwnerReferences { get; set; }

    public List<string>? Finalizers { get; set; }

    /// <summary>Fields this model does not name (managedFields, …), kept so that a round trip loses nothing.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? ExtensionData { get; set; }
}

/// <summary>An entry of <c>metadata.ownerReferences</c>.</summary>
public sealed class OwnerRef
{
    public string? ApiVersion { get; set; }

    public string? Kind { get; set; }

    public string? Name { get; set; }

    public string? Uid { get; set; }

    public bool? Controller { get; set; }

    public bool? BlockOwnerDeletion { get; set; }

    /// <summary>Converts the library's reference (e.g. from <see cref="OwnerReference.NewControllerRef"/>).</summary>
    public static OwnerRef From(OwnerReference reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        return new()
        {
            ApiVersion = reference.ApiVersion,
            Kind = reference.Kind,
            Name = reference.Name,
            Uid = reference.Uid,
            Controller = reference.Controller,
            BlockOwnerDeletion = reference.BlockOwnerDeletion,
        };
    }

    /// <summary>Converts to the library's reference.</summary>
    public OwnerReference ToOwnerReference() => new(ApiVersion ?? string.Empty, Kind ?? string.Empty, Name ?? string.Empty, Uid ?? string.Empty, Controller, BlockOwnerDeletion);
}

/// <summary><c>spec.selector</c> (Go: <c>metav1.LabelSelector</c>).</summary>
public sealed class LabelSelectorSpec
{
    public Dictionary<string, string>? MatchLabels { get; set; }

    public List<LabelSelectorRequirementSpec>? MatchExpressions { get; set; }

    /// <summary>The selector as the library's <see cref="LabelSelector"/>; a missing selector selects nothing (upstream).</summary>
    public static LabelSelector ToSelector(LabelSelectorSpec? spec) => spec is null
        ? LabelSelector.Nothing
        : LabelSelector.FromLabelSelector(spec.MatchLabels, spec.MatchExpressions?.Select(e => new LabelSelectorRequirement(e.Key ?? string.Empty, e.Operator ?? string.Empty, e.Values)));
}

/// <summary>An entry of <c>matchExpressions</c>.</summary>
public sealed class LabelSelectorRequirementSpec
{
    public string? Key { get; set; }

    public string? Operator { get; set; }

    public List<string>? Values { get; set; }
}

/// <summary><c>spec.template</c> of a ReplicaSet or Job.</summary>
public sealed class PodTemplateSpec
{
    public ObjectMeta? Metadata { get; set; }

    public PodSpec? Spec { get; set; }
}

// ------------------------------------------------------------------------------------------------------------ Pod

/// <summary>A <c>v1</c> Pod.</summary>
public sealed class Pod : IKubeObject
{
    public string? ApiVersion { get; set; } = "v1";

    public string? Kind { get; set; } = "Pod";

    public ObjectMeta? Metadata { get; set; }

    public PodSpec? Spec { get; set; }

    public PodStatus? Status { get; set; }
}

/// <summary><c>spec</c> of a Pod.</summary>
public sealed class PodSpec
{
    public List<Container>? Containers { get; set; }

    public string? RestartPolicy { get; set; }

    public string? NodeName { get; set; }

    /// <summary>Fields this model does not name (server defaults such as dnsPolicy), kept across a copy.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? ExtensionData { get; set; }
}

/// <summary>A container of a pod spec.</summary>
public sealed class Container
{
    public string? Name { get; set; }

    public string? Image { get; set; }

    public List<string>? Command { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? ExtensionData { get; set; }
}

/// <summary><c>status</c> of a Pod.</summary>
public sealed class PodStatus
{
    /// <summary><c>Pending</c>, <c>Running</c>, <c>Succeeded</c>, <c>Failed</c> or <c>Unknown</c>.</summary>
    public string? Phase { get; set; }

    public List<PodCondition>? Conditions { get; set; }

    public DateTimeOffset? StartTime { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? ExtensionData { get; set; }
}

/// <summary>A pod condition (e.g. <c>Ready</c>).</summary>
public sealed class PodCondition
{
    public string? Type { get; set; }

    public string? Status { get; set; }

    public DateTimeOffset? LastTransitionTime { get; set; }
}

// ------------------------------------------------------------------------------------------------------------ ReplicaSet

/// <summary>An <c>apps/v1</c> ReplicaSet.</summary>
public sealed class ReplicaSet : IKubeObject
{
    public string? ApiVersion { get; set; } = "apps/v1";

    public string? Kind { get; set; } = "ReplicaSet";

    public ObjectMeta? Metadata { get; set; }

    public ReplicaSetSpec? Spec { get; set; }

    public ReplicaSetStatus? Status { get; set; }
}

/// <summary><c>spec</c> of a ReplicaSet.</summary>
public sealed class ReplicaSetSpec
{
    public int? Replicas { get; set; }

    public int? MinReadySeconds { get; set; }

    public LabelSelectorSpec? Selector { get; set; }

    public PodTemplateSpec? Template { get; set; }
}

/// <summary><c>status</c> of a ReplicaSet.</summary>
public sealed record ReplicaSetStatus
{
    public int Replicas { get; set; }

    public int? FullyLabeledReplicas { get; set; }

    public int? ReadyReplicas { get; set; }

    public int? AvailableReplicas { get; set; }

    public long? ObservedGeneration { get; set; }
}

// ------------------------------------------------------------------------------------------------------------ Job

/// <summary>A <c>batch/v1</c> Job.</summary>
public sealed class Job : IKubeObject
{
    public string? ApiVersion { get; set; } = "batch/v1";

    public string? Kind { get; set; } = "Job";

    public ObjectMeta? Metadata { get; set; }

    public JobSpec? Spec { get; set; }

    public JobStatus? Status { get; set; }
}

/// <summary><c>spec</c> of a Job.</summary>
public sealed class JobSpec
{
    public int? Parallelism { get; set; }

    public int? Completions { get; set; }

    public int? BackoffLimit { get; set; }

    public LabelSelectorSpec? Selector { get; set; }

    public bool? ManualSelector { get; set; }

    /// <summary>
    /// Which controller manages the Job (Kubernetes ≥ 1.32: kube-controller-manager's Job controller ignores Jobs whose
    /// <c>managedBy</c> is not <c>kubernetes.io/job-controller</c>). The demo sets it on a real cluster.
    /// </summary>
    public string? ManagedBy { get; set; }

    public PodTemplateSpec? Template { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? ExtensionData { get; set; }
}

/// <summary><c>status</c> of a Job.</summary>
public sealed class JobStatus
{
    public int? Active { get; set; }

    public int? Succeeded { get; set; }

    public int? Failed { get; set; }

    public int? Ready { get; set; }

    public DateTimeOffset? StartTime { get; set; }

    public DateTimeOffset? CompletionTime { get; set; }

    public List<JobCondition>? Conditions { get; set; }
}

/// <summary>A Job condition (<c>Complete</c> or <c>Failed</c>).</summary>
public sealed class JobCondition
{
    public string? Type { get; set; }

    public string? Status { get; set; }

    public string? Reason { get; set; }

    public string? Message { get; set; }

    public DateTimeOffset? LastTransitionTime { get; set; }
}

/// <summary>The System.Text.Json contracts of the sample models (camelCase, nulls omitted), source-generated.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Pod))]
[JsonSerializable(typeof(ReplicaSet))]
[JsonSerializable(typeof(Job))]
public sealed partial class SampleJsonContext : JsonSerializerContext;
