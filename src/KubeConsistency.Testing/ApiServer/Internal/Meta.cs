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

    /// <summary>
    /// Writes an object the way kube-apiserver serializes it: <c>kind</c>, <c>apiVersion</c>, <c>metadata</c> (keys in
    /// Go struct order, empty collections dropped), then the other fields in their order. Returns the offset of the
    /// first property after <c>apiVersion</c> in the writer's output.
    /// </summary>
    public static int WriteNormalized(Utf8JsonWriter w, JsonObject obj, ApiResourceDefinition def)
    {
        w.WriteStartObject();
        w.WriteString("kind", def.Kind);
        w.WriteString("apiVersion", def.ApiVersion);
        w.Flush();
        var bodyOffset = (int)w.BytesCommitted + 1;
        w.WritePropertyName("metadata");
        var meta = obj["metadata"] as JsonObject;
        w.WriteStartObject();
        if (meta is not null)
        {
            foreach (var key in s_metadataOrder)
            {
                if (meta.TryGetPropertyValue(key, out var value) && !IsOmitted(key, value))
                {
                    w.WritePropertyName(key);
                    value!.WriteTo(w);
                }
            }

            foreach (var (key, value) in meta)
            {
                if (value is not null && Array.IndexOf(s_metadataOrder, key) < 0)
                {
                    w.WritePropertyName(key);
                    value.WriteTo(w);
                }
            }
        }

        w.WriteEndObject();
        foreach (var (key, value) in obj)
        {
            if (key is "kind" or "apiVersion" or "metadata")
            {
                continue;
            }

            w.WritePropertyName(key);
            if (value is null)
            {
                w.WriteNullValue();
            }
            else
            {
                value.WriteTo(w);
            }
        }

        w.WriteEndObject();
        return bodyOffset;
    }

    private static bool IsOmitted(string key, JsonNode? value) => value switch
    {
        null => true,
        JsonObject { Count: 0 } => true,
        JsonArray { Count: 0 } => true,
        JsonValue v when key is "generateName" or "selfLink" or "namespace" && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>().Length == 0 => true,
        _ => false,
    };

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
