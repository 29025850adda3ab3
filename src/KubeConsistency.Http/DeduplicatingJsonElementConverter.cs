using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace KubeConsistency.Http;

/// <summary>
/// A <see cref="JsonElement"/> converter that returns one shared element for repeated objects and arrays, such as the
/// <c>managedFields[].fieldsV1</c> field sets an informer cache keeps per object: they record which fields a manager
/// owns, not their values, so the pods of one workload carry the same spec field set, and each unshared copy is a
/// <see cref="JsonDocument"/> of about three times its JSON size.
/// </summary>
/// <remarks>
/// <para>
/// Shared elements come from documents that are not pooled, so they are immutable, never disposed and safe to read from
/// any thread, like every element System.Text.Json decodes into a model. A shared element has exactly the text of the
/// input: equality is decided on the input's tokens (type and raw bytes) and its length. A hit allocates nothing; it walks
/// the input twice (hash, then compare) instead of building a document. Scalars, values longer than
/// <see cref="MaxSharedLength"/> and values split across buffer segments decode as without this converter.
/// </para>
/// <para>
/// All instances share one fixed-size, lossy table of 4,096 entries with second-chance replacement (a recurring value
/// survives a stream of unique ones). Add an instance to <see cref="JsonSerializerOptions.Converters"/> or name the type
/// in <c>[JsonSourceGenerationOptions(Converters = …)]</c>. Writing is unchanged.
/// </para>
/// </remarks>
public sealed class DeduplicatingJsonElementConverter : JsonConverter<JsonElement>
{
    /// <summary>The longest value, in UTF-8 bytes, that is shared; longer values decode as usual.</summary>
    public const int MaxSharedLength = 16 * 1024;

    private static readonly SharedValueTable<object> Table = new(1 << 12);

    /// <summary>Creates a converter; every instance shares the same process-wide table.</summary>
    public DeduplicatingJsonElementConverter()
    {
    }

    /// <summary>Reads a value, returning a shared element when an equal object or array was decoded before.</summary>
    /// <param name="reader">The reader, positioned on the value.</param>
    /// <param name="typeToConvert">Always <see cref="JsonElement"/>.</param>
    /// <param name="options">The serializer options in use.</param>
    /// <returns>The element.</returns>
    public override JsonElement Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => (JsonElement)ReadShared(ref reader);

    /// <summary>Writes the element unchanged.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="value">The element.</param>
    /// <param name="options">The serializer options in use.</param>
    public override void Write(Utf8JsonWriter writer, JsonElement value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        value.WriteTo(writer);
    }

    /// <summary>
    /// The element for the value at <paramref name="reader"/>, boxed (shared values share their box too, which is what an
    /// <see cref="object"/>-typed property holds); the reader ends on the value's last token.
    /// </summary>
    internal static object ReadShared(ref Utf8JsonReader reader)
    {
        if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            return JsonElement.ParseValue(ref reader);
        }

        var end = reader;
        var hash = Hash(ref end);
        var length = end.TokenStartIndex - reader.TokenStartIndex + 1;
        if (hash is null || length > MaxSharedLength)
        {
            return JsonElement.ParseValue(ref reader);
        }

        if (Table.Find(hash.Value) is { } entry && SameTokens(reader, JsonMarshal.GetRawUtf8Value((JsonElement)entry.Value), length))
        {
            entry.Used = true;
            reader = end;
            return entry.Value;
        }

        object boxed = JsonElement.ParseValue(ref reader);
        Table.Add(hash.Value, boxed);
        return boxed;
    }

    /// <summary>
    /// Whether the value at <paramref name="input"/> (a copy) has the tokens of <paramref name="shared"/>, whose length
    /// must be <paramref name="length"/>, the input's.
    /// </summary>
    internal static bool SameTokens(Utf8JsonReader input, ReadOnlySpan<byte> shared, long length)
    {
        if (shared.Length != length)
        {
            return false;
        }

        var depth = input.CurrentDepth;
        var other = new Utf8JsonReader(shared);
        other.Read();
        while (true)
        {
            if (input.TokenType != other.TokenType || !input.ValueSpan.SequenceEqual(other.ValueSpan))
            {
                return false;
            }

            if (input.CurrentDepth == depth && input.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray)
            {
                return true;
            }

            input.Read();
            other.Read();
        }
    }

    // Walks `reader` (a copy) from the value's first token to its last, hashing each token's type and raw bytes; null
    // when a token spans buffer segments (such values are not shared).
    private static ulong? Hash(ref Utf8JsonReader reader)
    {
        var depth = reader.CurrentDepth;
        var hash = 0UL;
        do
        {
            if (reader.HasValueSequence)
            {
                return null;
            }

            hash = XxHash3.HashToUInt64(reader.ValueSpan, (long)(hash ^ (ulong)reader.TokenType));
        }
        while (reader.Read() && !(reader.CurrentDepth == depth && reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray));

        return hash;
    }
}
