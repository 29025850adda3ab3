using System.IO.Hashing;
using System.Runtime.CompilerServices;
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
/// any thread, like every element System.Text.Json decodes into a model. A shared element has exactly the bytes of the
/// input (compared in full after a 64-bit hash). A hit allocates nothing: it walks the input's tokens once to find its
/// end instead of building a document. Scalars, values longer than <see cref="MaxSharedLength"/> and values that a
/// token splits across buffer segments decode as without this converter.
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
        if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray) || reader.ValueSpan.Length != 1)
        {
            return JsonElement.ParseValue(ref reader);
        }

        var end = reader;
        if (!TryFindContiguousEnd(ref end, out var raw))
        {
            return JsonElement.ParseValue(ref reader);
        }

        var hash = XxHash3.HashToUInt64(raw);
        if (Table.Find(hash) is { } entry && JsonMarshal.GetRawUtf8Value((JsonElement)entry.Value).SequenceEqual(raw))
        {
            entry.Used = true;
            reader = end;
            return entry.Value;
        }

        object boxed = JsonElement.ParseValue(ref reader);
        Table.Add(hash, boxed);
        return boxed;
    }

    /// <summary>
    /// Walks <paramref name="reader"/> (a copy, on the value's first token) to the value's last token and returns the
    /// value's bytes, when they are one contiguous span of at most <see cref="MaxSharedLength"/> bytes.
    /// </summary>
    /// <remarks>
    /// A reader over a sequence has no span for the whole value, so every token's bytes are checked to lie where they
    /// would in one span starting at the first token; a segment boundary falls between two checked tokens (a token that
    /// spans one has a value sequence and ends the walk), so the check proves that each boundary is contiguous in memory.
    /// </remarks>
    internal static bool TryFindContiguousEnd(ref Utf8JsonReader reader, out ReadOnlySpan<byte> raw)
    {
        raw = default;
        ref var start = ref MemoryMarshal.GetReference(reader.ValueSpan);
        var startIndex = reader.TokenStartIndex;
        var depth = reader.CurrentDepth;
        while (reader.Read())
        {
            if (reader.HasValueSequence)
            {
                return false;
            }

            var offset = reader.TokenStartIndex - startIndex;
            if (offset >= MaxSharedLength)
            {
                return false;
            }

            // A string's or a property name's bytes start after its opening quote.
            var valueOffset = reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName ? offset + 1 : offset;
            var value = reader.ValueSpan;
            if (!value.IsEmpty && !Unsafe.AreSame(ref MemoryMarshal.GetReference(value), ref Unsafe.Add(ref start, (nint)valueOffset)))
            {
                return false;
            }

            if (reader.CurrentDepth == depth && reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray)
            {
                raw = MemoryMarshal.CreateReadOnlySpan(ref start, (int)offset + 1);
                return true;
            }
        }

        return false;
    }
}
