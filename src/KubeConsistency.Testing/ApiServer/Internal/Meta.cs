using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KubeConsistency.Testing.ApiServer;

/// <summary>Typed access to object JSON; type errors become 400 BadRequest like Go's decoder.</summary>
internal static class Meta
{
    private static readonly string[] s_metadataOrder =
    [
        "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp",
        "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers", "managedFields",
    ];

    public static string? GetString(JsonObject obj, string property)
    {
        var node = obj[property];
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String)
        {
            return v.GetValue<string>();
        }

        throw StatusErrors.BadRequest($"json: cannot unmarshal {Describe(node)} into Go struct field ObjectMeta.metadata.{property} of type string");
    }

    public static long? GetInt(JsonObject? obj, string property)
    {
        if (obj?[property] is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var l))
        {
            return l;
        }

        return null;
    }

    public static string? TryGetString(JsonObject? obj, string property)
        => obj?[property] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    public static KeyValuePair<string, string>[] GetStringMap(JsonObject meta, string property)
    {
        var node = meta[property];
        if (node is null)
        {
            return [];
        }

        if (node is not JsonObject map)
        {
            throw StatusErrors.BadRequest($"json: cannot unmarshal {Describe(node)} into Go struct field ObjectMeta.metadata.{property} of type map[string]string");
        }

        var result = new KeyValuePair<string, string>[map.Count];
        var i = 0;
        foreach (var kv in map)
        {
            if (kv.Value is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
            {
                throw StatusErrors.BadRequest($"json: cannot unmarshal {(kv.Value is null ? "null" : Describe(kv.Value))} into Go struct field ObjectMeta.metadata.{property} of type string");
            }

            result[i++] = new(kv.Key, v.GetValue<string>());
        }

        return result;
    }

    public static string Describe(JsonNode node) => node.GetValueKind() switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "bool",
        _ => "null",
    };

    public static string FormatTime(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static DateTimeOffset? ParseTime(string? text)
        => text is not null && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : null;

    public static JsonObject Metadata(JsonObject obj)
    {
        if (obj["metadata"] is JsonObject m)
        {
            return m;
        }

        if (obj["metadata"] is not null)
        {
            throw StatusErrors.BadRequest($"json: cannot unmarshal {Describe(obj["metadata"]!)} into Go struct field .metadata of type v1.ObjectMeta");
        }

        var created = new JsonObject();
        obj["metadata"] = created;
        return created;
    }

    /// <summary>Rebuilds an object with <c>kind</c>, <c>apiVersion</c>, <c>metadata</c> first and metadata keys in Go struct order; drops empty metadata collections.</summary>
    public static JsonObject Normalize(JsonObject obj, ApiResourceDefinition def)
    {
        var result = new JsonObject
        {
            ["kind"] = def.Kind,
            ["apiVersion"] = def.ApiVersion,
        };
        obj.Remove("kind");
        obj.Remove("apiVersion");
        var meta = obj["metadata"] as JsonObject ?? new JsonObject();
        obj.Remove("metadata");
        var orderedMeta = new JsonObject();
        foreach (var key in s_metadataOrder)
        {
            if (meta.TryGetPropertyValue(key, out var value))
            {
                meta.Remove(key);
                if (value is null || (value is JsonObject o && o.Count == 0 && key != "creationTimestamp") || (value is JsonArray a && a.Count == 0))
                {
                    continue;
                }

                if (value is JsonValue sv && sv.GetValueKind() == JsonValueKind.String && sv.GetValue<string>().Length == 0 && key is "generateName" or "selfLink" or "namespace")
                {
                    continue;
                }

                orderedMeta[key] = value;
            }
        }

        foreach (var key in meta.Select(kv => kv.Key).ToList())
        {
            var value = meta[key];
            meta.Remove(key);
            if (value is not null)
            {
                orderedMeta[key] = value;
            }
        }

        result["metadata"] = orderedMeta;
        foreach (var key in obj.Select(kv => kv.Key).ToList())
        {
            var value = obj[key];
            obj.Remove(key);
            result[key] = value;
        }

        return result;
    }

    /// <summary>Reads a dotted/indexed path (<c>.status.conditions[0].type</c>) from an object.</summary>
    public static JsonNode? Path(JsonNode? node, string path)
    {
        var p = path.TrimStart('.');
        var i = 0;
        while (node is not null && i < p.Length)
        {
            if (p[i] == '.')
            {
                i++;
                continue;
            }

            if (p[i] == '[')
            {
                var close = p.IndexOf(']', i);
                if (close < 0 || node is not JsonArray arr || !int.TryParse(p.AsSpan(i + 1, close - i - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var idx))
                {
                    return null;
                }

                node = idx < arr.Count ? arr[idx] : null;
                i = close + 1;
                continue;
            }

            var end = p.IndexOfAny(['.', '['], i);
            if (end < 0)
            {
                end = p.Length;
            }

            node = node is JsonObject o ? o[p[i..end]] : null;
            i = end;
        }

        return node;
    }
}
