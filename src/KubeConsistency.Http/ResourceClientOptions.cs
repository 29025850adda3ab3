using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace KubeConsistency.Http;

/// <summary>Describes the resource a <see cref="IResourceClient{T}"/> addresses and how its JSON maps to <typeparamref name="T"/>.</summary>
/// <typeparam name="T">The object type.</typeparam>
public sealed class ResourceClientOptions<T>
{
    /// <summary>The API group, version and plural resource, e.g. <see cref="GroupVersionResource.Pods"/>.</summary>
    public required GroupVersionResource Resource { get; init; }

    /// <summary>
    /// The kind (e.g. <c>Pod</c>). When set, watch objects of another kind (for example server-side
    /// <c>Table</c> rows) are rejected with <see cref="WatchDecodeException"/>, as client-go's reflector refuses
    /// them. <see langword="null"/> accepts any kind.
    /// </summary>
    public string? Kind { get; init; }

    /// <summary>Whether the resource is namespaced (default <see langword="true"/>).</summary>
    public bool Namespaced { get; init; } = true;

    /// <summary>
    /// The namespace to list and watch; <see langword="null"/> means all namespaces. Writes and reads of one
    /// object fall back to it (then to the connection's namespace) when no namespace is given.
    /// </summary>
    public string? Namespace { get; init; }

    /// <summary>A label selector applied to every list and watch.</summary>
    public string? LabelSelector { get; init; }

    /// <summary>A field selector applied to every list and watch.</summary>
    public string? FieldSelector { get; init; }

    /// <summary>The <c>fieldManager</c> sent with writes; <see langword="null"/> lets the server derive it from the User-Agent.</summary>
    public string? FieldManager { get; init; }

    /// <summary>The JSON contract for <typeparamref name="T"/>, e.g. from a source-generated <c>JsonSerializerContext</c>. Takes precedence over <see cref="SerializerOptions"/>.</summary>
    public JsonTypeInfo<T>? TypeInfo { get; init; }

    /// <summary>
    /// Serializer options for <typeparamref name="T"/> (e.g. KubernetesClient's). <see langword="null"/> uses
    /// camelCase web defaults that omit nulls when writing. The options are made read-only on first use.
    /// </summary>
    public JsonSerializerOptions? SerializerOptions { get; init; }

    /// <summary>Reads namespace and name from objects for writes; <see langword="null"/> uses <see cref="ObjectMetadataAccessor{T}.Default"/>.</summary>
    public ObjectMetadataAccessor<T>? Accessor { get; init; }

    /// <summary>
    /// Ask for object metadata only, like client-go's metadata client (<c>k8s.io/client-go/metadata</c>): lists send
    /// <c>application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json</c>, and get, watch, patch
    /// and delete <c>application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json</c> (client-go's
    /// headers without their protobuf range), so the server answers with <c>PartialObjectMetadata</c>: <c>kind</c>,
    /// <c>apiVersion</c> and <c>metadata</c>, no spec or status. <typeparamref name="T"/> should then be a metadata model (its other members stay unset). A server that
    /// ignores <c>as=</c> answers with whole objects, which are decoded into <typeparamref name="T"/> as well, keeping
    /// only what it declares (client-go falls back the same way). As in client-go's <c>metadata.Interface</c>, only
    /// reads, patch and delete are offered: create, update and status update throw <see cref="NotSupportedException"/>.
    /// Default <see langword="false"/>.
    /// </summary>
    public bool MetadataOnly { get; init; }

    /// <summary>
    /// Decode watch objects (and, with <see cref="DecodeListsDirectly"/>, list items) with <see cref="DirectDecoding"/>
    /// where the contract allows it. <see langword="null"/> (the default) decides from the contract: direct where
    /// <see cref="DirectDecoding.KeepsPropertySetters"/> holds, with the one-pass identity of
    /// <see cref="WatchIdentities.FromContract"/>; <see langword="true"/> is for a caller that vouches for a resolver
    /// of its own (KeepsPropertySetters refuses modifiers) and gives its own <see cref="WatchIdentity"/>.
    /// </summary>
    internal bool? DecodeWatchDirectly { get; init; }

    /// <summary>
    /// With <see cref="DecodeWatchDirectly"/>: list items too, in one pass each (<see cref="DirectListDecoder{T}"/>).
    /// Default <see langword="true"/>; the benchmarks turn it off to measure the serializer's streaming.
    /// </summary>
    internal bool DecodeListsDirectly { get; init; } = true;

    /// <summary>
    /// With <see cref="DecodeWatchDirectly"/>: an object's <c>kind</c> and <c>metadata.resourceVersion</c> as decoded
    /// from those JSON members, so that a watch line is read in one pass (the object decoded where the scan meets it).
    /// </summary>
    internal Func<T, (string? Kind, string? ResourceVersion)>? WatchIdentity { get; init; }
}

/// <summary>The media types of <see cref="ResourceClientOptions{T}.MetadataOnly"/> requests.</summary>
internal static class MetadataOnlyMediaTypes
{
    /// <summary>client-go's metadata client List Accept (<c>metadata.go</c>) without its protobuf range: only JSON is decoded here.</summary>
    public const string ListAccept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";

    /// <summary>client-go's metadata client Get/Watch/Patch Accept without its protobuf range.</summary>
    public const string ObjectAccept = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";

    /// <summary>The kind of metadata-only objects.</summary>
    public const string Kind = "PartialObjectMetadata";
}
