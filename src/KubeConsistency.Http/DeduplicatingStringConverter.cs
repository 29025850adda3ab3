using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace KubeConsistency.Http;

/// <summary>
/// A <see cref="string"/> converter that returns one shared instance for repeated short ASCII values: namespaces,
/// label and annotation keys and values, images, node and owner names, and enum-like fields such as <c>TCP</c> or
/// <c>Running</c>. In an informer cache most strings are such repeats, so sharing them cuts both the memory the
/// cache retains and the allocation (and GC work) of decoding it. Dictionary keys are shared too.
/// </summary>
/// <remarks>
/// <para>
/// All instances share one fixed-size, lossy, lock-free table: a slot holds the last string that hashed to it,
/// so hot values stay while unique ones (UIDs, IPs, resource versions) churn through their slots. A hit allocates
/// nothing; a miss allocates only the string itself. Only unescaped ASCII values of at most
/// <see cref="MaxPooledLength"/> bytes are pooled; everything else decodes exactly as without this converter.
/// Decoded values are always equal to what the default converter returns; only their identity is shared, which
/// is safe because strings are immutable (do not lock on them or compare them by reference).
/// </para>
/// <para>
/// Use it for a whole source-generated context with
/// <c>[JsonSourceGenerationOptions(Converters = [typeof(DeduplicatingStringConverter)])]</c>, or add an instance to
/// <see cref="JsonSerializerOptions.Converters"/>. Writing is unchanged.
/// </para>
/// </remarks>
public sealed class DeduplicatingStringConverter : JsonConverter<string>
{
    /// <summary>The longest value, in UTF-8 bytes, that is pooled; longer values are decoded as usual.</summary>
    public const int MaxPooledLength = 64;

    // 32 Ki slots of 16 bytes (512 KiB): comfortably more than the distinct hot values of a large cluster, small
    // enough to stay cache-friendly. A power of two so the slot is a mask of the hash.
    private const int SlotCount = 1 << 15;

    private static readonly Entry[] Table = new Entry[SlotCount];

    /// <summary>Creates a converter; every instance shares the same process-wide table.</summary>
    public DeduplicatingStringConverter()
    {
    }

    /// <summary>Null tokens are handled by the serializer (they decode to <see langword="null"/>), as for the default converter.</summary>
    public override bool HandleNull => false;

    /// <summary>Reads a string value, returning a shared instance when the value is short unescaped ASCII.</summary>
    /// <param name="reader">The reader, positioned on the value.</param>
    /// <param name="typeToConvert">Always <see cref="string"/>.</param>
    /// <param name="options">The serializer options in use.</param>
    /// <returns>The decoded string.</returns>
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>

        // Other tokens go to GetString, so they fail (or decode null) exactly as with the default converter.
        reader.TokenType == JsonTokenType.String ? Get(ref reader) : reader.GetString();

    /// <summary>Writes the value unchanged.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="value">The value.</param>
    /// <param name="options">The serializer options in use.</param>
    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value);
    }

    /// <summary>Reads a dictionary key, returning a shared instance when the key is short unescaped ASCII.</summary>
    /// <param name="reader">The reader, positioned on the property name.</param>
    /// <param name="typeToConvert">Always <see cref="string"/>.</param>
    /// <param name="options">The serializer options in use.</param>
    /// <returns>The decoded key.</returns>
    public override string ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => Get(ref reader);

    /// <summary>Writes a dictionary key unchanged.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="value">The key.</param>
    /// <param name="options">The serializer options in use.</param>
    public override void WriteAsPropertyName(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WritePropertyName(value);
    }

    /// <summary>The string or property name at the reader, shared when it is short unescaped ASCII (also used for dictionary keys).</summary>
    internal static string Get(ref Utf8JsonReader reader)
    {
        if (reader.HasValueSequence || reader.ValueIsEscaped)
        {
            return reader.GetString()!;
        }

        var bytes = reader.ValueSpan;
        if (bytes.Length > MaxPooledLength || !TryHashAscii(bytes, out var hash))
        {
            return reader.GetString()!;
        }

        ref var entry = ref Table[(int)(hash & (SlotCount - 1))];

        // The stored hash is checked first so that a unique value (UID, IP) does not dereference the string in its
        // slot: that string is usually cold, and the cache miss would cost more than allocating. The hash and the
        // reference may be torn by a racing writer; that is harmless because the content check decides, so a race
        // can only cause a miss, never a wrong value (references themselves are atomic).
        if (Volatile.Read(ref entry.Hash) == hash)
        {
            var cached = Volatile.Read(ref entry.Value);
            if (cached is not null && cached.Length == bytes.Length && Ascii.Equals(bytes, cached))
            {
                return cached;
            }
        }

        var created = Encoding.ASCII.GetString(bytes);

        // Release semantics: another thread never sees the reference before the characters.
        Volatile.Write(ref entry.Value, created);
        Volatile.Write(ref entry.Hash, hash);
        return created;
    }

    /// <summary>Hashes <paramref name="bytes"/> (at most 64) and tells whether they are all ASCII, in one pass.</summary>
    internal static bool TryHashAscii(ReadOnlySpan<byte> bytes, out uint hash)
    {
        // Eight bytes per step: a byte-at-a-time hash was a measurable part of the decode, and the ASCII check rides
        // on the same loads. Multiply-xorshift mixing; the length is mixed in so prefixes differ.
        var length = bytes.Length;
        var h = (ulong)length * 0x9E3779B97F4A7C15UL;
        ulong seen = 0;
        var i = 0;
        for (; i + 8 <= length; i += 8)
        {
            var word = BinaryPrimitives.ReadUInt64LittleEndian(bytes[i..]);
            seen |= word;
            h = Mix(h ^ word);
        }

        if (i < length)
        {
            // The last 1–7 bytes, zero-padded, read with as few loads as possible (overlapping where they can).
            ulong tail;
            if (length >= 8)
            {
                tail = BinaryPrimitives.ReadUInt64LittleEndian(bytes[(length - 8)..]) >> ((8 - (length - i)) * 8);
            }
            else if (length >= 4)
            {
                tail = BinaryPrimitives.ReadUInt32LittleEndian(bytes)
                    | ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(bytes[(length - 4)..]) << ((length - 4) * 8));
            }
            else
            {
                tail = bytes[0] | (length > 1 ? (ulong)bytes[1] << 8 : 0) | (length > 2 ? (ulong)bytes[2] << 16 : 0);
            }

            seen |= tail;
            h = Mix(h ^ tail);
        }

        hash = (uint)(h ^ (h >> 32));
        return (seen & 0x8080808080808080UL) == 0;
    }

    private static ulong Mix(ulong h)
    {
        h *= 0xBF58476D1CE4E5B9UL;
        return h ^ (h >> 31);
    }

    /// <summary>A table slot: the hash of the value, so a mismatch is found without touching the string.</summary>
    private struct Entry
    {
        public uint Hash;
        public string? Value;
    }
}
