using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using k8s;
using k8s.Models;
using KubeConsistency.Http;

namespace KubeConsistency.KubernetesClient;

/// <summary>
/// The serializer options a resource client or informer decodes KubernetesClient models with: a copy of KubernetesClient's
/// own (taken on first use, with whatever the application registered through <c>KubernetesJson.AddJsonOptions</c>) in
/// which KubernetesClient's timestamp converters are replaced by <see cref="KubernetesTimeConverters"/> (same values,
/// without the culture-aware parse), plus per <see cref="KubernetesResourceOptions.SkipManagedFields"/> /
/// <see cref="KubernetesResourceOptions.DeduplicateValues"/>. Each combination is built once and shared, so its type
/// metadata (and its JIT) is paid once per process.
/// </summary>
internal static class KubernetesDecoding
{
    private static readonly JsonSerializerOptions?[] s_derived = new JsonSerializerOptions?[4];

    public static JsonSerializerOptions For(KubernetesResourceOptions? options)
    {
        options ??= KubernetesResourceOptions.Default;
        var index = (options.SkipManagedFields ? 1 : 0) | (options.DeduplicateValues ? 2 : 0);
        var derived = Volatile.Read(ref s_derived[index]);
        if (derived is null)
        {
            var created = Create(skipManagedFields: (index & 1) != 0, deduplicateValues: (index & 2) != 0);
            derived = Interlocked.CompareExchange(ref s_derived[index], created, null) ?? created;
        }

        return derived;
    }

    /// <summary>
    /// Whether watch objects may go through <c>DirectDecoding</c>: only while KubernetesClient's options resolve
    /// contracts as KubernetesClient sets them up (its source-generated context, then the reflection resolver without
    /// modifiers). A resolver the application added could replace the properties' setters.
    /// </summary>
    public static bool DecodesWatchDirectly { get; } = KubernetesClientConnections.JsonOptions.TypeInfoResolverChain.All(static resolver =>
        resolver is DefaultJsonTypeInfoResolver { Modifiers.Count: 0 }
        || (resolver is JsonSerializerContext && resolver.GetType().Assembly == typeof(KubernetesJson).Assembly));

    /// <summary>
    /// A model's <c>kind</c> and <c>metadata.resourceVersion</c> as decoded from those JSON members, for a watch that
    /// reads each line in one pass; <see langword="null"/> when <paramref name="options"/>' contracts do not bind exactly
    /// those members to <see cref="IKubernetesObject.Kind"/>, <see cref="IMetadata{T}.Metadata"/> and
    /// <see cref="V1ObjectMeta.ResourceVersion"/> with the options' own converters (a model of the application's may map them otherwise),
    /// or when a string converter the application registered would decode them differently from the raw text the scan reads.
    /// </summary>
    public static Func<T, (string? Kind, string? ResourceVersion)>? WatchIdentity<T>(JsonSerializerOptions options)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(options);
        var info = options.GetTypeInfo(typeof(T));

        // The scan compares the kind and reads the resource version as raw JSON strings; an application's string
        // converter (registered through KubernetesJson.AddJsonOptions) could map "" to null or take numbers.
        if (!WatchIdentities.ReadsStringsAsWritten(options))
        {
            return null;
        }

        var binds = Binds(info, "kind", typeof(IKubernetesObject), nameof(IKubernetesObject.Kind))
            && Binds(info, "metadata", typeof(IMetadata<V1ObjectMeta>), nameof(IMetadata<V1ObjectMeta>.Metadata))
            && Binds(options.GetTypeInfo(typeof(V1ObjectMeta)), "resourceVersion", null, nameof(V1ObjectMeta.ResourceVersion));
        return binds ? static o => (o.Kind, o.Metadata?.ResourceVersion) : null;
    }

    // Whether the contract reads JSON member `json` into the CLR property that `member` of `contract` (or of the type) gets.
    private static bool Binds(JsonTypeInfo info, string json, Type? contract, string member)
    {
        var property = info.Properties.FirstOrDefault(p => p.Name == json);
        if (property is not { Set: not null, CustomConverter: null, AttributeProvider: PropertyInfo { GetMethod: { } getter } })
        {
            return false;
        }

        if (contract is null)
        {
            return info.Type.GetProperty(member)?.GetMethod?.MethodHandle == getter.MethodHandle;
        }

        var map = info.Type.GetInterfaceMap(contract);
        var index = Array.FindIndex(map.InterfaceMethods, m => m.Name == "get_" + member);
        return index >= 0 && (map.TargetMethods[index].MethodHandle == getter.MethodHandle

            // Our own model implements the interface explicitly (its Kind is nullable), forwarding to the public property.
            || (info.Type == typeof(PartialObjectMetadata) && typeof(PartialObjectMetadata).GetProperty(member)?.GetMethod?.MethodHandle == getter.MethodHandle));
    }

    private static JsonSerializerOptions Create(bool skipManagedFields, bool deduplicateValues)
    {
        var baseline = KubernetesClientConnections.JsonOptions;
        var options = new JsonSerializerOptions(baseline);
        for (var i = 0; i < options.Converters.Count; i++)
        {
            // Only KubernetesClient's own: a converter the application added for the same type keeps its place and wins.
            options.Converters[i] = options.Converters[i] switch
            {
                KubernetesJson.KubernetesDateTimeConverter original => new KubernetesTimeConverters.DateTimeConverter(original),
                KubernetesJson.KubernetesDateTimeOffsetConverter original => new KubernetesTimeConverters.DateTimeOffsetConverter(original),
                var other => other,
            };
        }

        // fieldsV1 is shared only where it would decode as the serializer's own JsonElement for an object.
        var shareFieldSets = deduplicateValues && baseline.UnknownTypeHandling == JsonUnknownTypeHandling.JsonElement
            && !baseline.Converters.Any(static c => c.CanConvert(typeof(object)));
        if (skipManagedFields || shareFieldSets)
        {
            // Contract customization. Without the property, the reader skips the value's tokens and nothing is
            // allocated for it (a post-decode transform would first build every entry and its fieldsV1 document).
            var resolver = baseline.TypeInfoResolver ?? new DefaultJsonTypeInfoResolver();
            options.TypeInfoResolver = resolver.WithAddedModifier(typeInfo =>
            {
                if (skipManagedFields && typeInfo.Type == typeof(V1ObjectMeta))
                {
                    RemoveProperty(typeInfo, "managedFields");
                }
                else if (shareFieldSets && typeInfo.Type == typeof(V1ManagedFieldsEntry))
                {
                    foreach (var property in typeInfo.Properties)
                    {
                        if (property.PropertyType == typeof(object) && string.Equals(property.Name, "fieldsV1", StringComparison.Ordinal) && property.CustomConverter is null)
                        {
                            property.CustomConverter = new DeduplicatingFieldsConverter();
                        }
                    }
                }
            });
        }

        if (deduplicateValues)
        {
            options.Converters.Add(new DeduplicatingStringConverter());

            // Labels, annotations and resource lists: keys shared too (the serializer's own converter allocates each).
            // Only where the serializer's own key path would read them as DeduplicatingStringConverter.Get does.
            if (baseline.ReferenceHandler is null && baseline.AllowDuplicateProperties && !baseline.Converters.Any(static c => c.CanConvert(typeof(string))))
            {
                options.Converters.Add(new DeduplicatingKeyDictionaryConverter<string>());
                options.Converters.Add(new DeduplicatingKeyDictionaryConverter<ResourceQuantity>());
            }

            // KubernetesClient names its quantity converter on the type; one the application registered wins over both.
            if (baseline.GetConverter(typeof(ResourceQuantity)) is ResourceQuantityJsonConverter original)
            {
                options.Converters.Add(new DeduplicatingQuantityConverter(original));
            }
        }

        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    private static void RemoveProperty(JsonTypeInfo typeInfo, string name)
    {
        for (var i = typeInfo.Properties.Count - 1; i >= 0; i--)
        {
            if (string.Equals(typeInfo.Properties[i].Name, name, StringComparison.Ordinal))
            {
                typeInfo.Properties.RemoveAt(i);
            }
        }
    }
}
