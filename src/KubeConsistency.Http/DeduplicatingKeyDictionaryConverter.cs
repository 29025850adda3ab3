using System.Text.Json;
using System.Text.Json.Serialization;

namespace KubeConsistency.Http;

/// <summary>
/// Decodes <c>IDictionary&lt;string, TValue&gt;</c> (labels, annotations, resource lists) into the
/// <see cref="Dictionary{TKey, TValue}"/> System.Text.Json would build, with keys shared through
/// <see cref="DeduplicatingStringConverter"/>'s table and values through the options' own converter.
/// </summary>
/// <remarks>
/// System.Text.Json's dictionary converter transcodes every key into a fresh string before it asks the key converter
/// (it keeps that string for the error path), so a key converter alone cannot share keys: every pod's
/// <c>app.kubernetes.io/name</c> and <c>cpu</c> was a throwaway string. Same entries (a repeated key: the last wins);
/// writes apply <see cref="JsonSerializerOptions.DictionaryKeyPolicy"/> as System.Text.Json does. Only for options that
/// allow duplicate properties, have no <see cref="JsonSerializerOptions.ReferenceHandler"/> (metadata keys) and no string
/// converter of their own (keys would go through it).
/// </remarks>
/// <typeparam name="TValue">The dictionary's value type.</typeparam>
internal sealed class DeduplicatingKeyDictionaryConverter<TValue> : JsonConverter<IDictionary<string, TValue>>
{
    // The value converter of the options this instance was last used with; options are immutable once used.
    private ValueConverterCache? _cache;

    public override IDictionary<string, TValue>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            // No message: the serializer fills in its own "could not be converted", with the path.
            throw new JsonException();
        }

        var valueConverter = ValueConverter(options);
        var result = new Dictionary<string, TValue>();

        // A custom converter is handed the whole value, so every Read succeeds until the matching EndObject.
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = DeduplicatingStringConverter.Get(ref reader);
            reader.Read();
            var value = reader.TokenType == JsonTokenType.Null && !valueConverter.HandleNull
                ? default!
                : valueConverter.Read(ref reader, typeof(TValue), options)!;
            result[key] = value;
        }

        return result;
    }

    public override void Write(Utf8JsonWriter writer, IDictionary<string, TValue> value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        var valueConverter = ValueConverter(options);
        var policy = options.DictionaryKeyPolicy;
        writer.WriteStartObject();
        foreach (var (key, item) in value)
        {
            writer.WritePropertyName(policy?.ConvertName(key) ?? key);
            if (item is null && !valueConverter.HandleNull)
            {
                writer.WriteNullValue();
            }
            else
            {
                valueConverter.Write(writer, item, options);
            }
        }

        writer.WriteEndObject();
    }

    private JsonConverter<TValue> ValueConverter(JsonSerializerOptions options)
    {
        var cache = Volatile.Read(ref _cache);
        if (cache is null || !ReferenceEquals(cache.Options, options))
        {
            cache = new ValueConverterCache(options, (JsonConverter<TValue>)options.GetConverter(typeof(TValue)));
            Volatile.Write(ref _cache, cache);
        }

        return cache.Converter;
    }

    private sealed record ValueConverterCache(JsonSerializerOptions Options, JsonConverter<TValue> Converter);
}
