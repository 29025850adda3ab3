using System.Text.Json;
using System.Text.Json.Serialization;

namespace KubeConsistency.Benchmarks.Sync;

// A Pod-shaped model (the subset of core/v1 a typical controller reads), deserialized with a source-generated
// JsonSerializerContext. Unknown members are skipped. Quantities stay strings and timestamps are DateTimeOffset
// (client-go parses both; KubernetesClient keeps quantities as strings too).

/// <summary>core/v1 Pod.</summary>
public sealed class BenchPod
{
    public string? ApiVersion { get; set; }

    public string? Kind { get; set; }

    public BenchObjectMeta? Metadata { get; set; }

    public BenchPodSpec? Spec { get; set; }

    public BenchPodStatus? Status { get; set; }
}

/// <summary>meta/v1 ObjectMeta.</summary>
public sealed class BenchObjectMeta
{
    public string? Name { get; set; }

    public string? GenerateName { get; set; }

    public string? Namespace { get; set; }

    public string? Uid { get; set; }

    public string? ResourceVersion { get; set; }

    public long? Generation { get; set; }

    public DateTimeOffset? CreationTimestamp { get; set; }

    public DateTimeOffset? DeletionTimestamp { get; set; }

    public Dictionary<string, string>? Labels { get; set; }

    public Dictionary<string, string>? Annotations { get; set; }

    public List<BenchOwnerReference>? OwnerReferences { get; set; }

    public List<string>? Finalizers { get; set; }

    public List<BenchManagedFieldsEntry>? ManagedFields { get; set; }
}

/// <summary>meta/v1 OwnerReference.</summary>
public sealed class BenchOwnerReference
{
    public string? ApiVersion { get; set; }

    public string? Kind { get; set; }

    public string? Name { get; set; }

    public string? Uid { get; set; }

    public bool? Controller { get; set; }

    public bool? BlockOwnerDeletion { get; set; }
}

/// <summary>meta/v1 ManagedFieldsEntry; <c>fieldsV1</c> kept as raw JSON (Go keeps it as raw bytes).</summary>
public sealed class BenchManagedFieldsEntry
{
    public string? Manager { get; set; }

    public string? Operation { get; set; }

    public string? ApiVersion { get; set; }

    public DateTimeOffset? Time { get; set; }

    public string? FieldsType { get; set; }

    public JsonElement? FieldsV1 { get; set; }

    public string? Subresource { get; set; }
}

/// <summary>core/v1 PodSpec (subset).</summary>
public sealed class BenchPodSpec
{
    public List<BenchContainer>? Containers { get; set; }

    public List<BenchContainer>? InitContainers { get; set; }

    public string? RestartPolicy { get; set; }

    public long? TerminationGracePeriodSeconds { get; set; }

    public string? DnsPolicy { get; set; }

    public string? ServiceAccountName { get; set; }

    public string? ServiceAccount { get; set; }

    public string? NodeName { get; set; }

    public string? SchedulerName { get; set; }

    public int? Priority { get; set; }

    public bool? EnableServiceLinks { get; set; }

    public string? PreemptionPolicy { get; set; }

    public Dictionary<string, string>? NodeSelector { get; set; }

    public List<BenchToleration>? Tolerations { get; set; }

    public List<BenchVolume>? Volumes { get; set; }
}

/// <summary>core/v1 Container (subset).</summary>
public sealed class BenchContainer
{
    public string? Name { get; set; }

    public string? Image { get; set; }

    public List<string>? Command { get; set; }

    public List<string>? Args { get; set; }

    public List<BenchContainerPort>? Ports { get; set; }

    public List<BenchEnvVar>? Env { get; set; }

    public BenchResources? Resources { get; set; }

    public List<BenchVolumeMount>? VolumeMounts { get; set; }

    public string? TerminationMessagePath { get; set; }

    public string? TerminationMessagePolicy { get; set; }

    public string? ImagePullPolicy { get; set; }
}

/// <summary>core/v1 ContainerPort.</summary>
public sealed class BenchContainerPort
{
    public string? Name { get; set; }

    public int ContainerPort { get; set; }

    public string? Protocol { get; set; }
}

/// <summary>core/v1 EnvVar (value only).</summary>
public sealed class BenchEnvVar
{
    public string? Name { get; set; }

    public string? Value { get; set; }
}

/// <summary>core/v1 ResourceRequirements (quantities as strings).</summary>
public sealed class BenchResources
{
    public Dictionary<string, string>? Limits { get; set; }

    public Dictionary<string, string>? Requests { get; set; }
}

/// <summary>core/v1 VolumeMount.</summary>
public sealed class BenchVolumeMount
{
    public string? Name { get; set; }

    public string? MountPath { get; set; }

    public bool? ReadOnly { get; set; }
}

/// <summary>core/v1 Volume (projected/configMap sources as raw JSON).</summary>
public sealed class BenchVolume
{
    public string? Name { get; set; }

    public JsonElement? ConfigMap { get; set; }

    public JsonElement? Projected { get; set; }
}

/// <summary>core/v1 Toleration.</summary>
public sealed class BenchToleration
{
    public string? Key { get; set; }

    public string? Operator { get; set; }

    public string? Effect { get; set; }

    public long? TolerationSeconds { get; set; }
}

/// <summary>core/v1 PodStatus (subset).</summary>
public sealed class BenchPodStatus
{
    public string? Phase { get; set; }

    public List<BenchPodCondition>? Conditions { get; set; }

    public string? HostIP { get; set; }

    public string? PodIP { get; set; }

    public List<BenchPodIP>? PodIPs { get; set; }

    public DateTimeOffset? StartTime { get; set; }

    public string? QosClass { get; set; }

    public List<BenchContainerStatus>? ContainerStatuses { get; set; }
}

/// <summary>core/v1 PodCondition.</summary>
public sealed class BenchPodCondition
{
    public string? Type { get; set; }

    public string? Status { get; set; }

    public DateTimeOffset? LastProbeTime { get; set; }

    public DateTimeOffset? LastTransitionTime { get; set; }

    public string? Reason { get; set; }

    public string? Message { get; set; }
}

/// <summary>core/v1 PodIP.</summary>
public sealed class BenchPodIP
{
    public string? Ip { get; set; }
}

/// <summary>core/v1 ContainerStatus (subset; state as raw JSON).</summary>
public sealed class BenchContainerStatus
{
    public string? Name { get; set; }

    public bool Ready { get; set; }

    public int RestartCount { get; set; }

    public string? Image { get; set; }

    public string? ImageID { get; set; }

    public string? ContainerID { get; set; }

    public bool? Started { get; set; }

    public JsonElement? State { get; set; }
}

/// <summary>A list envelope, for the phase breakdown (the informer itself streams items).</summary>
public sealed class BenchPodList
{
    public JsonElement Metadata { get; set; }

    public List<BenchPod>? Items { get; set; }
}

/// <summary>A watch event envelope, for the one-pass decode comparison.</summary>
public sealed class BenchWatchEvent
{
    public string? Type { get; set; }

    public BenchPod? Object { get; set; }
}

/// <summary>The source-generated contract for the model.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(BenchPod))]
[JsonSerializable(typeof(BenchPodList))]
[JsonSerializable(typeof(BenchWatchEvent))]
[JsonSerializable(typeof(System.Text.Json.Nodes.JsonNode))]
public sealed partial class BenchJsonContext : JsonSerializerContext;

/// <summary>
/// The same contract with <see cref="KubeConsistency.Http.DeduplicatingStringConverter"/> for every string
/// (client flag <c>--dedup-strings</c>): repeated namespaces, labels, images, node names share one instance.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(KubeConsistency.Http.DeduplicatingStringConverter), typeof(KubeConsistency.Http.DeduplicatingJsonElementConverter)])]
[JsonSerializable(typeof(BenchPod))]
[JsonSerializable(typeof(BenchPodList))]
[JsonSerializable(typeof(BenchWatchEvent))]
public sealed partial class BenchDedupJsonContext : JsonSerializerContext;
