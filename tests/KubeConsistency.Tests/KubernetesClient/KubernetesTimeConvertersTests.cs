using System.Globalization;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using k8s;
using k8s.Models;
using KubeConsistency.KubernetesClient;

namespace KubeConsistency.Tests.KubernetesClient;

/// <summary>
/// The fast timestamp converters decode exactly what KubernetesClient's do (issue 13: faster converters are fair game as
/// long as the objects a user gets are the same): the same value, offset and kind for every input, the same exception
/// type where KubernetesClient's throws, and the same output when writing.
/// </summary>
public sealed class KubernetesTimeConvertersTests
{
    private static readonly KubernetesJson.KubernetesDateTimeOffsetConverter OriginalOffset = new();
    private static readonly KubernetesJson.KubernetesDateTimeConverter OriginalDate = new();
    private static readonly KubernetesTimeConverters.DateTimeOffsetConverter FastOffset = new(OriginalOffset);
    private static readonly KubernetesTimeConverters.DateTimeConverter FastDate = new(OriginalDate);
    private static readonly JsonSerializerOptions Options = new();

    [Fact]
    public void Every_timestamp_in_the_api_servers_two_forms_decodes_as_kubernetes_client_decodes_it()
    {
        var gen =
            from ticks in Gen.Choose(0, int.MaxValue).Select(x => (long)x * 147_000_331L % DateTime.MaxValue.Ticks)
            from micro in Gen.Elements(true, false)
            select (Ticks: ticks, Micro: micro);
        Prop.ForAll(Arb.From(gen), c =>
        {
            var time = new DateTime(c.Ticks, DateTimeKind.Utc);
            var text = time.ToString(c.Micro ? "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'" : "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            AssertSame(text);
        }).QuietCheckThrowOnFailure();
    }

    [Fact]
    public void Mangled_timestamps_decode_or_fail_exactly_as_kubernetes_clients_converter()
    {
        var gen =
            from ticks in Gen.Choose(0, int.MaxValue).Select(x => (long)x * 147_000_331L % DateTime.MaxValue.Ticks)
            from position in Gen.Choose(0, 26)
            from replacement in Gen.Elements("0", "9", "6", "3", "Z", "z", "T", "-", ":", ".", " ", "+01:00", "", "00", "1234567890")
            select (Ticks: ticks, Position: position, Replacement: replacement);
        Prop.ForAll(Arb.From(gen), c =>
        {
            var text = new DateTime(c.Ticks, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
            var position = Math.Min(c.Position, text.Length - 1);
            AssertSame(string.Concat(text.AsSpan(0, position), c.Replacement, text.AsSpan(position + 1)));
        }).QuietCheckThrowOnFailure();
    }

    [Theory]
    [InlineData("2026-12-04T03:30:00Z")]
    [InlineData("2026-12-04T03:30:00.123456Z")]
    [InlineData("2026-12-04T03:30:00.123456789Z")]
    [InlineData("2026-12-04T03:30:00.1Z")]
    [InlineData("2026-12-04T03:30:00+01:00")]
    [InlineData("2024-02-29T23:59:59Z")]
    [InlineData("2023-02-29T23:59:59Z")]
    [InlineData("2026-12-04T24:00:00Z")]
    [InlineData("2026-12-04T23:59:60Z")]
    [InlineData("0001-01-01T00:00:00Z")]
    [InlineData("9999-12-31T23:59:59.999999Z")]
    [InlineData("2026-12-04t03:30:00z")]
    [InlineData("\\u0032026-12-04T03:30:00Z")]
    [InlineData("")]
    [InlineData("not a time")]
    public void Edge_cases_decode_or_fail_exactly_as_kubernetes_clients_converter(string text) => AssertSame(text);

    [Fact]
    public void Writing_is_kubernetes_clients()
    {
        var value = new DateTimeOffset(2026, 12, 4, 3, 30, 0, TimeSpan.Zero).AddTicks(1234560);
        Assert.Equal(Write(w => OriginalOffset.Write(w, value, Options)), Write(w => FastOffset.Write(w, value, Options)));
        Assert.Equal(Write(w => OriginalDate.Write(w, value.UtcDateTime, Options)), Write(w => FastDate.Write(w, value.UtcDateTime, Options)));
    }

    [Fact]
    public void A_pod_decodes_to_the_same_object_through_the_informer_options()
    {
        const string json = """{"metadata":{"name":"p","creationTimestamp":"2026-12-04T03:30:00Z"},"status":{"startTime":"2026-12-04T03:30:01Z","conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2026-12-04T03:30:02Z"}]}}""";
        var original = KubernetesJson.Deserialize<V1Pod>(json);
        var fast = JsonSerializer.Deserialize<V1Pod>(json, KubernetesDecoding.For(null))!;

        Assert.Equal(original.Metadata.CreationTimestamp, fast.Metadata.CreationTimestamp);
        Assert.Equal(DateTimeKind.Utc, fast.Metadata.CreationTimestamp!.Value.Kind);
        Assert.Equal(original.Status.Conditions[0].LastTransitionTime, fast.Status.Conditions[0].LastTransitionTime);
        Assert.Equal(KubernetesJson.Serialize(original), KubernetesJson.Serialize(fast));
        Assert.Contains(KubernetesDecoding.For(null).Converters, c => c is KubernetesTimeConverters.DateTimeConverter);
        Assert.DoesNotContain(KubernetesDecoding.For(null).Converters, c => c is KubernetesJson.KubernetesDateTimeConverter);
    }

    private static void AssertSame(string text)
    {
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(text)).AsSpan().ToArray();
        if (text.StartsWith("\\u", StringComparison.Ordinal))
        {
            // An escaped value exactly as the server could send it.
            json = Encoding.UTF8.GetBytes("\"" + text + "\"");
        }

        var expected = Read(json, (ref Utf8JsonReader r) => OriginalOffset.Read(ref r, typeof(DateTimeOffset), Options));
        var actual = Read(json, (ref Utf8JsonReader r) => FastOffset.Read(ref r, typeof(DateTimeOffset), Options));
        Assert.Equal(expected.Error, actual.Error);
        Assert.Equal(expected.Value, actual.Value);
        Assert.Equal(expected.Value.Offset, actual.Value.Offset);

        var expectedDate = Read(json, (ref Utf8JsonReader r) => OriginalDate.Read(ref r, typeof(DateTime), Options));
        var actualDate = Read(json, (ref Utf8JsonReader r) => FastDate.Read(ref r, typeof(DateTime), Options));
        Assert.Equal(expectedDate.Error, actualDate.Error);
        Assert.Equal(expectedDate.Value, actualDate.Value);
        Assert.Equal(expectedDate.Value.Kind, actualDate.Value.Kind);
    }

    private delegate T ReadFunc<T>(ref Utf8JsonReader reader);

    private static (T Value, Type? Error) Read<T>(byte[] json, ReadFunc<T> read)
    {
        var reader = new Utf8JsonReader(json);
        reader.Read();
        try
        {
            return (read(ref reader), null);
        }
        catch (Exception ex)
        {
            return (default!, ex.GetType());
        }
    }

    private static string Write(Action<Utf8JsonWriter> write)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
