using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace KubeConsistency.KubernetesClient;

/// <summary>
/// Decodes <c>managedFields[].fieldsV1</c> (typed <see cref="object"/> by KubernetesClient) to the boxed
/// <see cref="JsonElement"/> System.Text.Json gives an <see cref="object"/>, but returns one shared box for a repeated
/// field set. Field sets record which fields a manager owns, not their values, so the pods of one workload carry the
/// same spec field set; each unshared copy is a <see cref="JsonDocument"/> of about three times its JSON size. Sharing
/// is safe because an element of a document that is not pooled is immutable and never disposed.
/// </summary>
/// <remarks>
/// Equality is decided on the input's tokens (type and raw bytes) and its length, against the raw bytes of the shared
/// element, so a shared value has the exact text the input had. The hit path allocates nothing: it walks the input twice
/// (hash, then compare) instead of building a document.
/// </remarks>
internal sealed class DeduplicatingFieldsConverter : JsonConverter<object>
{
    /// <summary>The largest field set, in UTF-8 bytes, that is shared; larger ones decode as usual.</summary>
    public const int MaxSharedLength = 16 * 1024;

    private static readonly SharedValueTable<object> Table = new(1 << 12);

    public override object? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return JsonElement.ParseValue(ref reader);
        }

        var end = reader;
        if (Hash(ref end) is { } hash && end.TokenStartIndex - reader.TokenStartIndex + 1 is var length && length <= MaxSharedLength)
        {
            if (Table.Find(hash) is { } entry && SameTokens(reader, JsonMarshal.GetRawUtf8Value((JsonElement)entry.Value), length))
            {
                entry.Used = true;
                reader = end;
                return entry.Value;
            }

            object boxed = JsonElement.ParseValue(ref reader);
            Table.Add(hash, boxed);
            return boxed;
        }

        return JsonElement.ParseValue(ref reader);
    }

    public override void Write(Utf8JsonWriter writer, object value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        if (value is JsonElement element)
        {
            element.WriteTo(writer);
        }
        else
        {
            // What the serializer's own object converter does: the runtime type decides.
            JsonSerializer.Serialize(writer, value, value.GetType(), options);
        }
    }

    // Walks `reader` (a copy) from the value's StartObject to its EndObject, hashing each token's type and raw bytes;
    // null when a token spans buffer segments (such values are not shared).
    private static ulong? Hash(ref Utf8JsonReader reader)
    {
        var depth = reader.CurrentDepth;
        var hash = 0UL;
        do
        {
            if (reader.HasValueSequence)
            {
                reader.Skip();
                return null;
            }

            hash = XxHash3.HashToUInt64(reader.ValueSpan, (long)(hash ^ (ulong)reader.TokenType));
        }
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth));

        return hash;
    }

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

            if (input.TokenType == JsonTokenType.EndObject && input.CurrentDepth == depth)
            {
                return true;
            }

            input.Read();
            other.Read();
        }
    }
}
