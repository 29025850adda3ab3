using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KubeConsistency.Testing.ApiServer;

/// <summary>Discovery documents (plain and aggregated), <c>/version</c>, the path index and a minimal OpenAPI v3, rebuilt when resources are registered.</summary>
internal sealed class Discovery
{
    private static readonly string[] s_verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
    private static readonly string[] s_subresourceVerbs = ["get", "patch", "update"];

    private readonly ApiStore _store;
    private readonly Func<string> _serverAddress;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, byte[]> _cache = new(StringComparer.Ordinal);
    private int _cachedVersion = -1;

    public Discovery(ApiStore store, Func<string> serverAddress)
    {
        _store = store;
        _serverAddress = serverAddress;
    }

    public static readonly byte[] VersionDocument = GoJson.SerializeIndented(new JsonObject
    {
        ["major"] = "1",
        ["minor"] = "36",
        ["gitVersion"] = "v1.36.0+kubeconsistency-embedded",
        ["gitCommit"] = "0000000000000000000000000000000000000000",
        ["gitTreeState"] = "clean",
        ["buildDate"] = "2026-01-01T00:00:00Z",
        ["goVersion"] = "go1.25.5",
        ["compiler"] = "gc",
        ["platform"] = "linux/amd64",
    });

    private List<ApiResourceDefinition> Definitions() => _store.Resources.Select(r => r.Definition).ToList();

    private byte[] Cached(string key, Func<byte[]> build)
    {
        lock (_lock)
        {
            var version = _store.DiscoveryVersion;
            if (version != _cachedVersion)
            {
                _cache.Clear();
                _cachedVersion = version;
            }

            if (!_cache.TryGetValue(key, out var value))
            {
                value = build();
                _cache[key] = value;
            }

            return value;
        }
    }

    public IReadOnlyList<string> Groups() => Definitions().Where(d => d.Group.Length > 0).Select(d => d.Group).Distinct().Order(StringComparer.Ordinal).ToList();

    public string? VersionOf(string group) => Definitions().FirstOrDefault(d => d.Group == group)?.Version;

    public byte[] ApiVersions() => Cached("api", () => GoJson.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("kind", "APIVersions");
        w.WriteStartArray("versions");
        w.WriteStringValue("v1");
        w.WriteEndArray();
        WriteServerAddresses(w);
        w.WriteEndObject();
    }));

    private void WriteServerAddresses(Utf8JsonWriter w)
    {
        w.WriteStartArray("serverAddressByClientCIDRs");
        w.WriteStartObject();
        w.WriteString("clientCIDR", "0.0.0.0/0");
        w.WriteString("serverAddress", _serverAddress());
        w.WriteEndObject();
        w.WriteEndArray();
    }

    public byte[] GroupList() => Cached("apis", () => GoJson.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("kind", "APIGroupList");
        w.WriteStartArray("groups");
        foreach (var group in Groups())
        {
            WriteGroup(w, group, withKind: false);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }));

    private void WriteGroup(Utf8JsonWriter w, string group, bool withKind)
    {
        var version = VersionOf(group)!;
        w.WriteStartObject();
        if (withKind)
        {
            w.WriteString("kind", "APIGroup");
            w.WriteString("apiVersion", "v1");
        }

        w.WriteString("name", group);
        w.WriteStartArray("versions");
        w.WriteStartObject();
        w.WriteString("groupVersion", group + "/" + version);
        w.WriteString("version", version);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteStartObject("preferredVersion");
        w.WriteString("groupVersion", group + "/" + version);
        w.WriteString("version", version);
        w.WriteEndObject();
        if (!withKind)
        {
            WriteServerAddresses(w);
        }

        w.WriteEndObject();
    }

    public byte[]? Group(string group) => VersionOf(group) is null ? null : Cached("group:" + group, () => GoJson.Write(w => WriteGroup(w, group, withKind: true)));

    public byte[]? ResourceList(string group, string version)
    {
        var defs = Definitions().Where(d => d.Group == group && d.Version == version).ToList();
        if (defs.Count == 0 && !(group.Length == 0 && version == "v1"))
        {
            return null;
        }

        return Cached($"resources:{group}/{version}", () => GoJson.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("kind", "APIResourceList");
            if (group.Length > 0)
            {
                w.WriteString("apiVersion", "v1");
            }

            w.WriteString("groupVersion", group.Length == 0 ? version : group + "/" + version);
            w.WriteStartArray("resources");
            foreach (var d in defs.OrderBy(d => d.Plural, StringComparer.Ordinal))
            {
                w.WriteStartObject();
                w.WriteString("name", d.Plural);
                w.WriteString("singularName", d.Singular);
                w.WriteBoolean("namespaced", d.Namespaced);
                w.WriteString("kind", d.Kind);
                WriteStrings(w, "verbs", s_verbs);
                WriteShortNamesAndCategories(w, d);

                w.WriteString("storageVersionHash", StorageVersionHash(d));
                w.WriteEndObject();
                if (d.HasScaleSubresource)
                {
                    w.WriteStartObject();
                    w.WriteString("name", d.Plural + "/scale");
                    w.WriteString("singularName", "");
                    w.WriteBoolean("namespaced", d.Namespaced);
                    w.WriteString("group", "autoscaling");
                    w.WriteString("version", "v1");
                    w.WriteString("kind", "Scale");
                    WriteStrings(w, "verbs", s_subresourceVerbs);
                    w.WriteEndObject();
                }

                if (d.HasStatusSubresource)
                {
                    w.WriteStartObject();
                    w.WriteString("name", d.Plural + "/status");
                    w.WriteString("singularName", "");
                    w.WriteBoolean("namespaced", d.Namespaced);
                    w.WriteString("kind", d.Kind);
                    WriteStrings(w, "verbs", s_subresourceVerbs);
                    w.WriteEndObject();
                }
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }));
    }

    /// <summary>Aggregated discovery (<c>apidiscovery.k8s.io/v2</c> or <c>v2beta1</c>) for <c>/api</c> (core) or <c>/apis</c>.</summary>
    public byte[] Aggregated(bool core, string version) => Cached($"aggregated:{core}:{version}", () => GoJson.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("kind", "APIGroupDiscoveryList");
        w.WriteString("apiVersion", "apidiscovery.k8s.io/" + version);
        w.WriteStartObject("metadata");
        w.WriteEndObject();
        w.WriteStartArray("items");
        IReadOnlyList<string> groups = core ? [""] : Groups();
        foreach (var group in groups)
        {
            var defs = Definitions().Where(d => d.Group == group).OrderBy(d => d.Plural, StringComparer.Ordinal).ToList();
            w.WriteStartObject();
            w.WriteStartObject("metadata");
            if (group.Length > 0)
            {
                w.WriteString("name", group);
            }

            w.WriteNull("creationTimestamp");
            w.WriteEndObject();
            w.WriteStartArray("versions");
            w.WriteStartObject();
            w.WriteString("version", core ? "v1" : VersionOf(group));
            w.WriteStartArray("resources");
            foreach (var d in defs)
            {
                w.WriteStartObject();
                w.WriteString("resource", d.Plural);
                WriteResponseKind(w, "", "", d.Kind);
                w.WriteString("scope", d.Namespaced ? "Namespaced" : "Cluster");
                w.WriteString("singularResource", d.Singular);
                WriteStrings(w, "verbs", s_verbs);
                WriteShortNamesAndCategories(w, d);

                if (d.HasScaleSubresource || d.HasStatusSubresource)
                {
                    w.WriteStartArray("subresources");
                    if (d.HasScaleSubresource)
                    {
                        w.WriteStartObject();
                        w.WriteString("subresource", "scale");
                        WriteResponseKind(w, "autoscaling", "v1", "Scale");
                        WriteStrings(w, "verbs", s_subresourceVerbs);
                        w.WriteEndObject();
                    }

                    if (d.HasStatusSubresource)
                    {
                        w.WriteStartObject();
                        w.WriteString("subresource", "status");
                        WriteResponseKind(w, "", "", d.Kind);
                        WriteStrings(w, "verbs", s_subresourceVerbs);
                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteString("freshness", "Current");
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }));

    private static void WriteResponseKind(Utf8JsonWriter w, string group, string version, string kind)
    {
        w.WriteStartObject("responseKind");
        w.WriteString("group", group);
        w.WriteString("version", version);
        w.WriteString("kind", kind);
        w.WriteEndObject();
    }

    // Both discovery formats omit empty shortNames and categories.
    private static void WriteShortNamesAndCategories(Utf8JsonWriter w, ApiResourceDefinition d)
    {
        if (d.ShortNames.Count > 0)
        {
            WriteStrings(w, "shortNames", d.ShortNames);
        }

        if (d.Categories.Count > 0)
        {
            WriteStrings(w, "categories", d.Categories);
        }
    }

    private static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteStringValue(v);
        }

        w.WriteEndArray();
    }

    /// <summary><c>discovery.StorageVersionHash</c>: base64 of the first 8 bytes of SHA-256("group/version/kind").</summary>
    public static string StorageVersionHash(ApiResourceDefinition d)
        => Convert.ToBase64String(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(d.Group + "/" + d.Version + "/" + d.Kind)).AsSpan(0, 8));

    public static string ETag(byte[] body) => "\"" + Convert.ToHexString(SHA512.HashData(body)) + "\"";

    /// <summary>The indented <c>{"paths":[…]}</c> index that kube-apiserver returns for unknown paths.</summary>
    public byte[] PathIndex() => Cached("paths", () =>
    {
        var paths = new List<string> { "/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v3", "/openapi/v3/", "/readyz", "/version" };
        foreach (var g in Groups())
        {
            paths.Add("/apis/" + g);
            paths.Add("/apis/" + g + "/" + VersionOf(g));
        }

        var array = new JsonArray();
        foreach (var p in paths.Order(StringComparer.Ordinal))
        {
            array.Add(p);
        }

        return GoJson.SerializeIndented(new JsonObject { ["paths"] = array });
    });

    // ------------------------------------------------------------------ OpenAPI v3

    private static string GroupVersionPath(string group, string version) => group.Length == 0 ? "api/" + version : "apis/" + group + "/" + version;

    public byte[] OpenApiRoot() => Cached("openapi-root", () =>
    {
        var paths = new JsonObject();
        foreach (var (group, version) in Definitions().Select(d => (d.Group, d.Version)).Distinct().OrderBy(g => GroupVersionPath(g.Group, g.Version), StringComparer.Ordinal))
        {
            var path = GroupVersionPath(group, version);
            var doc = OpenApiGroupVersion(path)!;
            paths[path] = new JsonObject { ["serverRelativeURL"] = "/openapi/v3/" + path + "?hash=" + Convert.ToHexString(SHA512.HashData(doc)) };
        }

        return GoJson.Serialize(new JsonObject { ["paths"] = paths });
    });

    /// <summary>A minimal OpenAPI v3 document for one group-version: the operations with their <c>x-kubernetes-group-version-kind</c> and query parameters (enough for kubectl's field-validation check).</summary>
    public byte[]? OpenApiGroupVersion(string path)
    {
        var defs = Definitions().Where(d => GroupVersionPath(d.Group, d.Version) == path).OrderBy(d => d.Plural, StringComparer.Ordinal).ToList();
        if (defs.Count == 0)
        {
            return null;
        }

        return Cached("openapi:" + path, () =>
        {
            var paths = new JsonObject();
            foreach (var d in defs)
            {
                var prefix = "/" + path + (d.Namespaced ? "/namespaces/{namespace}/" : "/") + d.Plural;
                paths[prefix] = new JsonObject
                {
                    ["get"] = Operation(d, "list", []),
                    ["post"] = Operation(d, "post", ["dryRun", "fieldManager", "fieldValidation"]),
                };
                paths[prefix + "/{name}"] = new JsonObject
                {
                    ["get"] = Operation(d, "get", []),
                    ["put"] = Operation(d, "put", ["dryRun", "fieldManager", "fieldValidation"]),
                    ["patch"] = Operation(d, "patch", ["dryRun", "fieldManager", "fieldValidation", "force"]),
                    ["delete"] = Operation(d, "delete", ["dryRun", "gracePeriodSeconds", "propagationPolicy"]),
                };
            }

            return GoJson.Serialize(new JsonObject
            {
                ["openapi"] = "3.0.0",
                ["info"] = new JsonObject { ["title"] = "Kubernetes", ["version"] = "v1.36.0" },
                ["paths"] = paths,
                ["components"] = new JsonObject { ["schemas"] = new JsonObject() },
            });
        });
    }

    private static JsonObject Operation(ApiResourceDefinition d, string action, string[] queryParameters)
    {
        var parameters = new JsonArray();
        foreach (var p in queryParameters)
        {
            parameters.Add(new JsonObject
            {
                ["name"] = p,
                ["in"] = "query",
                ["schema"] = new JsonObject { ["type"] = p == "gracePeriodSeconds" ? "integer" : p == "force" ? "boolean" : "string", ["uniqueItems"] = true },
            });
        }

        return new JsonObject
        {
            ["operationId"] = action + d.Kind,
            ["parameters"] = parameters,
            ["responses"] = new JsonObject { ["200"] = new JsonObject { ["description"] = "OK" } },
            ["x-kubernetes-action"] = action,
            ["x-kubernetes-group-version-kind"] = new JsonObject { ["group"] = d.Group, ["kind"] = d.Kind, ["version"] = d.Version },
        };
    }
}
