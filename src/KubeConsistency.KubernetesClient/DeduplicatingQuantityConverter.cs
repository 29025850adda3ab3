using System.IO.Hashing;
using System.Text.Json;
using System.Text.Json.Serialization;
using k8s.Models;
using KubeConsistency.Http;

namespace KubeConsistency.KubernetesClient;

/// <summary>
/// Decodes a <see cref="ResourceQuantity"/> as KubernetesClient's converter does, but returns one shared instance for
/// repeated text (<c>100m</c>, <c>256Mi</c>): every pod of a workload carries the same requests and limits, and each
/// instance costs a <c>Fraction</c> parse and about 100 bytes. Sharing is safe because a <see cref="ResourceQuantity"/>
/// cannot be changed after construction (its state is private and read-only to callers).
/// </summary>
internal sealed class DeduplicatingQuantityConverter(JsonConverter<ResourceQuantity> inner) : JsonConverter<ResourceQuantity>
{
    /// <summary>The longest quantity text, in UTF-8 bytes, that is shared.</summary>
    public const int MaxSharedLength = 64;

    private static readonly SharedValueTable<SharedQuantity> Table = new(1 << 12);

    public override ResourceQuantity? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String || reader.HasValueSequence || reader.ValueIsEscaped || reader.ValueSpan.Length > MaxSharedLength)
        {
            return inner.Read(ref reader, typeToConvert, options);
        }

        var text = reader.ValueSpan;
        var hash = XxHash3.HashToUInt64(text);
        if (Table.Find(hash) is { } entry && text.SequenceEqual(entry.Value.Text))
        {
            entry.Used = true;
            return entry.Value.Quantity;
        }

        // A copy: the reader's span is the serializer's buffer.
        var copy = text.ToArray();
        var quantity = inner.Read(ref reader, typeToConvert, options);
        if (quantity is not null)
        {
            Table.Add(hash, new SharedQuantity(copy, quantity));
        }

        return quantity;
    }

    public override void Write(Utf8JsonWriter writer, ResourceQuantity value, JsonSerializerOptions options) => inner.Write(writer, value, options);

    private sealed record SharedQuantity(byte[] Text, ResourceQuantity Quantity);
}
