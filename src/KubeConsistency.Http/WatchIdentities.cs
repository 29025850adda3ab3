using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace KubeConsistency.Http;

/// <summary>
/// A decoded object's <c>kind</c> and <c>metadata.resourceVersion</c> read back through the very contract properties
/// those JSON members bind to, so that a watch line can be read in one pass (<see cref="WatchEventDecoder{T}"/>): the
/// object is decoded where the line's scan meets it, and its identity comes from the object instead of the scan.
/// </summary>
internal static class WatchIdentities
{
    /// <summary>
    /// The identity of <paramref name="typeInfo"/>'s objects, or <see langword="null"/> when it could differ from the
    /// raw JSON text the scan reads: a member that is not a plain string property, a string converter that is not the
    /// serializer's own or <see cref="DeduplicatingStringConverter"/> (an application's could map <c>""</c> to
    /// <see langword="null"/> or take numbers), or a new object that already has a kind or metadata (a member absent
    /// from the JSON would then read as that default, where the scan reads nothing).
    /// </summary>
    public static Func<T, (string? Kind, string? ResourceVersion)>? FromContract<T>(JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        var options = typeInfo.Options;
        if (!ReadsStringsAsWritten(options)
            || typeInfo.Kind != JsonTypeInfoKind.Object
            || StringMember(typeInfo, "kind") is not { } kind
            || Member(typeInfo, "metadata") is not { } metadata
            || options.GetTypeInfo(metadata.PropertyType) is not { Kind: JsonTypeInfoKind.Object } metadataInfo
            || StringMember(metadataInfo, "resourceVersion") is not { } resourceVersion
            || !StartsEmpty(typeInfo, kind) || !StartsEmpty(typeInfo, metadata) || !StartsEmpty(metadataInfo, resourceVersion))
        {
            return null;
        }

        var getKind = kind.Get!;
        var getMetadata = metadata.Get!;
        var getResourceVersion = resourceVersion.Get!;
        return o => (
            (string?)getKind(o!),
            getMetadata(o!) is { } meta ? (string?)getResourceVersion(meta) : null);
    }

    /// <summary>
    /// Whether <paramref name="options"/> decode a JSON string as its raw text: their string converter is the
    /// serializer's own or <see cref="DeduplicatingStringConverter"/>, not an application's.
    /// </summary>
    public static bool ReadsStringsAsWritten(JsonSerializerOptions options) =>
        options.GetConverter(typeof(string)) is var strings
        && (strings is DeduplicatingStringConverter || strings.GetType().Assembly == typeof(JsonSerializer).Assembly);

    // The contract property the JSON member `name` is read into, read back with the contract's own getter.
    private static JsonPropertyInfo? Member(JsonTypeInfo info, string name) =>
        info.Properties.FirstOrDefault(p => p.Name == name) is { Get: not null, Set: not null, CustomConverter: null, IsExtensionData: false } property
            ? property
            : null;

    private static JsonPropertyInfo? StringMember(JsonTypeInfo info, string name) =>
        Member(info, name) is { PropertyType: var type } property && type == typeof(string) ? property : null;

    private static bool StartsEmpty(JsonTypeInfo info, JsonPropertyInfo property) =>
        info.CreateObject is { } create && property.Get!(create()) is null;
}
