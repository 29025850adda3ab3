using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using KubeConsistency.Consistency;
using KubeConsistency.Controllers;
using KubeConsistency.Informers;

namespace KubeConsistency.Tests.Controllers;

/// <summary>A cache whose applied resource version the test sets (upstream's fake <c>LastSyncRVGetter</c>).</summary>
internal sealed class FakeRvGetter(string resourceVersion = "") : ILastSyncResourceVersionGetter
{
    private string _rv = resourceVersion;

    public string LastStoreSyncResourceVersion
    {
        get => Volatile.Read(ref _rv);
        set => Volatile.Write(ref _rv, value);
    }
}

/// <summary>A handler registration the test marks synced.</summary>
internal sealed class FakeRegistration : IEventHandlerRegistration
{
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool HasSynced => _synced.Task.IsCompleted;

    public Task Synced => _synced.Task;

    public void MarkSynced() => _synced.TrySetResult();
}

/// <summary>A pod shaped like KubernetesClient's V1Pod, with the metadata controllers use.</summary>
public sealed class CtlPod
{
    public string? ApiVersion { get; set; } = "v1";

    public string? Kind { get; set; } = "Pod";

    public CtlMeta? Metadata { get; set; }

    public CtlPodSpec? Spec { get; set; }

    public JsonElement? Status { get; set; }
}

/// <summary>A ReplicaSet shaped like KubernetesClient's V1ReplicaSet (metadata only matters here).</summary>
public sealed class CtlReplicaSet
{
    public CtlMeta? Metadata { get; set; }
}

/// <summary>V1ObjectMeta's shape: IDictionary labels, IList owner references, DateTime? deletion timestamp, long? generation.</summary>
public sealed class CtlMeta
{
    public string? Name { get; set; }

    public string? GenerateName { get; set; }

    [JsonPropertyName("namespace")]
    public string? NamespaceProperty { get; set; }

    public string? Uid { get; set; }

    public string? ResourceVersion { get; set; }

    public long? Generation { get; set; }

    public DateTime? DeletionTimestamp { get; set; }

    public IDictionary<string, string>? Labels { get; set; }

    public IList<CtlOwnerReference>? OwnerReferences { get; set; }
}

public sealed class CtlOwnerReference
{
    public string? ApiVersion { get; set; }

    public string? Kind { get; set; }

    public string? Name { get; set; }

    public string? Uid { get; set; }

    public bool? Controller { get; set; }

    public bool? BlockOwnerDeletion { get; set; }
}

public sealed class CtlPodSpec
{
    public List<CtlContainer>? Containers { get; set; }
}

public sealed class CtlContainer
{
    public string? Name { get; set; }

    public string? Image { get; set; }
}

internal static class ControllerTest
{
    /// <summary>A guard against hangs: fails the test rather than waiting forever.</summary>
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    /// <summary>A queue/controller name unique to one test, so parallel tests never share metric series.</summary>
    public static string UniqueName(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    public static async Task<T> NextAsync<T>(this ChannelReader<T> reader) => await reader.ReadAsync().AsTask().WaitAsync(Guard);

    public static CtlReplicaSet ReplicaSet(string ns, string name, string uid) => new()
    {
        Metadata = new CtlMeta { NamespaceProperty = ns, Name = name, Uid = uid, ResourceVersion = "1" },
    };

    /// <summary>Builds a pod from a pod-control request, the way a ReplicaSet controller copies its template.</summary>
    public static CtlPod PodFrom(PodCreateRequest request) => new()
    {
        Metadata = new CtlMeta
        {
            NamespaceProperty = request.Namespace,
            GenerateName = request.GenerateName,
            Labels = new Dictionary<string, string>(request.Labels),
            OwnerReferences =
            [
                new CtlOwnerReference
                {
                    ApiVersion = request.ControllerRef.ApiVersion,
                    Kind = request.ControllerRef.Kind,
                    Name = request.ControllerRef.Name,
                    Uid = request.ControllerRef.Uid,
                    Controller = request.ControllerRef.Controller,
                    BlockOwnerDeletion = request.ControllerRef.BlockOwnerDeletion,
                },
            ],
        },
        Spec = new CtlPodSpec { Containers = [new CtlContainer { Name = "app", Image = "nginx" }] },
    };
}
