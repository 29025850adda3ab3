using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using KubeConsistency.Client;
using KubeConsistency.Http;

namespace KubeConsistency.Tests.Client;

public sealed class DeduplicatingStringConverterTests
{
    private static readonly JsonSerializerOptions Plain = new();
    private static readonly JsonSerializerOptions Dedup = new() { Converters = { new DeduplicatingStringConverter() } };

    public sealed class Item
    {
        public string? Name { get; set; }

        public string? Namespace { get; set; }

        public List<string?>? Values { get; set; }

        public Dictionary<string, string>? Labels { get; set; }
    }

    [Fact]
    public void RepeatedValues_DecodeToTheSameInstance()
    {
        // Unique-looking values so no other test's churn in the shared table can evict them between the two reads.
        var ns = "ns-" + Guid.NewGuid().ToString("N")[..8];
        var json = $$"""{"Name":"a","Namespace":"{{ns}}","Values":["{{ns}}","x"]}""";
        var first = JsonSerializer.Deserialize<Item>(json, Dedup)!;
        var second = JsonSerializer.Deserialize<Item>(json, Dedup)!;
        Assert.Equal(ns, first.Namespace);
        Assert.Same(first.Namespace, second.Namespace);
        Assert.Same(first.Namespace, first.Values![0]);
    }

    [Fact]
    public void DictionaryKeysAndValues_AreShared()
    {
        var key = "app.kubernetes.io/name-" + Guid.NewGuid().ToString("N")[..8];
        var value = "web-" + Guid.NewGuid().ToString("N")[..8];
        var json = $$$"""{"Labels":{"{{{key}}}":"{{{value}}}"}}""";
        var a = JsonSerializer.Deserialize<Item>(json, Dedup)!.Labels!.Single();
        var b = JsonSerializer.Deserialize<Item>(json, Dedup)!.Labels!.Single();
        Assert.Equal(key, a.Key);
        Assert.Equal(value, a.Value);
        Assert.Same(a.Key, b.Key);
        Assert.Same(a.Value, b.Value);
    }

    [Theory]
    [InlineData("""{"Name":"a\u00e9b"}""", "aéb")] // escaped
    [InlineData("""{"Name":"a\"b\\c"}""", "a\"b\\c")] // escaped quote and backslash
    [InlineData("""{"Name":"héllo"}""", "héllo")] // raw non-ASCII UTF-8
    [InlineData("""{"Name":"日本語"}""", "日本語")]
    [InlineData("""{"Name":""}""", "")]
    [InlineData("""{"Name":null}""", null)]
    public void UnpooledAndEdgeValues_DecodeCorrectly(string json, string? expected)
    {
        Assert.Equal(expected, JsonSerializer.Deserialize<Item>(json, Dedup)!.Name);
        Assert.Equal(expected, JsonSerializer.Deserialize<Item>(json, Dedup)!.Name);
    }

    [Fact]
    public void LongValues_DecodeCorrectly_AndAreNotShared()
    {
        var longValue = new string('x', DeduplicatingStringConverter.MaxPooledLength + 1);
        var json = $$"""{"Name":"{{longValue}}"}""";
        var a = JsonSerializer.Deserialize<Item>(json, Dedup)!.Name;
        var b = JsonSerializer.Deserialize<Item>(json, Dedup)!.Name;
        Assert.Equal(longValue, a);
        Assert.Equal(longValue, b);
        Assert.NotSame(a, b);
    }

    [Fact]
    public void EscapedAndNonAsciiKeys_DecodeCorrectly()
    {
        var json = """{"Labels":{"k\u00e9y":"v","ключ":"значение","plain":"ok"}}""";
        var labels = JsonSerializer.Deserialize<Item>(json, Dedup)!.Labels!;
        Assert.Equal("v", labels["kéy"]);
        Assert.Equal("значение", labels["ключ"]);
        Assert.Equal("ok", labels["plain"]);
    }

    [Fact]
    public void NonStringToken_FailsLikeTheDefaultConverter()
    {
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<Item>("""{"Name":5}""", Plain));
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<Item>("""{"Name":5}""", Dedup));
    }

    [Fact]
    public void RoundTrip_IsUnchanged()
    {
        var item = new Item { Name = "n", Namespace = "kube-system", Values = ["a", null, "é\"\n"], Labels = new() { ["k"] = "v", ["ключ"] = "\u0001" } };
        var withConverter = JsonSerializer.Serialize(item, Dedup);
        Assert.Equal(JsonSerializer.Serialize(item, Plain), withConverter);
        var back = JsonSerializer.Deserialize<Item>(withConverter, Dedup)!;
        Assert.Equal(withConverter, JsonSerializer.Serialize(back, Plain));
    }

    [Fact]
    public void ValuesSplitAcrossSegments_DecodeCorrectly()
    {
        // A multi-segment buffer makes the reader expose a value sequence instead of a span.
        var bytes = Encoding.UTF8.GetBytes("""{"Name":"kube-system"}""");
        var reader = new Utf8JsonReader(SegmentedBuffer.Split(bytes, 10), default);
        Assert.Equal("kube-system", JsonSerializer.Deserialize<Item>(ref reader, Dedup)!.Name);
    }

    [Fact]
    public void Property_DecodingWithTheConverter_EqualsDecodingWithout()
    {
        // Small alphabets make collisions with earlier values (hits) as likely as fresh values (misses).
        var chars = Gen.Elements('a', 'b', '-', '.', '/', 'é', '"', '\\', '\n', 'ж', '0');
        var shortString = Gen.ArrayOf(chars).Select(c => new string(c));
        var anyString = Gen.OneOf(shortString, ArbMap.Default.GeneratorFor<string>().Where(s => s is not null), Gen.Constant(new string('q', 70)));
        var items = Gen.ListOf(anyString).Select(l => l.ToList());
        Prop.ForAll(Arb.From(items), values =>
        {
            var item = new Item { Name = values.FirstOrDefault(), Values = [.. values], Labels = values.Distinct().ToDictionary(v => v, v => v) };
            var json = JsonSerializer.Serialize(item, Plain);
            var expected = JsonSerializer.Serialize(JsonSerializer.Deserialize<Item>(json, Plain), Plain);
            var actual = JsonSerializer.Serialize(JsonSerializer.Deserialize<Item>(json, Dedup), Plain);
            return expected == actual;
        }).QuietCheckThrowOnFailure();
    }

    [Fact]
    public void Property_OnePassHashAndAsciiCheck_EqualsAByteAtATimeModel()
    {
        // Mostly ASCII with the odd high byte, so a non-ASCII byte lands in every position (head words and the
        // overlapping tail reads alike), at every length the table pools.
        var bytes = Gen.Frequency((9, Gen.Choose(0, 127)), (1, Gen.Choose(128, 255))).Select(b => (byte)b);
        var values = Gen.Choose(0, DeduplicatingStringConverter.MaxPooledLength).SelectMany(n => Gen.ArrayOf(bytes, n));
        Prop.ForAll(Arb.From(values), value =>
        {
            var ascii = DeduplicatingStringConverter.TryHashAscii(value, out var hash);
            return ascii == Ascii.IsValid(value) && hash == ModelHash(value);
        }).QuietCheckThrowOnFailure();

        static uint ModelHash(byte[] value)
        {
            static ulong Mix(ulong h)
            {
                h *= 0xBF58476D1CE4E5B9UL;
                return h ^ (h >> 31);
            }

            var h = (ulong)value.Length * 0x9E3779B97F4A7C15UL;
            for (var word = 0; word * 8 < value.Length; word++)
            {
                ulong w = 0;
                for (var b = 0; b < 8 && (word * 8) + b < value.Length; b++)
                {
                    w |= (ulong)value[(word * 8) + b] << (8 * b);
                }

                h = Mix(h ^ w);
            }

            return (uint)(h ^ (h >> 32));
        }
    }

    [Fact]
    public void ConcurrentDecoding_FromManyThreads_YieldsCorrectValues()
    {
        // More distinct values than the table has slots: threads constantly race to replace the same slots.
        var values = Enumerable.Range(0, 40_000).Select(i => "v" + i + (i % 5 == 0 ? "-é" : "")).ToArray();
        var documents = values.Select(v => (Value: v, Json: Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Item { Name = v, Labels = new() { [v] = v } }, Plain)))).ToArray();
        var failures = 0;
        Parallel.For(0, Environment.ProcessorCount * 4, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(4, Environment.ProcessorCount * 2) }, worker =>
        {
            for (var round = 0; round < 2; round++)
            {
                for (var i = 0; i < documents.Length; i++)
                {
                    var (value, json) = documents[(i + (worker * 31)) % documents.Length];
                    var item = JsonSerializer.Deserialize<Item>(json, Dedup)!;
                    var label = item.Labels!.Single();
                    if (item.Name != value || label.Key != value || label.Value != value)
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
            }
        });
        Assert.Equal(0, failures);
    }
}
