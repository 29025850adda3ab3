using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KubeConsistency;

/// <summary>
/// Reads object metadata (namespace, name, uid, resourceVersion) from any object type, so the cache needs
/// no Kubernetes client dependency.
/// </summary>
/// <remarks>
/// <see cref="Default"/> understands objects shaped like Kubernetes models (a <c>Metadata</c> property with
/// <c>Name</c>, <c>NamespaceProperty</c> or <c>Namespace</c>, <c>Uid</c>, <c>ResourceVersion</c> — the
/// KubernetesClient <c>V1ObjectMeta</c> shape), <see cref="JsonNode"/>/<see cref="JsonObject"/> and
/// <see cref="JsonElement"/>. Supply your own with <see cref="ObjectMetadataAccessor.Create{T}"/>.
/// An object "has metadata" when its metadata part is present; that decides whether storing it moves the
/// store's resource version (upstream-semantics.md §4.2: non-meta objects leave it unchanged).
/// </remarks>
/// <typeparam name="T">The object type.</typeparam>
public abstract class ObjectMetadataAccessor<T>
{
    private static ObjectMetadataAccessor<T>? s_default;

    /// <summary>The built-in accessor for <typeparamref name="T"/> (see the type remarks).</summary>
    public static ObjectMetadataAccessor<T> Default => s_default ??= DefaultAccessors.Create<T>();

    /// <summary>Whether the object carries object metadata at all.</summary>
    /// <param name="obj">The object.</param>
    public abstract bool HasMetadata(T obj);

    /// <summary>The namespace, or <see langword="null"/>/<c>""</c> for cluster-scoped objects.</summary>
    /// <param name="obj">The object.</param>
    public abstract string? GetNamespace(T obj);

    /// <summary>The name.</summary>
    /// <param name="obj">The object.</param>
    public abstract string? GetName(T obj);

    /// <summary>The UID.</summary>
    /// <param name="obj">The object.</param>
    public abstract string? GetUid(T obj);

    /// <summary>The resource version.</summary>
    /// <param name="obj">The object.</param>
    public abstract string? GetResourceVersion(T obj);
}

/// <summary>Factory for custom <see cref="ObjectMetadataAccessor{T}"/>s.</summary>
public static class ObjectMetadataAccessor
{
    /// <summary>Creates an accessor from delegates.</summary>
    /// <typeparam name="T">The object type.</typeparam>
    /// <param name="getNamespace">Reads the namespace.</param>
    /// <param name="getName">Reads the name.</param>
    /// <param name="getUid">Reads the UID.</param>
    /// <param name="getResourceVersion">Reads the resource version.</param>
    /// <param name="hasMetadata">Whether an object has metadata; <see langword="null"/> means always.</param>
    public static ObjectMetadataAccessor<T> Create<T>(
        Func<T, string?> getNamespace,
        Func<T, string?> getName,
        Func<T, string?> getUid,
        Func<T, string?> getResourceVersion,
        Func<T, bool>? hasMetadata = null)
    {
        ArgumentNullException.ThrowIfNull(getNamespace);
        ArgumentNullException.ThrowIfNull(getName);
        ArgumentNullException.ThrowIfNull(getUid);
        ArgumentNullException.ThrowIfNull(getResourceVersion);
        return new DelegateAccessor<T>(hasMetadata ?? (static o => o is not null), getNamespace, getName, getUid, getResourceVersion);
    }
}

internal sealed class DelegateAccessor<T>(
    Func<T, bool> hasMetadata,
    Func<T, string?> getNamespace,
    Func<T, string?> getName,
    Func<T, string?> getUid,
    Func<T, string?> getResourceVersion) : ObjectMetadataAccessor<T>
{
    public override bool HasMetadata(T obj) => hasMetadata(obj);

    public override string? GetNamespace(T obj) => getNamespace(obj);

    public override string? GetName(T obj) => getName(obj);

    public override string? GetUid(T obj) => getUid(obj);

    public override string? GetResourceVersion(T obj) => getResourceVersion(obj);
}

internal static class DefaultAccessors
{
    public static ObjectMetadataAccessor<T> Create<T>()
    {
        var type = typeof(T);
        if (typeof(JsonNode).IsAssignableFrom(type))
        {
            return (ObjectMetadataAccessor<T>)(object)new JsonNodeAccessor<T>();
        }

        if (type == typeof(JsonElement))
        {
            return (ObjectMetadataAccessor<T>)(object)new JsonElementAccessor();
        }

        if (ModelAccessor<T>.TryCreate() is { } model)
        {
            return model;
        }

        // The static type does not settle the shape (object, interfaces, base classes): dispatch on the runtime type.
        return !type.IsSealed || type.IsInterface ? new RuntimeTypeAccessor<T>() : new NoMetadataAccessor<T>();
    }
}

/// <summary>Objects whose type has no recognisable metadata: keys cannot be computed, RVs never move the store.</summary>
internal sealed class NoMetadataAccessor<T> : ObjectMetadataAccessor<T>
{
    public override bool HasMetadata(T obj) => false;

    public override string? GetNamespace(T obj) => null;

    public override string? GetName(T obj) => null;

    public override string? GetUid(T obj) => null;

    public override string? GetResourceVersion(T obj) => null;
}

/// <summary>Objects shaped like Kubernetes models: <c>obj.Metadata.{Name, NamespaceProperty|Namespace, Uid, ResourceVersion}</c>.</summary>
internal sealed class ModelAccessor<T> : ObjectMetadataAccessor<T>
{
    private readonly Func<T, bool> _hasMetadata;
    private readonly Func<T, string?> _namespace;
    private readonly Func<T, string?> _name;
    private readonly Func<T, string?> _uid;
    private readonly Func<T, string?> _resourceVersion;

    private ModelAccessor(Func<T, bool> hasMetadata, Func<T, string?> ns, Func<T, string?> name, Func<T, string?> uid, Func<T, string?> rv)
    {
        _hasMetadata = hasMetadata;
        _namespace = ns;
        _name = name;
        _uid = uid;
        _resourceVersion = rv;
    }

    public static ModelAccessor<T>? TryCreate()
    {
        var metadata = typeof(T).GetProperty("Metadata", BindingFlags.Public | BindingFlags.Instance);
        if (metadata is null || metadata.GetMethod is null || metadata.PropertyType.IsValueType)
        {
            return null;
        }

        var metaType = metadata.PropertyType;
        var name = StringProperty(metaType, "Name");
        if (name is null)
        {
            return null;
        }

        var ns = StringProperty(metaType, "NamespaceProperty") ?? StringProperty(metaType, "Namespace");
        return new ModelAccessor<T>(
            HasMetadata(metadata),
            Getter(metadata, ns),
            Getter(metadata, name),
            Getter(metadata, StringProperty(metaType, "Uid")),
            Getter(metadata, StringProperty(metaType, "ResourceVersion")));
    }

    public override bool HasMetadata(T obj) => obj is not null && _hasMetadata(obj);

    public override string? GetNamespace(T obj) => obj is null ? null : _namespace(obj);

    public override string? GetName(T obj) => obj is null ? null : _name(obj);

    public override string? GetUid(T obj) => obj is null ? null : _uid(obj);

    public override string? GetResourceVersion(T obj) => obj is null ? null : _resourceVersion(obj);

    private static PropertyInfo? StringProperty(Type type, string name)
    {
        var p = type.GetProperty(name, BindingFlags.Public | BindingFlags.Instance);
        return p is not null && p.PropertyType == typeof(string) && p.GetMethod is not null ? p : null;
    }

    private static Func<T, bool> HasMetadata(PropertyInfo metadata)
    {
        var obj = Expression.Parameter(typeof(T), "obj");
        var body = Expression.NotEqual(Expression.Property(obj, metadata), Expression.Constant(null, metadata.PropertyType));
        return Expression.Lambda<Func<T, bool>>(body, obj).Compile();
    }

    private static Func<T, string?> Getter(PropertyInfo metadata, PropertyInfo? field)
    {
        if (field is null)
        {
            return static _ => null;
        }

        // obj => obj.Metadata is { } m ? m.Field : null
        var obj = Expression.Parameter(typeof(T), "obj");
        var meta = Expression.Variable(metadata.PropertyType, "m");
        var body = Expression.Block(
            [meta],
            Expression.Assign(meta, Expression.Property(obj, metadata)),
            Expression.Condition(
                Expression.Equal(meta, Expression.Constant(null, metadata.PropertyType)),
                Expression.Constant(null, typeof(string)),
                Expression.Property(meta, field)));
        return Expression.Lambda<Func<T, string?>>(body, obj).Compile();
    }
}

/// <summary>Dispatches on the runtime type, for caches typed as <c>object</c>, interfaces or base classes.</summary>
internal sealed class RuntimeTypeAccessor<T> : ObjectMetadataAccessor<T>
{
    public override bool HasMetadata(T obj) => obj is not null && RuntimeAccessors.Fields(obj) is { } f && f[0](obj) is not null;

    public override string? GetNamespace(T obj) => obj is null ? null : RuntimeAccessors.Fields(obj)?[1](obj);

    public override string? GetName(T obj) => obj is null ? null : RuntimeAccessors.Fields(obj)?[2](obj);

    public override string? GetUid(T obj) => obj is null ? null : RuntimeAccessors.Fields(obj)?[3](obj);

    public override string? GetResourceVersion(T obj) => obj is null ? null : RuntimeAccessors.Fields(obj)?[4](obj);
}

/// <summary>Per-runtime-type accessors: [hasMetadata (non-null = yes), namespace, name, uid, resourceVersion].</summary>
internal static class RuntimeAccessors
{
    private static readonly ConcurrentDictionary<Type, Func<object, string?>[]> s_byType = new();

    private interface IBoxedAccessor
    {
        bool HasMetadata(object obj);

        string? GetNamespace(object obj);

        string? GetName(object obj);

        string? GetUid(object obj);

        string? GetResourceVersion(object obj);
    }

    public static Func<object, string?>[]? Fields(object obj)
    {
        switch (obj)
        {
            case JsonNode:
                return JsonNodeAccessor<JsonNode>.Boxed;
            case JsonElement:
                return JsonElementAccessor.Boxed;
        }

        var fields = s_byType.GetOrAdd(obj.GetType(), static t => Build(t));
        return fields.Length == 0 ? null : fields;
    }

    private static Func<object, string?>[] Build(Type type)
    {
        var create = typeof(ModelAccessor<>).MakeGenericType(type).GetMethod(nameof(ModelAccessor<object>.TryCreate))!;
        if (create.Invoke(null, null) is not { } accessor)
        {
            return [];
        }

        // Wrap the typed accessor once per runtime type; the per-call cost is one cast and one virtual call.
        var adapter = (IBoxedAccessor)Activator.CreateInstance(typeof(BoxedAdapter<>).MakeGenericType(type), accessor)!;
        return [o => adapter.HasMetadata(o) ? string.Empty : null, adapter.GetNamespace, adapter.GetName, adapter.GetUid, adapter.GetResourceVersion];
    }

    private sealed class BoxedAdapter<TRuntime>(ObjectMetadataAccessor<TRuntime> inner) : IBoxedAccessor
    {
        public bool HasMetadata(object obj) => inner.HasMetadata((TRuntime)obj);

        public string? GetNamespace(object obj) => inner.GetNamespace((TRuntime)obj);

        public string? GetName(object obj) => inner.GetName((TRuntime)obj);

        public string? GetUid(object obj) => inner.GetUid((TRuntime)obj);

        public string? GetResourceVersion(object obj) => inner.GetResourceVersion((TRuntime)obj);
    }
}

internal sealed class JsonNodeAccessor<T> : ObjectMetadataAccessor<T>
{
    internal static readonly Func<object, string?>[] Boxed =
    [
        o => Metadata(o) is null ? null : string.Empty,
        o => Field(o, "namespace"),
        o => Field(o, "name"),
        o => Field(o, "uid"),
        o => Field(o, "resourceVersion"),
    ];

    public override bool HasMetadata(T obj) => Metadata(obj) is not null;

    public override string? GetNamespace(T obj) => Field(obj, "namespace");

    public override string? GetName(T obj) => Field(obj, "name");

    public override string? GetUid(T obj) => Field(obj, "uid");

    public override string? GetResourceVersion(T obj) => Field(obj, "resourceVersion");

    private static JsonObject? Metadata(object? obj) => obj is JsonObject o && o.TryGetPropertyValue("metadata", out var m) ? m as JsonObject : null;

    private static string? Field(object? obj, string name) =>
        Metadata(obj) is { } m && m.TryGetPropertyValue(name, out var v) && v is JsonValue value && value.TryGetValue<string>(out var s) ? s : null;
}

internal sealed class JsonElementAccessor : ObjectMetadataAccessor<JsonElement>
{
    internal static readonly Func<object, string?>[] Boxed =
    [
        o => TryMetadata((JsonElement)o, out _) ? string.Empty : null,
        o => Field((JsonElement)o, "namespace"),
        o => Field((JsonElement)o, "name"),
        o => Field((JsonElement)o, "uid"),
        o => Field((JsonElement)o, "resourceVersion"),
    ];

    public override bool HasMetadata(JsonElement obj) => TryMetadata(obj, out _);

    public override string? GetNamespace(JsonElement obj) => Field(obj, "namespace");

    public override string? GetName(JsonElement obj) => Field(obj, "name");

    public override string? GetUid(JsonElement obj) => Field(obj, "uid");

    public override string? GetResourceVersion(JsonElement obj) => Field(obj, "resourceVersion");

    private static bool TryMetadata(JsonElement obj, out JsonElement metadata)
    {
        if (obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty("metadata", out metadata) && metadata.ValueKind == JsonValueKind.Object)
        {
            return true;
        }

        metadata = default;
        return false;
    }

    private static string? Field(JsonElement obj, string name) =>
        TryMetadata(obj, out var m) && m.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
