using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KubeConsistency.Testing.ApiServer;

/// <summary>An immutable stored version of one object: its compact JSON bytes plus what selectors and GC need.</summary>
internal sealed class StoredObject
{
    public static readonly IComparer<StoredObject> KeyComparer = Comparer<StoredObject>.Create(static (a, b) => string.CompareOrdinal(a.Key, b.Key));

    private StoredObject(string key) => Key = key;

    /// <summary>Storage key: <c>namespace/name</c>, or <c>name</c> for cluster-scoped objects (etcd key order).</summary>
    public string Key { get; }

    public string Namespace { get; private init; } = "";

    public string Name { get; private init; } = "";

    public string Uid { get; private init; } = "";

    public long ResourceVersion { get; private init; }

    /// <summary>The full object: <c>{"kind":…,"apiVersion":…,"metadata":…}</c>, compact, Go escaping.</summary>
    public byte[] Json { get; private init; } = [];

    /// <summary>Offset of the first property after <c>apiVersion</c>: <c>"{" + Json[BodyOffset..]</c> is the list-item form.</summary>
    public int BodyOffset { get; private init; }

    public KeyValuePair<string, string>[] Labels { get; private init; } = [];

    public KeyValuePair<string, string>[] Fields { get; private init; } = [];

    public string[] OwnerUids { get; private init; } = [];

    public bool HasFinalizers { get; private init; }

    public bool IsDeleting { get; private init; }

    public static StoredObject Probe(string key) => new(key);

    public static string MakeKey(string ns, string name) => ns.Length == 0 ? name : ns + "/" + name;

    /// <summary>The object without <c>kind</c> and <c>apiVersion</c>, as list items carry it.</summary>
    public void WriteItem(IBufferWriter<byte> output)
    {
        output.Write("{"u8);
        output.Write(Json.AsSpan(BodyOffset));
    }

    public JsonObject ToNode() => GoJson.ParseStored(Json);

    private int _metadataStart = -1;
    private int _metadataLength;

    /// <summary>The <c>metadata</c> value inside <see cref="Json"/> (no copy; located once).</summary>
    public ReadOnlySpan<byte> MetadataJson
    {
        get
        {
            if (_metadataStart < 0)
            {
                // Stored JSON always continues with "metadata":{…} at BodyOffset.
                var start = BodyOffset + "\"metadata\":".Length;
                var reader = new Utf8JsonReader(Json.AsSpan(start), isFinalBlock: true, state: default);
                reader.Read();
                reader.Skip();
                _metadataLength = (int)reader.BytesConsumed;
                _metadataStart = start;
            }

            return Json.AsSpan(_metadataStart, _metadataLength);
        }
    }

    /// <summary><c>{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{…}}</c>.</summary>
    public byte[] PartialMetadataJson()
    {
        var meta = MetadataJson;
        var prefix = "{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":"u8;
        var result = new byte[prefix.Length + meta.Length + 1];
        prefix.CopyTo(result);
        meta.CopyTo(result.AsSpan(prefix.Length));
        result[^1] = (byte)'}';
        return result;
    }

    /// <summary>Builds a stored version from an object; it is serialized in kube-apiserver's field order.</summary>
    public static StoredObject FromNode(JsonObject obj, ApiResourceDefinition def)
    {
        var meta = (JsonObject)obj["metadata"]!;
        var ns = Meta.GetString(meta, "namespace") ?? "";
        var name = Meta.GetString(meta, "name") ?? "";
        var rvText = Meta.GetString(meta, "resourceVersion");
        var rv = rvText is null ? 0 : long.Parse(rvText, CultureInfo.InvariantCulture);
        var labels = Meta.GetStringMap(meta, "labels");
        var owners = Array.Empty<string>();
        if (meta["ownerReferences"] is JsonArray refs && refs.Count > 0)
        {
            owners = refs.OfType<JsonObject>().Select(r => Meta.GetString(r, "uid") ?? "").Where(u => u.Length > 0).ToArray();
        }

        var fields = Array.Empty<KeyValuePair<string, string>>();
        if (def.SelectableFields.Count > 0)
        {
            fields = new KeyValuePair<string, string>[def.SelectableFields.Count];
            for (var i = 0; i < fields.Length; i++)
            {
                var path = def.SelectableFields[i];
                fields[i] = new(path, FieldValue(obj, path));
            }
        }

        var json = GoJson.SerializeNormalized(obj, def, out var bodyOffset);
        return new StoredObject(MakeKey(ns, name))
        {
            Namespace = ns,
            Name = name,
            Uid = Meta.GetString(meta, "uid") ?? "",
            ResourceVersion = rv,
            Json = json,
            BodyOffset = bodyOffset,
            Labels = labels,
            Fields = fields,
            OwnerUids = owners,
            HasFinalizers = meta["finalizers"] is JsonArray f && f.Count > 0,
            IsDeleting = meta["deletionTimestamp"] is JsonValue,
        };
    }

    /// <summary>The same object at another resourceVersion (DELETED events carry the deletion revision).</summary>
    public StoredObject WithResourceVersion(long rv, ApiResourceDefinition def)
    {
        var node = ToNode();
        ((JsonObject)node["metadata"]!)["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
        return FromNode(node, def);
    }

    private static string FieldValue(JsonObject obj, string path)
    {
        JsonNode? current = obj;
        foreach (var part in path.Split('.'))
        {
            current = current is JsonObject o ? o[part] : null;
            if (current is null)
            {
                return "";
            }
        }

        return current is JsonValue v ? v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>(),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            JsonValueKind.Number => v.ToJsonString(),
            _ => "",
        } : "";
    }
}

internal enum WatchEventType
{
    Added,
    Modified,
    Deleted,
    Bookmark,
    Error,
}

/// <summary>One committed change of one resource; kept in the per-resource history for watches and snapshots.</summary>
internal sealed class StoredEvent
{
    private byte[]? _line;
    private StoredObject? _previousAtEventRevision;

    public StoredEvent(ResourceState resource, WatchEventType type, StoredObject obj, StoredObject? previous, DateTimeOffset time)
    {
        Resource = resource;
        Type = type;
        Object = obj;
        Previous = previous;
        Time = time;
    }

    public ResourceState Resource { get; }

    public WatchEventType Type { get; }

    /// <summary>The object after the change; for DELETED the last state at the deletion revision.</summary>
    public StoredObject Object { get; }

    /// <summary>The stored object before the change (null for ADDED).</summary>
    public StoredObject? Previous { get; }

    public long ResourceVersion => Object.ResourceVersion;

    public DateTimeOffset Time { get; }

    /// <summary>The NDJSON line <c>{"type":…,"object":…}\n</c>, built once and shared by all watchers.</summary>
    public byte[] Line => _line ??= BuildLine(Type, Object.Json);

    /// <summary>The previous object relabelled with this event's revision (sent as DELETED when an object stops matching a selector).</summary>
    public StoredObject PreviousAtEventRevision => _previousAtEventRevision ??= Previous!.WithResourceVersion(ResourceVersion, Resource.Definition);

    public static byte[] BuildLine(WatchEventType type, ReadOnlySpan<byte> objectJson)
    {
        var prefix = TypePrefix(type);
        var line = new byte[prefix.Length + objectJson.Length + 2];
        prefix.CopyTo(line);
        objectJson.CopyTo(line.AsSpan(prefix.Length));
        line[^2] = (byte)'}';
        line[^1] = (byte)'\n';
        return line;
    }

    public static ReadOnlySpan<byte> TypePrefix(WatchEventType type) => type switch
    {
        WatchEventType.Added => "{\"type\":\"ADDED\",\"object\":"u8,
        WatchEventType.Modified => "{\"type\":\"MODIFIED\",\"object\":"u8,
        WatchEventType.Deleted => "{\"type\":\"DELETED\",\"object\":"u8,
        WatchEventType.Bookmark => "{\"type\":\"BOOKMARK\",\"object\":"u8,
        _ => "{\"type\":\"ERROR\",\"object\":"u8,
    };

    public static string TypeName(WatchEventType type) => type switch
    {
        WatchEventType.Added => "ADDED",
        WatchEventType.Modified => "MODIFIED",
        WatchEventType.Deleted => "DELETED",
        WatchEventType.Bookmark => "BOOKMARK",
        _ => "ERROR",
    };
}
