using System.Buffers;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace KubeConsistency.Http;

/// <summary>
/// Decodes an object graph with value converters built from its System.Text.Json contract: objects, lists and
/// dictionaries are read straight from the reader, property by property, through the same property names, setters
/// and leaf converters (strings, numbers, timestamps, quantities, the sharing converters) the contract names.
/// </summary>
/// <remarks>
/// Why: System.Text.Json's own object converters are resumable. One <c>Deserialize</c> per object allocates their
/// read-stack frames afresh (about 1.35 KB for a pod); a streaming decode keeps the frames but runs the slower resumable
/// path for every property. A value converter needs neither: the serializer calls it once with the whole value in the
/// buffer. Only contracts whose every feature is reproduced here are built (see <see cref="TryCreate"/>); for the rest
/// the caller keeps the serializer's own decode. Errors: the reader's and the leaf converters' exceptions pass
/// through, so a caller that wants the serializer's exact message and path decodes the failed value again with the
/// original contract.
/// </remarks>
internal static class DirectDecoding
{
    private static readonly ConditionalWeakTable<JsonTypeInfo, StrongBox<JsonTypeInfo?>> s_direct = [];

    // Members met twice in one object of a duplicate-reporting converter, on this thread (see TryReadObject).
    [ThreadStatic]
    private static int t_duplicates;

    /// <summary>The direct contract for <paramref name="typeInfo"/>'s type and options, built once per contract; <see langword="null"/> as <see cref="TryCreate"/>.</summary>
    public static JsonTypeInfo<T>? For<T>(JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        return (JsonTypeInfo<T>?)s_direct.GetValue(typeInfo, static info => new(TryCreate(info.Options, info.Type))).Value;
    }

    /// <summary>
    /// Reads the object at <paramref name="reader"/> (on its <see cref="JsonTokenType.StartObject"/>) with
    /// <paramref name="direct"/>'s converter, in place: no second pass over the value to find its end, as
    /// <c>Deserialize</c> from a reader makes. On <see langword="false"/> the reader's position is undefined and the
    /// caller decodes its whole input the serializer's way, which gives the exact value or error.
    /// </summary>
    /// <param name="direct">A contract from <see cref="For{T}"/>.</param>
    /// <param name="reader">
    /// The reader, no more permissive than <paramref name="direct"/>'s options: comments and trailing commas
    /// disallowed, and a depth limit that gives the object at most the options' own.
    /// </param>
    /// <param name="value">The object.</param>
    /// <returns>
    /// Whether the object was read. <see langword="false"/> also when the root object or its <c>metadata</c> object
    /// repeats a member: the last one wins, which a caller that has already scanned the first one must not miss.
    /// </returns>
    public static bool TryReadObject<T>(JsonTypeInfo<T> direct, ref Utf8JsonReader reader, out T? value)
    {
        value = default;
        if (direct.Converter is not (IObjectConverter and JsonConverter<T> converter) || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        var depth = reader.CurrentDepth;

        // Kept for a caller up the stack on this thread (a converter of its graph reading a nested object this way).
        var outer = t_duplicates;
        t_duplicates = 0;
        try
        {
            value = converter.Read(ref reader, typeof(T), direct.Options);
            return value is not null && t_duplicates == 0 && reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Not swallowed: the caller's decode of the same input reproduces it with the serializer's message and path.
            return false;
        }
        finally
        {
            t_duplicates = outer;
        }
    }

    /// <summary>
    /// Whether <paramref name="typeInfo"/> may be decoded directly without the caller vouching for it: it is its
    /// options' own contract (<see cref="For{T}"/> builds from the options), and every resolver of the options is a
    /// source-generated <see cref="JsonSerializerContext"/> or a <see cref="DefaultJsonTypeInfoResolver"/> without
    /// modifiers, so no property's <see cref="JsonPropertyInfo.Set"/> differs from the CLR setter the direct decode calls.
    /// </summary>
    public static bool KeepsPropertySetters(JsonTypeInfo typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        var options = typeInfo.Options;
        return options.IsReadOnly
            && options.TypeInfoResolverChain.Count > 0
            && options.TypeInfoResolverChain.All(static resolver => resolver is JsonSerializerContext or DefaultJsonTypeInfoResolver { Modifiers.Count: 0 })
            && ReferenceEquals(options.GetTypeInfo(typeInfo.Type), typeInfo);
    }

    /// <summary>The most nesting the serializer allows a value decoded with <paramref name="options"/>.</summary>
    public static int MaxDepth(JsonSerializerOptions options) => options.MaxDepth == 0 ? 64 : options.MaxDepth;

    /// <summary>
    /// The contract for <paramref name="root"/> under <paramref name="options"/> with direct converters, or
    /// <see langword="null"/> when some type of its graph uses a feature the direct decode does not reproduce.
    /// </summary>
    /// <remarks>
    /// Setters are taken from the properties' own <see cref="PropertyInfo"/> where the contract has one, so a contract
    /// whose resolver replaces <see cref="JsonPropertyInfo.Set"/> must not be passed here.
    /// </remarks>
    public static JsonTypeInfo? TryCreate(JsonSerializerOptions options, Type root)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.IsReadOnly || !SupportsOptions(options))
        {
            return null;
        }

        var converter = new Builder(options).TryBuild(root);
        if (converter is null)
        {
            return null;
        }

        // TryReadObject's callers scan the root's kind and metadata: tell them when a member there repeats.
        if (converter is IObjectConverter rootObject)
        {
            rootObject.ReportDuplicates();
            rootObject.ObjectConverterOf("metadata")?.ReportDuplicates();
        }

        var direct = new JsonSerializerOptions(options);
        direct.Converters.Insert(0, converter);
        direct.MakeReadOnly(populateMissingResolver: true);
        try
        {
            return direct.GetTypeInfo(root);
        }
        catch (InvalidOperationException)
        {
            // A resolver modifier that expects the root's object contract (its properties or callbacks) rejects the
            // converter's contract: keep the serializer's decode.
            return null;
        }
    }

    private static bool SupportsOptions(JsonSerializerOptions options) =>
        options.ReferenceHandler is null
        && !options.PropertyNameCaseInsensitive
        && options.NumberHandling == JsonNumberHandling.Strict
        && options.UnmappedMemberHandling == JsonUnmappedMemberHandling.Skip
        && options.PreferredObjectCreationHandling == JsonObjectCreationHandling.Replace
        && options.AllowDuplicateProperties
        && !options.RespectNullableAnnotations
        && !options.RespectRequiredConstructorParameters
#pragma warning disable SYSLIB0020 // Obsolete, but it changes how nulls read, so a contract that sets it is refused.
        && !options.IgnoreNullValues;
#pragma warning restore SYSLIB0020

    private static readonly Assembly s_serializerAssembly = typeof(JsonSerializer).Assembly;

    private static JsonException Unexpected(JsonTokenType expected, Type type) =>
        new($"Expected {expected} to read {type}.");

    /// <summary>One value through its converter, with the serializer's rules around a converter call.</summary>
    private sealed class ValueReader<T>
    {
        private readonly JsonConverter<T> _converter;

        // typeof(T) in shared generic code is a runtime lookup on every call (2 % of a watch's CPU in a profile).
        private readonly Type _type = typeof(T);
        private readonly bool _handlesNull;
        private readonly bool _verify;

        public ValueReader(JsonConverter<T> converter)
        {
            _converter = converter;

            // As the serializer's HandleNullOnRead: an overridden HandleNull decides; otherwise only a non-nullable
            // value type's converter sees a null.
            var overridden = converter.GetType().GetProperty(nameof(JsonConverter<T>.HandleNull))!.GetMethod!.DeclaringType != typeof(JsonConverter<T>);
            _handlesNull = overridden ? converter.HandleNull : default(T) is not null;

            // The serializer checks that a converter of its caller's read exactly one value; its own need no check.
            _verify = converter.GetType().Assembly != s_serializerAssembly;
        }

        public T? Read(ref Utf8JsonReader reader, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.Null && !_handlesNull)
            {
                return default(T) is null ? default : throw new JsonException($"The JSON value could not be converted to {typeof(T)}.");
            }

            if (!_verify)
            {
                return _converter.Read(ref reader, _type, options);
            }

            var token = reader.TokenType;
            var depth = reader.CurrentDepth;
            var consumed = reader.BytesConsumed;
            var value = _converter.Read(ref reader, _type, options);
            var exact = token switch
            {
                JsonTokenType.StartObject => reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth,
                JsonTokenType.StartArray => reader.TokenType == JsonTokenType.EndArray && reader.CurrentDepth == depth,
                _ => reader.BytesConsumed == consumed,
            };
            return exact ? value : throw new JsonException($"The converter '{_converter.GetType()}' read too much or not enough.");
        }
    }

    private sealed class Builder(JsonSerializerOptions options)
    {
        // A type's converter is registered before its properties are bound, so a graph may refer to itself.
        private readonly Dictionary<Type, JsonConverter> _built = [];

        public JsonConverter? TryBuild(Type type)
        {
            if (_built.TryGetValue(type, out var built))
            {
                return built;
            }

            var info = options.GetTypeInfo(type);
            switch (info.Kind)
            {
                case JsonTypeInfoKind.None:
                    // A leaf: the serializer's own value converter or one the options or the type name.
                    return info.Converter;
                case JsonTypeInfoKind.Object:
                    return TryBuildObject(info);
                case JsonTypeInfoKind.Enumerable when ElementOfList(type) is { } element && IsPlain(info, typeof(List<>).MakeGenericType(element)):
                    return TryBuildGeneric(typeof(ListConverter<,>), type, element);
                case JsonTypeInfoKind.Dictionary when ValueOfStringDictionary(type) is { } value && IsPlain(info, typeof(Dictionary<,>).MakeGenericType(typeof(string), value)):
                    var keys = (JsonConverter<string>)options.GetConverter(typeof(string));
                    return TryBuildGeneric(typeof(DictionaryConverter<,>), type, value, keys.GetType().Assembly == s_serializerAssembly ? null : keys);
                default:
                    return null;
            }
        }

        // A collection contract the serializer would fill as the plain List or Dictionary built here: no callbacks
        // or polymorphism (collections run both since .NET 9), and a creator, if any, that makes just that.
        private static bool IsPlain(JsonTypeInfo info, Type plain)
        {
            if (info.OnDeserializing is not null || info.OnDeserialized is not null || info.PolymorphismOptions is not null || info.NumberHandling is not null)
            {
                return false;
            }

            if (info.CreateObject is null)
            {
                return true;
            }

            var created = info.CreateObject();
            return created.GetType() == plain && (created is not System.Collections.IDictionary || IsDefaultComparer(created));
        }

        private static bool IsDefaultComparer(object dictionary) =>
            dictionary.GetType().GetProperty("Comparer")?.GetValue(dictionary) is var comparer
            && ReferenceEquals(comparer, EqualityComparer<string>.Default);

        private JsonConverter? TryBuildGeneric(Type definition, Type type, Type element, params object?[] more)
        {
            var elementConverter = TryBuild(element);
            if (elementConverter is null || !ConvertsExactly(elementConverter, element))
            {
                return null;
            }

            var converter = (JsonConverter)Activator.CreateInstance(definition.MakeGenericType(type, element), [elementConverter, .. more])!;
            _built.Add(type, converter);
            return converter;
        }

        private JsonConverter? TryBuildObject(JsonTypeInfo info)
        {
            if (info.CreateObject is null || info.PolymorphismOptions is not null || info.NumberHandling is not null
                || info.UnmappedMemberHandling is JsonUnmappedMemberHandling.Disallow
                || info.PreferredPropertyObjectCreationHandling is JsonObjectCreationHandling.Populate
                || info.Type.IsValueType)
            {
                return null;
            }

            var converter = (IObjectConverter)Activator.CreateInstance(typeof(ObjectConverter<>).MakeGenericType(info.Type), info)!;
            _built.Add(info.Type, (JsonConverter)converter);
            var bindings = new List<PropertyBinding>(info.Properties.Count);
            foreach (var property in info.Properties)
            {
                if (property.IsExtensionData || property.IsRequired || property.NumberHandling is not null
                    || property.ObjectCreationHandling is JsonObjectCreationHandling.Populate)
                {
                    return null;
                }

                if (property.Get is null && property.CustomConverter is null
                    && options.GetTypeInfo(property.PropertyType).Kind is JsonTypeInfoKind.Enumerable or JsonTypeInfoKind.Dictionary)
                {
                    // The serializer reads no collection into a property it cannot get.
                    continue;
                }

                if (property.Set is null)
                {
                    // Read-only and not populated: the serializer skips the value, as an unknown property's.
                    continue;
                }

                var valueConverter = property.CustomConverter is JsonConverterFactory factory
                    ? factory.CreateConverter(property.PropertyType, options)
                    : property.CustomConverter ?? TryBuild(property.PropertyType);
                if (valueConverter is null || !ConvertsExactly(valueConverter, property.PropertyType))
                {
                    return null;
                }

                var binding = (PropertyBinding)Activator.CreateInstance(
                    typeof(PropertyBinding<,>).MakeGenericType(info.Type, property.PropertyType),
                    property,
                    valueConverter)!;
                bindings.Add(binding);
            }

            converter.Bind(bindings);
            return (JsonConverter)converter;
        }

        private static bool ConvertsExactly(JsonConverter converter, Type type) =>
            converter is not JsonConverterFactory && converter.Type == type;

        // The serializer materializes these as List<T>; other collection types keep its own converters.
        private static Type? ElementOfList(Type type) =>
            type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(List<>) || type.GetGenericTypeDefinition() == typeof(IList<>))
                ? type.GetGenericArguments()[0]
                : null;

        private static Type? ValueOfStringDictionary(Type type) =>
            type.IsGenericType && type.GetGenericArguments()[0] == typeof(string)
                && (type.GetGenericTypeDefinition() == typeof(Dictionary<,>) || type.GetGenericTypeDefinition() == typeof(IDictionary<,>))
                ? type.GetGenericArguments()[1]
                : null;
    }

    private abstract class DecodeOnlyConverter<T> : JsonConverter<T>
    {
        public sealed override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
            throw new NotSupportedException("Direct converters only decode.");
    }

    private interface IObjectConverter
    {
        void Bind(List<PropertyBinding> bindings);

        void ReportDuplicates();

        /// <summary>The object converter bound to the member named <paramref name="name"/> in JSON, if any.</summary>
        IObjectConverter? ObjectConverterOf(string name);
    }

    private abstract class PropertyBinding(JsonPropertyInfo property)
    {
        public byte[] Name { get; } = Encoding.UTF8.GetBytes(property.Name);

        /// <summary>The binding's bit in a duplicate-reporting object's mask of members read (two bindings may share one).</summary>
        public ulong Bit { get; set; }

        public abstract JsonConverter Converter { get; }
    }

    private abstract class PropertyBinding<TObject>(JsonPropertyInfo property) : PropertyBinding(property)
    {
        /// <summary>The binding whose member followed this one in the last object read: a hint, see <c>ObjectConverter.Read</c>.</summary>
        public PropertyBinding<TObject>? Next { get; set; }

        public abstract void Read(ref Utf8JsonReader reader, TObject target, JsonSerializerOptions options);
    }

    private sealed class PropertyBinding<TObject, TValue> : PropertyBinding<TObject>
    {
        private readonly Action<TObject, TValue?> _set;
        private readonly ValueReader<TValue> _value;

        public PropertyBinding(JsonPropertyInfo property, JsonConverter<TValue> converter)
            : base(property)
        {
            _value = new(converter);
            _set = TypedSetter(property) ?? Boxed(property.Set!);
            Converter = converter;
        }

        public override JsonConverter Converter { get; }

        public override void Read(ref Utf8JsonReader reader, TObject target, JsonSerializerOptions options)
        {
            // A null the converter does not take sets the property's default (only the obsolete IgnoreNullValues,
            // refused in SupportsOptions, would leave it unset).
            _set(target, _value.Read(ref reader, options));
        }

        // The property's own setter as a typed delegate: no boxing of value types.
        private static Action<TObject, TValue?>? TypedSetter(JsonPropertyInfo property) =>
            property.AttributeProvider is PropertyInfo { SetMethod: { IsPublic: true, IsStatic: false } setter } member
                && member.PropertyType == typeof(TValue) && member.DeclaringType!.IsAssignableFrom(typeof(TObject))
                ? setter.CreateDelegate<Action<TObject, TValue?>>()
                : null;

        private static Action<TObject, TValue?> Boxed(Action<object, object?> set) => (target, value) => set(target!, value);
    }

    private sealed class ObjectConverter<T>(JsonTypeInfo info) : DecodeOnlyConverter<T>, IObjectConverter
        where T : class
    {
        private readonly Func<object> _create = info.CreateObject!;
        private readonly Action<object>? _onDeserializing = info.OnDeserializing;
        private readonly Action<object>? _onDeserialized = info.OnDeserialized;

        // Bindings by the UTF-8 length of their name; each bucket holds a few names at most.
        private PropertyBinding<T>[]?[] _byLength = [];

        // The binding of the first member of the last object read (a hint, as PropertyBinding.Next).
        private PropertyBinding<T>? _first;
        private bool _reportsDuplicates;

        public void Bind(List<PropertyBinding> bindings)
        {
            var byLength = new PropertyBinding<T>[]?[bindings.Count == 0 ? 0 : bindings.Max(static b => b.Name.Length) + 1];
            // Names are unique: the serializer refuses a contract in which two properties share one.
            for (var i = 0; i < bindings.Count; i++)
            {
                var binding = bindings[i];
                binding.Bit = 1UL << (i & 63);
                byLength[binding.Name.Length] = [.. byLength[binding.Name.Length] ?? [], (PropertyBinding<T>)binding];
            }

            _byLength = byLength;
        }

        // Only the few objects a watch scans report: a mask per object read costs a little on every member.
        public void ReportDuplicates() => _reportsDuplicates = true;

        public IObjectConverter? ObjectConverterOf(string name) => Find(Encoding.UTF8.GetBytes(name))?.Converter as IObjectConverter;

        public override T? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw Unexpected(JsonTokenType.StartObject, typeof(T));
            }

            var target = (T)_create();
            _onDeserializing?.Invoke(target);
            ulong read = 0;

            // Members come in the order the server writes them, the same for every object of a type: the binding that
            // followed the previous one last time is checked first, with one comparison, before the lookup by name.
            // The hints are shared by threads without locks; a stale one only costs that lookup.
            PropertyBinding<T>? previous = null;
            var expected = _first;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                PropertyBinding<T>? binding;
                if (expected is not null && !reader.ValueIsEscaped && !reader.HasValueSequence && reader.ValueSpan.SequenceEqual(expected.Name))
                {
                    binding = expected;
                }
                else
                {
                    binding = Find(ref reader);
                    if (binding is not null)
                    {
                        if (previous is null)
                        {
                            _first = binding;
                        }
                        else
                        {
                            previous.Next = binding;
                        }
                    }
                }

                reader.Read();
                if (binding is null)
                {
                    reader.Skip();
                    continue;
                }

                previous = binding;
                expected = binding.Next;

                if (_reportsDuplicates)
                {
                    // A shared bit (past 64 members) may report a repeat that is none: its caller only decodes again.
                    t_duplicates += (read & binding.Bit) != 0 ? 1 : 0;
                    read |= binding.Bit;
                }

                binding.Read(ref reader, target, options);
            }

            if (reader.TokenType != JsonTokenType.EndObject)
            {
                throw Unexpected(JsonTokenType.EndObject, typeof(T));
            }

            _onDeserialized?.Invoke(target);
            return target;
        }

        private PropertyBinding<T>? Find(ref Utf8JsonReader reader)
        {
            if (!reader.ValueIsEscaped && !reader.HasValueSequence)
            {
                return Find(reader.ValueSpan);
            }

            var length = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
            byte[]? rented = null;
            Span<byte> buffer = length <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(length));
            try
            {
                return Find(buffer[..reader.CopyString(buffer)]);
            }
            finally
            {
                if (rented is not null)
                {
                    ArrayPool<byte>.Shared.Return(rented);
                }
            }
        }

        private PropertyBinding<T>? Find(ReadOnlySpan<byte> name)
        {
            var byLength = _byLength;
            if ((uint)name.Length < (uint)byLength.Length && byLength[name.Length] is { } bucket)
            {
                foreach (var binding in bucket)
                {
                    if (name.SequenceEqual(binding.Name))
                    {
                        return binding;
                    }
                }
            }

            return null;
        }
    }

    private sealed class ListConverter<TList, TElement>(JsonConverter<TElement> element) : DecodeOnlyConverter<TList>
    {
        private readonly ValueReader<TElement> _element = new(element);

        public override TList? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                throw Unexpected(JsonTokenType.StartArray, typeof(TList));
            }

            // Lists of an object are short (a pod's six hold one to three items); the first four wait in locals so
            // that such a list gets an array of its own length, not the 4 slots of List's first Add.
            TElement? first = default, second = default, third = default, fourth = default;
            var count = 0;
            List<TElement?>? list = null;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                var item = _element.Read(ref reader, options);
                switch (count++)
                {
                    case 0: first = item; break;
                    case 1: second = item; break;
                    case 2: third = item; break;
                    case 3: fourth = item; break;
                    case 4: list = [first, second, third, fourth, item]; break;
                    default: list!.Add(item); break;
                }
            }

            if (list is null)
            {
                list = new List<TElement?>(count);
                for (var i = 0; i < count; i++)
                {
                    list.Add(i switch { 0 => first, 1 => second, 2 => third, _ => fourth });
                }
            }

            return (TList)(object)list;
        }
    }

    // Keys through the options' string converter where it is not the serializer's (it may share them).
    private sealed class DictionaryConverter<TDictionary, TValue>(JsonConverter<TValue> value, JsonConverter<string>? customKeys)
        : DecodeOnlyConverter<TDictionary>
    {
        private readonly ValueReader<TValue> _value = new(value);

        public override TDictionary? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw Unexpected(JsonTokenType.StartObject, typeof(TDictionary));
            }

            var dictionary = new Dictionary<string, TValue?>();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var key = customKeys is null ? reader.GetString()! : customKeys.ReadAsPropertyName(ref reader, typeof(string), options);
                reader.Read();
                dictionary[key] = _value.Read(ref reader, options);
            }

            return (TDictionary)(object)dictionary;
        }
    }
}
