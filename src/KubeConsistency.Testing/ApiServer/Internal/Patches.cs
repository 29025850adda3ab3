using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KubeConsistency.Testing.ApiServer;

/// <summary>RFC 7386 JSON merge patch, RFC 6902 JSON patch and a practical subset of Kubernetes strategic merge patch.</summary>
internal static class Patches
{
    // Merge keys of the common strategic-merge lists (field name → key), as declared by the Kubernetes core types.
    private static readonly Dictionary<string, string> s_mergeKeys = new(StringComparer.Ordinal)
    {
        ["containers"] = "name",
        ["initContainers"] = "name",
        ["ephemeralContainers"] = "name",
        ["volumes"] = "name",
        ["env"] = "name",
        ["imagePullSecrets"] = "name",
        ["volumeMounts"] = "mountPath",
        ["volumeDevices"] = "devicePath",
        ["ports"] = "containerPort",
        ["hostAliases"] = "ip",
        ["conditions"] = "type",
        ["ownerReferences"] = "uid",
        ["topologySpreadConstraints"] = "topologyKey",
        ["resourceClaims"] = "name",
        ["containerStatuses"] = "name",
        ["initContainerStatuses"] = "name",
    };

    // Primitive lists with the "merge" strategy.
    private static readonly HashSet<string> s_mergedPrimitiveLists = new(StringComparer.Ordinal) { "finalizers" };

    public static JsonObject ApplyMergePatch(JsonObject target, JsonObject patch)
    {
        MergeObject(target, patch, strategic: false);
        return target;
    }

    public static JsonObject ApplyStrategicMergePatch(JsonObject target, JsonObject patch)
    {
        if (Directive(patch) == "replace")
        {
            patch.Remove("$patch");
            return patch;
        }

        MergeObject(target, patch, strategic: true);
        return target;
    }

    private static string? Directive(JsonObject o) => o["$patch"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    private static void MergeObject(JsonObject target, JsonObject patch, bool strategic)
    {
        List<string>? retainKeys = null;
        foreach (var (key, value) in patch.ToList())
        {
            if (strategic && key.StartsWith('$'))
            {
                if (key == "$retainKeys" && value is JsonArray keys)
                {
                    retainKeys = keys.Select(k => k?.ToString() ?? "").ToList();
                }
                else if (key.StartsWith("$deleteFromPrimitiveList/", StringComparison.Ordinal) && value is JsonArray remove)
                {
                    var field = key["$deleteFromPrimitiveList/".Length..];
                    if (target[field] is JsonArray existing)
                    {
                        for (var i = existing.Count - 1; i >= 0; i--)
                        {
                            if (remove.Any(r => JsonNode.DeepEquals(r, existing[i])))
                            {
                                existing.RemoveAt(i);
                            }
                        }
                    }
                }

                continue;
            }

            if (value is null)
            {
                target.Remove(key);
                continue;
            }

            var current = target[key];
            if (value is JsonObject patchChild)
            {
                if (strategic)
                {
                    var directive = Directive(patchChild);
                    if (directive == "delete")
                    {
                        target.Remove(key);
                        continue;
                    }

                    if (directive == "replace")
                    {
                        var replacement = (JsonObject)patchChild.DeepClone();
                        replacement.Remove("$patch");
                        target[key] = replacement;
                        continue;
                    }
                }

                if (current is JsonObject currentChild)
                {
                    MergeObject(currentChild, patchChild, strategic);
                }
                else
                {
                    var created = new JsonObject();
                    MergeObject(created, patchChild, strategic);
                    target[key] = created;
                }

                continue;
            }

            if (strategic && value is JsonArray patchList)
            {
                if (current is JsonArray currentList && s_mergeKeys.TryGetValue(key, out var mergeKey) && patchList.All(i => i is JsonObject))
                {
                    MergeList(currentList, patchList, mergeKey);
                    continue;
                }

                if (current is JsonArray primitives && s_mergedPrimitiveLists.Contains(key))
                {
                    foreach (var item in patchList)
                    {
                        if (!primitives.Any(p => JsonNode.DeepEquals(p, item)))
                        {
                            primitives.Add(item?.DeepClone());
                        }
                    }

                    continue;
                }

                target[key] = StripDirectives(patchList.DeepClone());
                continue;
            }

            target[key] = value.DeepClone();
        }

        if (retainKeys is not null)
        {
            foreach (var key in target.Select(kv => kv.Key).ToList())
            {
                if (!retainKeys.Contains(key))
                {
                    target.Remove(key);
                }
            }
        }
    }

    private static void MergeList(JsonArray current, JsonArray patch, string mergeKey)
    {
        if (patch.Any(i => i is JsonObject o && Directive(o) == "replace"))
        {
            current.Clear();
            foreach (var item in patch.OfType<JsonObject>().Where(o => Directive(o) != "replace"))
            {
                current.Add(StripDirectives(item.DeepClone()));
            }

            return;
        }

        foreach (var item in patch.OfType<JsonObject>())
        {
            var keyValue = item[mergeKey];
            var index = -1;
            for (var i = 0; i < current.Count; i++)
            {
                if (current[i] is JsonObject c && JsonNode.DeepEquals(c[mergeKey], keyValue))
                {
                    index = i;
                    break;
                }
            }

            if (Directive(item) == "delete")
            {
                if (index >= 0)
                {
                    current.RemoveAt(index);
                }

                continue;
            }

            if (index >= 0)
            {
                MergeObject((JsonObject)current[index]!, item, strategic: true);
            }
            else
            {
                current.Add(StripDirectives(item.DeepClone()));
            }
        }
    }

    private static JsonNode? StripDirectives(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Select(kv => kv.Key).Where(k => k.StartsWith('$')).ToList())
                {
                    o.Remove(key);
                }

                foreach (var kv in o.ToList())
                {
                    StripDirectives(kv.Value);
                }

                break;
            case JsonArray a:
                foreach (var item in a)
                {
                    StripDirectives(item);
                }

                break;
            default:
                break;
        }

        return node;
    }

    /// <summary>Applies an RFC 6902 patch; errors throw <see cref="InvalidOperationException"/> with a jsonpatch-like message.</summary>
    public static JsonNode ApplyJsonPatch(JsonNode document, JsonArray operations)
    {
        var root = new JsonObject { ["root"] = document };
        foreach (var opNode in operations)
        {
            if (opNode is not JsonObject op)
            {
                throw new InvalidOperationException("Unexpected kind: invalid operation");
            }

            var kind = Meta.TryGetString(op, "op") ?? throw new InvalidOperationException("Unexpected kind: missing op");
            var path = Meta.TryGetString(op, "path") ?? throw new InvalidOperationException($"{kind} operation missing path");
            switch (kind)
            {
                case "add":
                    Add(root, path, Value(op), kind);
                    break;
                case "remove":
                    Remove(root, path, kind, "path");
                    break;
                case "replace":
                    Remove(root, path, kind, "path");
                    Add(root, path, Value(op), kind);
                    break;
                case "move":
                    {
                        var from = Meta.TryGetString(op, "from") ?? throw new InvalidOperationException("move operation missing from");
                        var value = Remove(root, from, kind, "from path");
                        Add(root, path, value, kind);
                        break;
                    }

                case "copy":
                    {
                        var from = Meta.TryGetString(op, "from") ?? throw new InvalidOperationException("copy operation missing from");
                        var (parent, last) = Resolve(root, from, kind, "from path");
                        Add(root, path, Get(parent, last, from, kind, "from path")?.DeepClone(), kind);
                        break;
                    }

                case "test":
                    {
                        var (parent, last) = Resolve(root, path, kind, "path");
                        if (!JsonNode.DeepEquals(Get(parent, last, path, kind, "path"), op["value"]))
                        {
                            throw new InvalidOperationException($"testing value {path} failed: test failed");
                        }

                        break;
                    }

                default:
                    throw new InvalidOperationException($"Unexpected kind: {kind}");
            }
        }

        return root["root"] ?? throw new InvalidOperationException("the patch removed the whole object");
    }

    private static JsonNode? Value(JsonObject op)
    {
        if (!op.ContainsKey("value"))
        {
            throw new InvalidOperationException($"{Meta.TryGetString(op, "op")} operation does not apply: doc is missing value");
        }

        return op["value"]?.DeepClone();
    }

    /// <summary>The error of an operation whose path (or from path) does not exist, naming that operation.</summary>
    private static InvalidOperationException Missing(string operation, string what, string path) =>
        new($"{operation} operation does not apply: doc is missing {what}: \"{path}\": missing value");

    private static string[] Tokens(string path, string operation, string what)
    {
        if (path.Length == 0)
        {
            return [];
        }

        if (path[0] != '/')
        {
            throw Missing(operation, what, path);
        }

        return path[1..].Split('/').Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();
    }

    // The root wrapper makes "" address the document itself: ("root" key of the wrapper).
    private static (JsonNode Parent, string Last) Resolve(JsonObject root, string path, string operation, string what)
    {
        var tokens = Tokens(path, operation, what);
        JsonNode parent = root;
        var last = "root";
        foreach (var token in tokens)
        {
            parent = Get(parent, last, path, operation, what) ?? throw Missing(operation, what, path);
            last = token;
        }

        return (parent, last);
    }

    private static JsonNode? Get(JsonNode parent, string token, string path, string operation, string what)
    {
        switch (parent)
        {
            case JsonObject o:
                return o[token];
            case JsonArray a:
                if (!int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var i) || i >= a.Count)
                {
                    throw Missing(operation, what, path);
                }

                return a[i];
            default:
                throw Missing(operation, what, path);
        }
    }

    private static void Add(JsonObject root, string path, JsonNode? value, string operation)
    {
        var (parent, last) = Resolve(root, path, operation, "path");
        switch (parent)
        {
            case JsonObject o:
                o[last] = value;
                break;
            case JsonArray a:
                if (last == "-")
                {
                    a.Add(value);
                }
                else if (int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i <= a.Count)
                {
                    a.Insert(i, value);
                }
                else
                {
                    throw Missing(operation, "path", path);
                }

                break;
            default:
                throw Missing(operation, "path", path);
        }
    }

    private static JsonNode? Remove(JsonObject root, string path, string operation, string what)
    {
        var (parent, last) = Resolve(root, path, operation, what);
        switch (parent)
        {
            case JsonObject o when o.ContainsKey(last):
                var value = o[last];
                o.Remove(last);
                return value;
            case JsonArray a when int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count:
                var item = a[i];
                a.RemoveAt(i);
                return item;
            default:
                throw Missing(operation, what, path);
        }
    }
}
