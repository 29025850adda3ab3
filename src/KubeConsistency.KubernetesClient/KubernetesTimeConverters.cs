using System.Text.Json;
using System.Text.Json.Serialization;

namespace KubeConsistency.KubernetesClient;

/// <summary>
/// KubernetesClient's timestamp converters with a fast path for the two forms kube-apiserver writes — RFC 3339 with
/// seconds (<c>2026-12-04T03:30:00Z</c>) and with microseconds (<c>…:00.123456Z</c>, <c>metav1.MicroTime</c>): read
/// straight from the UTF-8 bytes into the value <see cref="DateTimeOffset.TryParseExact(string?, string?[], IFormatProvider?, System.Globalization.DateTimeStyles, out DateTimeOffset)"/>
/// with KubernetesClient's formats gives (offset zero; <see cref="DateTime"/> values of kind UTC). Anything else — other
/// precisions, escapes, out-of-range fields — goes to KubernetesClient's own converter, so every value and every error is
/// the same. The culture-aware parse it replaces was a fifth of the client's CPU in a 100,000-pod sync.
/// </summary>
internal static class KubernetesTimeConverters
{
    /// <summary>Parses the fast forms; <see langword="false"/> for anything the original converter must see.</summary>
    public static bool TryParse(ReadOnlySpan<byte> s, out DateTimeOffset value)
    {
        value = default;
        if ((s.Length != 20 && s.Length != 27) || s[^1] != (byte)'Z' || s[4] != (byte)'-' || s[7] != (byte)'-' || s[10] != (byte)'T' || s[13] != (byte)':' || s[16] != (byte)':')
        {
            return false;
        }

        if (!Digits(s, 0, 4, out var year) || !Digits(s, 5, 2, out var month) || !Digits(s, 8, 2, out var day)
            || !Digits(s, 11, 2, out var hour) || !Digits(s, 14, 2, out var minute) || !Digits(s, 17, 2, out var second))
        {
            return false;
        }

        var micros = 0;
        if (s.Length == 27 && (s[19] != (byte)'.' || !Digits(s, 20, 6, out micros)))
        {
            return false;
        }

        // Range checks as DateTime's own; a leap second (:60) or a bad date is left to the original converter.
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        value = new DateTimeOffset(new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified).AddTicks(micros * 10L), TimeSpan.Zero);
        return true;
    }

    private static bool Digits(ReadOnlySpan<byte> s, int start, int count, out int value)
    {
        value = 0;
        for (var i = start; i < start + count; i++)
        {
            var d = s[i] - (byte)'0';
            if ((uint)d > 9)
            {
                return false;
            }

            value = (value * 10) + d;
        }

        return true;
    }

    private static bool TryRead(ref Utf8JsonReader reader, out DateTimeOffset value)
    {
        value = default;
        return reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && !reader.HasValueSequence && TryParse(reader.ValueSpan, out value);
    }

    /// <summary>Replaces <c>KubernetesJson.KubernetesDateTimeOffsetConverter</c>; writes and unusual values go to it.</summary>
    internal sealed class DateTimeOffsetConverter(JsonConverter<DateTimeOffset> original) : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            TryRead(ref reader, out var value) ? value : original.Read(ref reader, typeToConvert, options);

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) => original.Write(writer, value, options);
    }

    /// <summary>Replaces <c>KubernetesJson.KubernetesDateTimeConverter</c> (UTC <see cref="DateTime"/>s); writes and unusual values go to it.</summary>
    internal sealed class DateTimeConverter(JsonConverter<DateTime> original) : JsonConverter<DateTime>
    {
        public override DateTime Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            TryRead(ref reader, out var value) ? value.UtcDateTime : original.Read(ref reader, typeToConvert, options);

        public override void Write(Utf8JsonWriter writer, DateTime value, JsonSerializerOptions options) => original.Write(writer, value, options);
    }
}
