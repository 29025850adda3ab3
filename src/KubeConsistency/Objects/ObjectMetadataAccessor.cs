using System.Collections.Concurrent;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Linq.Expressions;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KubeConsistency;

/// <summary>
/// Reads object metadata (namespace, name, uid, resourceVersion, and for controllers labels, owner references,
/// deletion timestamp and generation) from any object type, so the library needs no Kubernetes client dependency.
/// </summary>
/// <remarks>
/// <see cref="Default"/> understands objects shaped like Kubernetes models (a <c>Metadata</c> property with
/// <c>Name</c>, <c>NamespaceProperty</c> or <c>Namespace</c>, <c>Uid</c>, <c>ResourceVersion</c>, <c>Labels</c>,
/// <c>OwnerReferences</c>, <c>DeletionTimestamp</c>, <c>Generation</c> — the KubernetesClient <c>V1ObjectMeta</c>
/// shape), <see cref="JsonNode"/>/<see cref="JsonObject"/> and <see cref="JsonElement"/>. Supply your own with
/// <see cref="ObjectMetadataAccessor.Create{T}(ObjectMetadataFunctions{T})"/>.
/// An object "has metadata" when its metadata part is present; that decides whether storing it moves the
/// store's resource version (upstream-semantics.md §4.2: non-meta objects leave it unchanged).
/// The controller members (<see cref="GetLabels"/>, <see cref="GetOwnerReferences"/>,
/// <see cref="GetDeletionTimestamp"/>, <see cref="GetGeneration"/>) are virtual with "absent" defaults, so
/// accessors written against earlier versions keep compiling.
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

    /// <summary>The labels (<c>metadata.labels</c>); <see langword="null"/> when the object has none.</summary>
    /// <param name="obj">The object.</param>
    /// <returns>A read-only view; do not mutate the object while using it.</returns>
    public virtual IReadOnlyDictionary<string, string>? GetLabels(T obj) => null;

    /// <summary>The owner references (<c>metadata.ownerReferences</c>); empty when the object has none.</summary>
    /// <param name="obj">The object.</param>
    public virtual IReadOnlyList<OwnerReference> GetOwnerReferences(T obj) => [];

    /// <summary>When graceful deletion was requested (<c>metadata.deletionTimestamp</c>); <see langword="null"/> when not being deleted.</summary>
    /// <param name="obj">The object.</param>
    public virtual DateTimeOffset? GetDeletionTimestamp(T obj) => null;

    /// <summary>The generation of the desired state (<c>metadata.generation</c>); <see langword="null"/> when absent.</summary>
    /// <param name="obj">The object.</param>
    public virtual long? GetGeneration(T obj) => null;

    /// <summary>The namespace and name of <paramref name="obj"/>.</summary>
    /// <param name="obj">The object.</param>
    public NamespacedName GetNamespacedName(T obj) => new(GetNamespace(obj), GetName(obj));

    /// <summary>
    /// The owner reference with <c>controller: true</c> (Go: <c>metav1.GetControllerOf</c>); <see langword="null"/>
    /// when the object has no controller.
    /// </summary>
    /// <param name="obj">The object.</param>
    public OwnerReference? GetControllerOf(T obj) => OwnerReference.GetControllerOf(GetOwnerReferences(obj));

    /// <summary>
    /// Builds the controller reference that objects created by <paramref name="owner"/> carry (Go:
    /// <c>metav1.NewControllerRef</c>): its name and UID, <c>controller: true</c>, <c>blockOwnerDeletion: true</c>.
    /// </summary>
    /// <param name="owner">The owning object (e.g. a ReplicaSet).</param>
    /// <param name="apiVersion">The owner's <c>apiVersion</c>, e.g. <c>apps/v1</c>.</param>
    /// <param name="kind">The owner's kind, e.g. <c>ReplicaSet</c>.</param>
    /// <exception cref="ArgumentException">The owner has no name or UID, or the API version or kind is empty.</exception>
    public OwnerReference NewControllerRef(T owner, string apiVersion, string kind)
    {
        var name = GetName(owner);
        var uid = GetUid(owner);
        if (string.IsNullOrEmpty(name) || string.IsNullOrEmpty(uid))
        {
            throw new ArgumentException("The owner needs a name and a UID to be referenced; was it read from the API server?", nameof(owner));
        }

        return OwnerReference.NewControllerRef(apiVersion, kind, name, uid);
    }
}

/// <summary>
/// Delegates that make up a custom <see cref="ObjectMetadataAccessor{T}"/> (see
/// <see cref="ObjectMetadataAccessor.Create{T}(ObjectMetadataFunctions{T})"/>). The identity readers are required;
/// the controller readers are optional and report "absent" when not given.
/// </summary>
/// <typeparam name="T">The object type.</typeparam>
public sealed class ObjectMetadataFunctions<T>
{
    /// <summary>Reads the namespace.</summary>
    public required Func<T, string?> GetNamespace { get; init; }

    /// <summary>Reads the name.</summary>
    public required Func<T, string?> GetName { get; init; }

    /// <summary>Reads the UID.</summary>
    public required Func<T, string?> GetUid { get; init; }

    /// <summary>Reads the resource version.</summary>
    public required Func<T, string?> GetResourceVersion { get; init; }

    /// <summary>Whether an object has metadata; <see langword="null"/> means every non-null object has.</summary>
    public Func<T, bool>? HasMetadata { get; init; }

    /// <summary>Reads the labels.</summary>
    public Func<T, IReadOnlyDictionary<string, string>?>? GetLabels { get; init; }

    /// <summary>Reads the owner references.</summary>
    public Func<T, IReadOnlyList<OwnerReference>?>? GetOwnerReferences { get; init; }

    /// <summary>Reads the deletion timestamp.</summary>
    public Func<T, DateTimeOffset?>? GetDeletionTimestamp { get; init; }

    /// <summary>Reads the generation.</summary>
    public Func<T, long?>? GetGeneration { get; init; }
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
        return Create(new ObjectMetadataFunctions<T>
        {
            GetNamespace = getNamespace,
            GetName = getName,
            GetUid = getUid,
            GetResourceVersion = getResourceVersion,
            HasMetadata = hasMetadata,
        });
    }

    /// <summary>Creates an accessor from delegates, including the controller readers (labels, owner references, …).</summary>
    /// <typeparam name="T">The object type.</typeparam>
    /// <param name="functions">The delegates.</param>
    public static ObjectMetadataAccessor<T> Create<T>(ObjectMetadataFunctions<T> functions)
    {
        ArgumentNullException.ThrowIfNull(functions);
        ArgumentNullException.ThrowIfNull(functions.GetNamespace, nameof(functions));
        ArgumentNullException.ThrowIfNull(functions.GetName, nameof(functions));
        ArgumentNullException.ThrowIfNull(functions.GetUid, nameof(functions));
        ArgumentNullException.ThrowIfNull(functions.GetResourceVersion, nameof(functions));
        return new DelegateAccessor<T>(functions);
    }
}

internal sealed class DelegateAccessor<T>(ObjectMetadataFunctions<T> f) : ObjectMetadataAccessor<T>
{
    private readonly Func<T, bool> _hasMetadata = f.HasMetadata ?? (static o => o is not null);

    public override bool HasMetadata(T obj) => _hasMetadata(obj);

    public override string? GetNamespace(T obj) => f.GetNamespace(obj);

    public override string? GetName(T obj) => f.GetName(obj);

    public override string? GetUid(T obj) => f.GetUid(obj);

    public override string? GetResourceVersion(T obj) => f.GetResourceVersion(obj);

    public override IReadOnlyDictionary<string, string>? GetLabels(T obj) => f.GetLabels?.Invoke(obj);

    public override IReadOnlyList<OwnerReference> GetOwnerReferences(T obj) => f.GetOwnerReferences?.Invoke(obj) ?? [];

    public override DateTimeOffset? GetDeletionTimestamp(T obj) => f.GetDeletionTimestamp?.Invoke(obj);

    public override long? GetGeneration(T obj) => f.GetGeneration?.Invoke(obj);
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

/// <summary>Conversions shared by the built-in accessors.</summary>
internal static class MetadataConversions
{
    public static DateTimeOffset? FromDateTime(DateTime value) =>
        value.Kind == DateTimeKind.Local ? new DateTimeOffset(value) : new DateTimeOffset(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    public static DateTimeOffset? FromNullableDateTime(DateTime? value) => value is { } v ? FromDateTime(v) : null;

    public static DateTimeOffset? FromDateTimeOffset(DateTimeOffset value) => value;

    public static DateTimeOffset? FromString(string? value) =>
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed) ? parsed : null;

    /// <summary>Any dictionary-like value as a read-only dictionary, without copying when it already is one.</summary>
    public static IReadOnlyDictionary<string, string>? Labels(object? value) => value switch
    {
        null => null,
        IReadOnlyDictionary<string, string> ro => ro,
        IDictionary<string, string> rw => new ReadOnlyDictionary<string, string>(rw),
        IEnumerable<KeyValuePair<string, string>> pairs => pairs.ToDictionary(StringComparer.Ordinal),
        _ => null,
    };
}

/// <summary>
/// Objects shaped like Kubernetes models: <c>obj.Metadata.{Name, NamespaceProperty|Namespace, Uid, ResourceVersion,
/// Labels, OwnerReferences, DeletionTimestamp, Generation}</c>.
/// </summary>
internal sealed class ModelAccessor<T> : ObjectMetadataAccessor<T>
{
    private readonly Func<T, bool> _hasMetadata;
    private readonly Func<T, string?> _namespace;
    private readonly Func<T, string?> _name;
    private readonly Func<T, string?> _uid;
    private readonly Func<T, string?> _resourceVersion;
    private readonly Func<T, object?> _labels;
    private readonly Func<T, object?> _ownerReferences;
    private readonly Func<object, OwnerReference>? _ownerReference;
    private readonly Func<T, DateTimeOffset?> _deletionTimestamp;
    private readonly Func<T, long?> _generation;

    private ModelAccessor(PropertyInfo metadata, PropertyInfo name)
    {
        var metaType = metadata.PropertyType;
        _hasMetadata = HasMetadataGetter(metadata);
        _namespace = Getter<string>(metadata, StringProperty(metaType, "NamespaceProperty") ?? StringProperty(metaType, "Namespace"));
        _name = Getter<string>(metadata, name);
        _uid = Getter<string>(metadata, StringProperty(metaType, "Uid"));
        _resourceVersion = Getter<string>(metadata, StringProperty(metaType, "ResourceVersion"));
        _labels = Getter<object>(metadata, ReferenceProperty(metaType, "Labels"));
        var ownerReferences = ReferenceProperty(metaType, "OwnerReferences");
        var elementType = ownerReferences is null ? null : EnumerableElementType(ownerReferences.PropertyType);
        _ownerReferences = elementType is null ? static _ => null : Getter<object>(metadata, ownerReferences);
        _ownerReference = elementType is null ? null : OwnerReferenceConverter(elementType);
        _deletionTimestamp = TimestampGetter(metadata, metaType.GetProperty("DeletionTimestamp", BindingFlags.Public | BindingFlags.Instance));
        _generation = GenerationGetter(metadata, metaType.GetProperty("Generation", BindingFlags.Public | BindingFlags.Instance));
    }

    public static ModelAccessor<T>? TryCreate()
    {
        var metadata = typeof(T).GetProperty("Metadata", BindingFlags.Public | BindingFlags.Instance);
        if (metadata is null || metadata.GetMethod is null || metadata.PropertyType.IsValueType)
        {
            return null;
        }

        var name = StringProperty(metadata.PropertyType, "Name");
        return name is null ? null : new ModelAccessor<T>(metadata, name);
    }

    public override bool HasMetadata(T obj) => obj is not null && _hasMetadata(obj);

    public override string? GetNamespace(T obj) => obj is null ? null : _namespace(obj);

    public override string? GetName(T obj) => obj is null ? null : _name(obj);

    public override string? GetUid(T obj) => obj is null ? null : _uid(obj);

    public override string? GetResourceVersion(T obj) => obj is null ? null : _resourceVersion(obj);

    public override IReadOnlyDictionary<string, string>? GetLabels(T obj) => obj is null ? null : MetadataConversions.Labels(_labels(obj));

    public override IReadOnlyList<OwnerReference> GetOwnerReferences(T obj)
    {
        if (obj is null || _ownerReference is null || _ownerReferences(obj) is not System.Collections.IEnumerable items)
        {
            return [];
        }

        List<OwnerReference>? result = null;
        foreach (var item in items)
        {
            if (item is not null)
            {
                (result ??= []).Add(_ownerReference(item));
            }
        }

        return result is null ? [] : result;
    }

    public override DateTimeOffset? GetDeletionTimestamp(T obj) => obj is null ? null : _deletionTimestamp(obj);

    public override long? GetGeneration(T obj) => obj is null ? null : _generation(obj);

    private static PropertyInfo? StringProperty(Type type, string name)
    {
        var p = type.GetProperty(name, BindingFlags.Public | BindingFlags.Instance);
        return p is not null && p.PropertyType == typeof(string) && p.GetMethod is not null ? p : null;
    }

    private static PropertyInfo? ReferenceProperty(Type type, string name)
    {
        var p = type.GetProperty(name, BindingFlags.Public | BindingFlags.Instance);
        return p is not null && !p.PropertyType.IsValueType && p.GetMethod is not null ? p : null;
    }

    private static Type? EnumerableElementType(Type type)
    {
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IEnumerable<>))
        {
            return type.GetGenericArguments()[0];
        }

        return type.GetInterfaces()
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?
            .GetGenericArguments()[0];
    }

    private static Func<T, bool> HasMetadataGetter(PropertyInfo metadata)
    {
        var obj = Expression.Parameter(typeof(T), "obj");
        var body = Expression.NotEqual(Expression.Property(obj, metadata), Expression.Constant(null, metadata.PropertyType));
        return Expression.Lambda<Func<T, bool>>(body, obj).Compile();
    }

    /// <summary>Compiles <c>obj =&gt; obj.Metadata is { } m ? convert(m.Field) : default</c>.</summary>
    private static Func<T, TResult?> Getter<TResult>(PropertyInfo metadata, PropertyInfo? field, Func<Expression, Expression>? convert = null)
    {
        if (field is null)
        {
            return static _ => default;
        }

        var obj = Expression.Parameter(typeof(T), "obj");
        var meta = Expression.Variable(metadata.PropertyType, "m");
        var value = convert is null ? Expression.Convert(Expression.Property(meta, field), typeof(TResult)) : convert(Expression.Property(meta, field));
        var body = Expression.Block(
            [meta],
            Expression.Assign(meta, Expression.Property(obj, metadata)),
            Expression.Condition(
                Expression.Equal(meta, Expression.Constant(null, metadata.PropertyType)),
                Expression.Default(typeof(TResult)),
                value));
        return Expression.Lambda<Func<T, TResult?>>(body, obj).Compile();
    }

    private static Func<T, DateTimeOffset?> TimestampGetter(PropertyInfo metadata, PropertyInfo? field)
    {
        var method = field?.GetMethod is null ? null : field.PropertyType switch
        {
            var t when t == typeof(DateTime) => nameof(MetadataConversions.FromDateTime),
            var t when t == typeof(DateTime?) => nameof(MetadataConversions.FromNullableDateTime),
            var t when t == typeof(DateTimeOffset) => nameof(MetadataConversions.FromDateTimeOffset),
            var t when t == typeof(DateTimeOffset?) => null,
            var t when t == typeof(string) => nameof(MetadataConversions.FromString),
            _ => "unsupported",
        };
        if (field is null || method == "unsupported")
        {
            return static _ => null;
        }

        var getter = Getter<DateTimeOffset?>(metadata, field, method is null ? null : e => Expression.Call(typeof(MetadataConversions).GetMethod(method)!, e));
        return obj => getter(obj);
    }

    private static Func<T, long?> GenerationGetter(PropertyInfo metadata, PropertyInfo? field)
    {
        var supported = field?.GetMethod is not null && (field.PropertyType == typeof(long) || field.PropertyType == typeof(long?) || field.PropertyType == typeof(int) || field.PropertyType == typeof(int?));
        if (!supported)
        {
            return static _ => null;
        }

        var getter = Getter<long?>(metadata, field);
        return obj => getter(obj);
    }

    /// <summary>Compiles a converter from the model's owner-reference type to <see cref="OwnerReference"/>.</summary>
    private static Func<object, OwnerReference> OwnerReferenceConverter(Type elementType)
    {
        var item = Expression.Parameter(typeof(object), "item");
        var typed = Expression.Variable(elementType, "r");
        Expression Text(string name) =>
            elementType.GetProperty(name, BindingFlags.Public | BindingFlags.Instance) is { PropertyType: var pt } p && pt == typeof(string)
                ? Expression.Coalesce(Expression.Property(typed, p), Expression.Constant(string.Empty))
                : Expression.Constant(string.Empty);
        Expression Flag(string name) =>
            elementType.GetProperty(name, BindingFlags.Public | BindingFlags.Instance) is { PropertyType: var pt } p && (pt == typeof(bool) || pt == typeof(bool?))
                ? Expression.Convert(Expression.Property(typed, p), typeof(bool?))
                : Expression.Constant(null, typeof(bool?));
        var ctor = typeof(OwnerReference).GetConstructor([typeof(string), typeof(string), typeof(string), typeof(string), typeof(bool?), typeof(bool?)])!;
        var body = Expression.Block(
            [typed],
            Expression.Assign(typed, Expression.Convert(item, elementType)),
            Expression.New(ctor, Text("ApiVersion"), Text("Kind"), Text("Name"), Text("Uid"), Flag("Controller"), Flag("BlockOwnerDeletion")));
        return Expression.Lambda<Func<object, OwnerReference>>(body, item).Compile();
    }
}

/// <summary>Dispatches on the runtime type, for caches typed as <c>object</c>, interfaces or base classes.</summary>
internal sealed class RuntimeTypeAccessor<T> : ObjectMetadataAccessor<T>
{
    public override bool HasMetadata(T obj) => obj is not null && RuntimeAccessors.For(obj).HasMetadata(obj);

    public override string? GetNamespace(T obj) => obj is null ? null : RuntimeAccessors.For(obj).GetNamespace(obj);

    public override string? GetName(T obj) => obj is null ? null : RuntimeAccessors.For(obj).GetName(obj);

    public override string? GetUid(T obj) => obj is null ? null : RuntimeAccessors.For(obj).GetUid(obj);

    public override string? GetResourceVersion(T obj) => obj is null ? null : RuntimeAccessors.For(obj).GetResourceVersion(obj);

    public override IReadOnlyDictionary<string, string>? GetLabels(T obj) => obj is null ? null : RuntimeAccessors.For(obj).GetLabels(obj);

    public override IReadOnlyList<OwnerReference> GetOwnerReferences(T obj) => obj is null ? [] : RuntimeAccessors.For(obj).GetOwnerReferences(obj);

    public override DateTimeOffset? GetDeletionTimestamp(T obj) => obj is null ? null : RuntimeAccessors.For(obj).GetDeletionTimestamp(obj);

    public override long? GetGeneration(T obj) => obj is null ? null : RuntimeAccessors.For(obj).GetGeneration(obj);
}

/// <summary>One boxed accessor per runtime type.</summary>
internal static class RuntimeAccessors
{
    private static readonly ConcurrentDictionary<Type, ObjectMetadataAccessor<object>> s_byType = new();
    private static readonly ObjectMetadataAccessor<object> s_jsonNode = new JsonNodeAccessor<object>();
    private static readonly ObjectMetadataAccessor<object> s_jsonElement = new BoxedAdapter<JsonElement>(new JsonElementAccessor());
    private static readonly ObjectMetadataAccessor<object> s_none = new NoMetadataAccessor<object>();

    public static ObjectMetadataAccessor<object> For(object obj) => obj switch
    {
        JsonNode => s_jsonNode,
        JsonElement => s_jsonElement,
        _ => s_byType.GetOrAdd(obj.GetType(), static t => Build(t)),
    };

    private static ObjectMetadataAccessor<object> Build(Type type)
    {
        var create = typeof(ModelAccessor<>).MakeGenericType(type).GetMethod(nameof(ModelAccessor<object>.TryCreate))!;
        if (create.Invoke(null, null) is not { } accessor)
        {
            return s_none;
        }

        // Wrap the typed accessor once per runtime type; the per-call cost is one cast and one virtual call.
        return (ObjectMetadataAccessor<object>)Activator.CreateInstance(typeof(BoxedAdapter<>).MakeGenericType(type), accessor)!;
    }

    private sealed class BoxedAdapter<TRuntime>(ObjectMetadataAccessor<TRuntime> inner) : ObjectMetadataAccessor<object>
    {
        public override bool HasMetadata(object obj) => inner.HasMetadata((TRuntime)obj);

        public override string? GetNamespace(object obj) => inner.GetNamespace((TRuntime)obj);

        public override string? GetName(object obj) => inner.GetName((TRuntime)obj);

        public override string? GetUid(object obj) => inner.GetUid((TRuntime)obj);

        public override string? GetResourceVersion(object obj) => inner.GetResourceVersion((TRuntime)obj);

        public override IReadOnlyDictionary<string, string>? GetLabels(object obj) => inner.GetLabels((TRuntime)obj);

        public override IReadOnlyList<OwnerReference> GetOwnerReferences(object obj) => inner.GetOwnerReferences((TRuntime)obj);

        public override DateTimeOffset? GetDeletionTimestamp(object obj) => inner.GetDeletionTimestamp((TRuntime)obj);

        public override long? GetGeneration(object obj) => inner.GetGeneration((TRuntime)obj);
    }
}

internal sealed class JsonNodeAccessor<T> : ObjectMetadataAccessor<T>
{
    public override bool HasMetadata(T obj) => Metadata(obj) is not null;

    public override string? GetNamespace(T obj) => Field(obj, "namespace");

    public override string? GetName(T obj) => Field(obj, "name");

    public override string? GetUid(T obj) => Field(obj, "uid");

    public override string? GetResourceVersion(T obj) => Field(obj, "resourceVersion");

    public override IReadOnlyDictionary<string, string>? GetLabels(T obj)
    {
        if (Metadata(obj) is not { } m || !m.TryGetPropertyValue("labels", out var node) || node is not JsonObject labels)
        {
            return null;
        }

        var result = new Dictionary<string, string>(labels.Count, StringComparer.Ordinal);
        foreach (var (key, value) in labels)
        {
            if (Text(value) is { } s)
            {
                result[key] = s;
            }
        }

        return result;
    }

    public override IReadOnlyList<OwnerReference> GetOwnerReferences(T obj)
    {
        if (Metadata(obj) is not { } m || !m.TryGetPropertyValue("ownerReferences", out var node) || node is not JsonArray array || array.Count == 0)
        {
            return [];
        }

        var result = new List<OwnerReference>(array.Count);
        foreach (var item in array)
        {
            if (item is JsonObject r)
            {
                result.Add(new OwnerReference(
                    Text(r["apiVersion"]) ?? string.Empty,
                    Text(r["kind"]) ?? string.Empty,
                    Text(r["name"]) ?? string.Empty,
                    Text(r["uid"]) ?? string.Empty,
                    Flag(r["controller"]),
                    Flag(r["blockOwnerDeletion"])));
            }
        }

        return result;
    }

    public override DateTimeOffset? GetDeletionTimestamp(T obj) => MetadataConversions.FromString(Field(obj, "deletionTimestamp"));

    public override long? GetGeneration(T obj)
    {
        if (Metadata(obj) is not { } m || !m.TryGetPropertyValue("generation", out var node) || node is not JsonValue value)
        {
            return null;
        }

        if (value.TryGetValue<long>(out var l))
        {
            return l;
        }

        return value.TryGetValue<int>(out var i) ? i : null;
    }

    private static JsonObject? Metadata(object? obj) => obj is JsonObject o && o.TryGetPropertyValue("metadata", out var m) ? m as JsonObject : null;

    private static string? Field(object? obj, string name) =>
        Metadata(obj) is { } m && m.TryGetPropertyValue(name, out var v) ? Text(v) : null;

    private static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var s) ? s : null;

    private static bool? Flag(JsonNode? node) => node is JsonValue value && value.TryGetValue<bool>(out var b) ? b : null;
}

internal sealed class JsonElementAccessor : ObjectMetadataAccessor<JsonElement>
{
    public override bool HasMetadata(JsonElement obj) => TryMetadata(obj, out _);

    public override string? GetNamespace(JsonElement obj) => Field(obj, "namespace");

    public override string? GetName(JsonElement obj) => Field(obj, "name");

    public override string? GetUid(JsonElement obj) => Field(obj, "uid");

    public override string? GetResourceVersion(JsonElement obj) => Field(obj, "resourceVersion");

    public override IReadOnlyDictionary<string, string>? GetLabels(JsonElement obj)
    {
        if (!TryMetadata(obj, out var m) || !m.TryGetProperty("labels", out var labels) || labels.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in labels.EnumerateObject())
        {
            if (p.Value.ValueKind == JsonValueKind.String)
            {
                result[p.Name] = p.Value.GetString()!;
            }
        }

        return result;
    }

    public override IReadOnlyList<OwnerReference> GetOwnerReferences(JsonElement obj)
    {
        if (!TryMetadata(obj, out var m) || !m.TryGetProperty("ownerReferences", out var array) || array.ValueKind != JsonValueKind.Array || array.GetArrayLength() == 0)
        {
            return [];
        }

        var result = new List<OwnerReference>(array.GetArrayLength());
        foreach (var r in array.EnumerateArray())
        {
            if (r.ValueKind == JsonValueKind.Object)
            {
                result.Add(new OwnerReference(
                    Text(r, "apiVersion") ?? string.Empty,
                    Text(r, "kind") ?? string.Empty,
                    Text(r, "name") ?? string.Empty,
                    Text(r, "uid") ?? string.Empty,
                    Flag(r, "controller"),
                    Flag(r, "blockOwnerDeletion")));
            }
        }

        return result;
    }

    public override DateTimeOffset? GetDeletionTimestamp(JsonElement obj) => MetadataConversions.FromString(Field(obj, "deletionTimestamp"));

    public override long? GetGeneration(JsonElement obj) =>
        TryMetadata(obj, out var m) && m.TryGetProperty("generation", out var g) && g.ValueKind == JsonValueKind.Number && g.TryGetInt64(out var l) ? l : null;

    private static bool TryMetadata(JsonElement obj, out JsonElement metadata)
    {
        if (obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty("metadata", out metadata) && metadata.ValueKind == JsonValueKind.Object)
        {
            return true;
        }

        metadata = default;
        return false;
    }

    private static string? Field(JsonElement obj, string name) => TryMetadata(obj, out var m) ? Text(m, name) : null;

    private static string? Text(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static bool? Flag(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;
}
