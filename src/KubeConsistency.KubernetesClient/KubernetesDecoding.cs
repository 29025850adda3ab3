using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using k8s.Models;
using KubeConsistency.Http;

namespace KubeConsistency.KubernetesClient;

/// <summary>
/// The serializer options a resource client or informer decodes KubernetesClient models with: KubernetesClient's own,
/// or a derived set per <see cref="KubernetesResourceOptions.SkipManagedFields"/> /
/// <see cref="KubernetesResourceOptions.DeduplicateStrings"/>. Derived sets are built once per combination and shared,
/// so their type metadata (and its JIT) is paid once per process.
/// </summary>
internal static class KubernetesDecoding
{
    private static readonly JsonSerializerOptions?[] s_derived = new JsonSerializerOptions?[4];

    public static JsonSerializerOptions For(KubernetesResourceOptions? options)
    {
        var index = (options?.SkipManagedFields == true ? 1 : 0) | (options?.DeduplicateStrings == true ? 2 : 0);
        if (index == 0)
        {
            return KubernetesClientConnections.JsonOptions;
        }

        var derived = Volatile.Read(ref s_derived[index]);
        if (derived is null)
        {
            var created = Create(skipManagedFields: (index & 1) != 0, deduplicateStrings: (index & 2) != 0);
            derived = Interlocked.CompareExchange(ref s_derived[index], created, null) ?? created;
        }

        return derived;
    }

    private static JsonSerializerOptions Create(bool skipManagedFields, bool deduplicateStrings)
    {
        var baseline = KubernetesClientConnections.JsonOptions;
        var options = new JsonSerializerOptions(baseline);
        if (skipManagedFields)
        {
            // Contract customization: without the property, the reader skips the value's tokens and nothing is
            // allocated for it (a post-decode transform would first build every entry and its fieldsV1 document).
            var resolver = baseline.TypeInfoResolver ?? new DefaultJsonTypeInfoResolver();
            options.TypeInfoResolver = resolver.WithAddedModifier(static typeInfo =>
            {
                if (typeInfo.Type != typeof(V1ObjectMeta))
                {
                    return;
                }

                for (var i = typeInfo.Properties.Count - 1; i >= 0; i--)
                {
                    if (string.Equals(typeInfo.Properties[i].Name, "managedFields", StringComparison.Ordinal))
                    {
                        typeInfo.Properties.RemoveAt(i);
                    }
                }
            });
        }

        if (deduplicateStrings)
        {
            options.Converters.Add(new DeduplicatingStringConverter());
        }

        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
