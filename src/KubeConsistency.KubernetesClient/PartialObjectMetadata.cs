using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace KubeConsistency.KubernetesClient;

/// <summary>
/// An object's metadata without its spec or status (Go: <c>metav1.PartialObjectMetadata</c>), what metadata-only resource
/// clients and informers hold (<see cref="KubernetesClientExtensions.CreateMetadataInformer"/>). KubernetesClient 21 has no
/// such model, so this one carries KubernetesClient's <see cref="V1ObjectMeta"/> and works with its accessor, transforms
/// and serializer options like any other model.
/// </summary>
/// <remarks>
/// <see cref="Kind"/> and <see cref="ApiVersion"/> are what the server sent: <c>PartialObjectMetadata</c> and
/// <c>meta.k8s.io/v1</c>, or the resource's own kind and version from a server that ignores <c>as=PartialObjectMetadata</c>
/// and answers with whole objects (whose other members are not kept).
/// </remarks>
public sealed class PartialObjectMetadata : IKubernetesObject<V1ObjectMeta>
{
    /// <summary>The kind a server gives metadata-only objects.</summary>
    public const string KubeKind = "PartialObjectMetadata";

    /// <summary>The API version a server gives metadata-only objects.</summary>
    public const string KubeApiVersion = "meta.k8s.io/v1";

    /// <summary>The object's API version (<see cref="KubeApiVersion"/> from a server that honours the request).</summary>
    [JsonPropertyName("apiVersion")]
    public string? ApiVersion { get; set; }

    /// <summary>The object's kind (<see cref="KubeKind"/> from a server that honours the request).</summary>
    [JsonPropertyName("kind")]
    public string? Kind { get; set; }

    /// <summary>The object's metadata.</summary>
    [JsonPropertyName("metadata")]
    public V1ObjectMeta? Metadata { get; set; }

    string IKubernetesObject.ApiVersion
    {
        get => ApiVersion!;
        set => ApiVersion = value;
    }

    string IKubernetesObject.Kind
    {
        get => Kind!;
        set => Kind = value;
    }

    V1ObjectMeta IMetadata<V1ObjectMeta>.Metadata
    {
        get => Metadata!;
        set => Metadata = value;
    }
}
