using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using k8s;
using k8s.Models;
using KubeConsistency.Http;
using KubeConsistency.KubernetesClient;

namespace KubeConsistency.Tests.KubernetesClient;

/// <summary>
/// <see cref="KubernetesResourceOptions.DeduplicateValues"/> shares quantities and managed field sets (issue 13: faster
/// decoding is fair game as long as the objects a user gets are the same): every decode equals KubernetesClient's, and
/// equal input gives one shared instance.
/// </summary>
public sealed class SharedValueDecodingTests
{
    private static readonly JsonSerializerOptions Shared = KubernetesDecoding.For(new KubernetesResourceOptions { DeduplicateValues = true });
    private static readonly JsonSerializerOptions Plain = KubernetesClientConnections.JsonOptions;
    private static readonly JsonSerializerOptions PlainElements = new() { Converters = { } };
    private static readonly System.Text.RegularExpressions.Regex JsonFailure = new(@"^JsonException: .* Path: (\S+) \| (LineNumber: .*)$");
    private static readonly JsonSerializerOptions SharedElements = new() { Converters = { new DeduplicatingJsonElementConverter() } };

    [Fact]
    public void Equal_field_sets_and_quantities_decode_to_one_instance()
    {
        // Unique content, so that no other test's churn in the process-wide tables can evict it between the two reads.
        var unique = Guid.NewGuid().ToString("N");
        var json = Pod(FieldSet(unique), cpu: Random.Shared.Next(1, int.MaxValue) + "m");
        // The tables are process-wide and other tests decode in parallel, so a slot may be taken between two reads: a
        // later pair of reads must then share.
        var reads = Enumerable.Range(0, 5).Select(_ => JsonSerializer.Deserialize<V1Pod>(json, Shared)!).ToArray();
        Assert.Contains(reads.Zip(reads.Skip(1)), pair => ReferenceEquals(pair.First.Metadata.ManagedFields[0].FieldsV1, pair.Second.Metadata.ManagedFields[0].FieldsV1));
        Assert.Contains(reads.Zip(reads.Skip(1)), pair => ReferenceEquals(pair.First.Spec.Containers[0].Resources.Limits["cpu"], pair.Second.Spec.Containers[0].Resources.Limits["cpu"]));
        var a = reads[0];
        Assert.IsType<JsonElement>(a.Metadata.ManagedFields[0].FieldsV1);

        // A different field set is its own value.
        var other = JsonSerializer.Deserialize<V1Pod>(Pod(FieldSet(unique + "x"), cpu: "2"), Shared)!;
        Assert.NotSame(a.Metadata.ManagedFields[0].FieldsV1, other.Metadata.ManagedFields[0].FieldsV1);
        Assert.Equal(FieldSet(unique + "x"), ((JsonElement)other.Metadata.ManagedFields[0].FieldsV1).GetRawText());

        // Sharing is the default; with it off nothing is shared.
        Assert.Same(Shared, KubernetesDecoding.For(null));
        Assert.Same(Shared, KubernetesDecoding.For(new KubernetesResourceOptions()));
        Assert.NotSame(Shared, KubernetesDecoding.For(new KubernetesResourceOptions { DeduplicateValues = false }));
        var c = JsonSerializer.Deserialize<V1Pod>(json, Plain)!;
        var d = JsonSerializer.Deserialize<V1Pod>(json, Plain)!;
        Assert.NotSame(c.Metadata.ManagedFields[0].FieldsV1, d.Metadata.ManagedFields[0].FieldsV1);
        Assert.NotSame(c.Spec.Containers[0].Resources.Limits["cpu"], d.Spec.Containers[0].Resources.Limits["cpu"]);
    }

    [Fact]
    public void Property_decoding_with_shared_values_equals_kubernetes_clients_decoding()
    {
        // Small pools make repeats (hits) as likely as fresh values (misses); quantities include KubernetesClient's
        // number form, escapes and invalid text.
        var quantity = Gen.Elements("\"100m\"", "\"256Mi\"", "\"1.5Gi\"", "2", "0.5", "\"\\u0031Ki\"", "\"1e3\"", "\"+1\"", "\"500M\"");
        var fields = Gen.Sized(size => FieldSetGen(Math.Min(size, 12), depth: 0));
        var pod = from fieldSet in Gen.OneOf(fields, Gen.Elements(FieldSet("a"), FieldSet("b")))
                  from cpu in quantity
                  from memory in quantity
                  select """{"metadata":{"name":"p","managedFields":[{"manager":"m","operation":"Update","fieldsType":"FieldsV1","fieldsV1":""" + fieldSet
                      + """}]},"spec":{"containers":[{"name":"c","resources":{"limits":{"cpu":""" + cpu + ""","memory":""" + memory
                      + """},"requests":{"cpu":""" + cpu + """}}}]}}""";
        Prop.ForAll(Arb.From(Gen.ListOf(pod).Select(l => l.ToArray())), pods =>
        {
            foreach (var json in pods)
            {
                if (Decode(json, Plain) != Decode(json, Shared))
                {
                    return false;
                }
            }

            return true;
        }).QuietCheckThrowOnFailure();
    }

    [Fact]
    public void Property_labels_annotations_and_resource_lists_decode_and_encode_as_kubernetes_clients()
    {
        // Keys and values from small pools (repeats hit the shared table), with escapes, non-ASCII, keys over the
        // shared length, duplicates, nulls and wrong token types (which must fail the same way).
        var key = Gen.Elements("\"app\"", "\"app.kubernetes.io/name\"", "\"a\\u002fb\"", "\"\u00e9t\u00e9\"", "\"" + new string('k', 70) + "\"", "\"cpu\"", "\"\"");
        var text = Gen.Elements("\"v\"", "\"\"", "null", "\"x\\\"y\"", "\"" + new string('v', 80) + "\"", "1", "true", "{}");
        var quantity = Gen.Elements("\"100m\"", "\"1Gi\"", "2", "null", "\"bad\"", "[]");
        Gen<string> Map(Gen<string> values) =>
            Gen.OneOf(
                Gen.Elements("null", "{}", "[]", "\"labels\""),
                from pairs in Gen.ListOf(from k in key from v in values select k + ":" + v)
                select "{" + string.Join(",", pairs) + "}");
        var pod = from labels in Map(text)
                  from annotations in Map(text)
                  from limits in Map(quantity)
                  select """{"metadata":{"name":"p","labels":""" + labels + ""","annotations":""" + annotations
                      + """},"spec":{"containers":[{"name":"c","resources":{"limits":""" + limits + """}}]}}""";
        Prop.ForAll(Arb.From(pod), json =>
        {
            var expected = Decode(json, Plain);
            var actual = Decode(json, Shared);
            if (!expected.StartsWith('{'))
            {
                return SameFailure(expected, actual).Label($"{json}\n plain: {expected}\n shared: {actual}");
            }

            var written = JsonSerializer.Serialize(JsonSerializer.Deserialize<V1Pod>(json, Plain), Shared);
            return (expected == actual && written == expected).Label($"{json}\n plain: {expected}\n shared: {actual}\n written back: {written}");
        }).QuietCheckThrowOnFailure();
    }

    [Fact]
    public void Label_keys_of_separately_decoded_objects_are_one_instance()
    {
        var tag = "t" + Guid.NewGuid().ToString("N")[..12];
        var json = "{\"metadata\":{\"name\":\"p\",\"labels\":{\"" + tag + "\":\"v\"}}}";
        var keys = Enumerable.Range(0, 5).Select(_ => JsonSerializer.Deserialize<V1Pod>(json, Shared)!.Metadata.Labels.Keys.Single()).ToArray();
        Assert.All(keys, k => Assert.Equal(tag, k));
        Assert.Contains(keys.Zip(keys.Skip(1)), pair => ReferenceEquals(pair.First, pair.Second));
        Assert.IsType<Dictionary<string, string>>(JsonSerializer.Deserialize<V1Pod>(json, Shared)!.Metadata.Labels);
    }

    [Fact]
    public void The_public_element_converter_shares_repeated_objects_and_arrays_and_leaves_scalars_alone()
    {
        var tag = Guid.NewGuid().ToString("N");
        var json = "{\"a\":{\"f:" + tag + "\":{}},\"b\":[1,\"" + tag + "\"],\"c\":\"" + tag + "\",\"d\":{\"f:" + tag + "\":{}}}";
        var first = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json, SharedElements)!;
        var second = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json, SharedElements)!;
        var plain = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json, PlainElements)!;
        foreach (var key in (string[])["a", "b", "c", "d"])
        {
            Assert.Equal(plain[key].GetRawText(), first[key].GetRawText());
            Assert.Equal(plain[key].GetRawText(), second[key].GetRawText());
        }

        // An element is a document and an index: sharing means the same document (Equals compares both). The table is
        // process-wide and other tests decode in parallel, so a slot may be taken between two reads: a later pair of
        // reads must then share.
        var shared = Enumerable.Range(0, 5).Select(_ => JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json, SharedElements)!).ToArray();
        Assert.Contains(shared.Zip(shared.Skip(1)), pair => pair.First["a"].Equals(pair.Second["a"]) && pair.First["b"].Equals(pair.Second["b"]));
        Assert.NotEqual(first["c"], second["c"]);
        Assert.Equal(json, JsonSerializer.Serialize(first, SharedElements));
    }

    [Theory]
    [InlineData(JsonCommentHandling.Skip)]
    [InlineData(JsonCommentHandling.Disallow)]
    public void Values_decode_under_the_readers_options_as_without_the_converter(JsonCommentHandling comments)
    {
        // A fresh value each time, so the converter's first read (a miss) parses it under the reader's options.
        var tag = Guid.NewGuid().ToString("N");
        var comment = comments == JsonCommentHandling.Skip ? "/* note */" : "";
        var json = "{\"a\":{\"f:" + tag + "\":[1,2,]," + comment + "\"g\":{},},\"b\":1}";
        var plain = new JsonSerializerOptions { AllowTrailingCommas = true, ReadCommentHandling = comments };
        var shared = new JsonSerializerOptions(plain) { Converters = { new DeduplicatingJsonElementConverter() } };
        var expected = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json, plain)!;
        foreach (var _ in (int[])[0, 1])
        {
            var actual = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json, shared)!;
            Assert.Equal(expected["a"].GetRawText(), actual["a"].GetRawText());
            Assert.Equal(expected["a"].GetProperty("f:" + tag).GetArrayLength(), actual["a"].GetProperty("f:" + tag).GetArrayLength());
            Assert.Equal(1, actual["b"].GetInt32());
        }

        var strict = new JsonSerializerOptions { Converters = { new DeduplicatingJsonElementConverter() } };
        Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json.Replace(tag, Guid.NewGuid().ToString("N")), strict));
    }

    [Fact]
    public void Invalid_quantities_fail_as_kubernetes_clients_converter_fails()
    {
        var json = Pod(FieldSet("q"), cpu: "abc");
        var expected = Assert.ThrowsAny<Exception>(() => JsonSerializer.Deserialize<V1Pod>(json, Plain));
        var actual = Assert.ThrowsAny<Exception>(() => JsonSerializer.Deserialize<V1Pod>(json, Shared));
        Assert.Equal(expected.GetType(), actual.GetType());
        Assert.Equal(expected.Message, actual.Message);
    }

    [Fact]
    public void Field_sets_split_across_buffer_segments_decode_correctly()
    {
        var json = Pod(FieldSet("segments"), cpu: "\"100m\"");
        var bytes = Encoding.UTF8.GetBytes(json);
        var reader = new Utf8JsonReader(SegmentedBuffer.Split(bytes, 7), default);
        var pod = JsonSerializer.Deserialize<V1Pod>(ref reader, Shared)!;
        Assert.Equal(JsonSerializer.Serialize(JsonSerializer.Deserialize<V1Pod>(json, Plain), Plain), JsonSerializer.Serialize(pod, Plain));
    }

    [Theory]
    [InlineData("""{"f:a":{}}""", """{"f:b":{}}""")] // same length, other key
    [InlineData("""{"f:a":{}}""", """{"f:a":[]}""")] // same length, other token types
    [InlineData("""{"f:a":{},"f:b":1}""", """{"f:a":{},"f:b":2}""")] // other number
    [InlineData("""{"f:\u0061":{}}""", """{"f:a":{}      }""")] // equal values, other text
    [InlineData("""[1,2]""", """[1, 2]""")]
    public void Values_of_other_bytes_keep_their_own_text(string first, string second)
    {
        // A fresh tag keeps other tests' values out of the way; each is decoded twice (miss, then hit).
        var tag = Guid.NewGuid().ToString("N");
        string Wrap(string value) => "{\"" + tag + "\":" + value + "}";
        foreach (var value in (string[])[first, second, first, second])
        {
            var decoded = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(Wrap(value), SharedElements)!;
            Assert.Equal(value, decoded[tag].GetRawText());
        }
    }

    [Fact]
    public void The_value_is_found_in_one_span_only_when_its_bytes_are_contiguous()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"a":{"f:b":{},"c":[1,"x"]},"d":2}""");
        var reader = new Utf8JsonReader(bytes);
        reader.Read();
        reader.Read();
        reader.Read();
        Assert.True(DeduplicatingJsonElementConverter.TryFindContiguousEnd(ref reader, out var raw));
        Assert.Equal("""{"f:b":{},"c":[1,"x"]}""", Encoding.UTF8.GetString(raw));
        Assert.Equal(JsonTokenType.EndObject, reader.TokenType);

        // The same bytes in segments that are not adjacent in memory: never one span (at 14 bytes no token spans two
        // segments, so only the address check can tell).
        foreach (var size in (int[])[1, 3, 14])
        {
            var segmented = new Utf8JsonReader(SegmentedBuffer.Split(bytes, size), default);
            segmented.Read();
            segmented.Read();
            segmented.Read();
            Assert.False(DeduplicatingJsonElementConverter.TryFindContiguousEnd(ref segmented, out _));
        }

        // Segments that are slices of one array are contiguous: the value is one span again.
        var adjacent = new Utf8JsonReader(SegmentedBuffer.Split(bytes, 14, adjacent: true), default);
        adjacent.Read();
        adjacent.Read();
        adjacent.Read();
        Assert.True(DeduplicatingJsonElementConverter.TryFindContiguousEnd(ref adjacent, out var joined));
        Assert.Equal("""{"f:b":{},"c":[1,"x"]}""", Encoding.UTF8.GetString(joined));
    }

    [Fact]
    public void Concurrent_decoding_from_many_threads_yields_each_inputs_own_text()
    {
        // More distinct field sets than the table has slots: threads race to replace and spare the same slots.
        var sets = Enumerable.Range(0, 10_000).Select(i => FieldSet("c" + i)).ToArray();
        var documents = sets.Select(s => Encoding.UTF8.GetBytes(Pod(s, cpu: "\"100m\""))).ToArray();
        var failures = 0;
        Parallel.For(0, Environment.ProcessorCount * 4, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(4, Environment.ProcessorCount * 2) }, worker =>
        {
            for (var i = 0; i < documents.Length; i++)
            {
                var index = (i * 7 + (worker * 31)) % documents.Length;
                var pod = JsonSerializer.Deserialize<V1Pod>(documents[index], Shared)!;
                if (((JsonElement)pod.Metadata.ManagedFields[0].FieldsV1).GetRawText() != sets[index])
                {
                    Interlocked.Increment(ref failures);
                }
            }
        });
        Assert.Equal(0, failures);
    }

    [Fact]
    public void A_used_entry_survives_one_collision_and_an_unused_one_none()
    {
        var table = new SharedValueTable<string>(4);
        table.Add(1, "hot");
        table.Find(1)!.Used = true;
        table.Add(5, "unique-1"); // same slot as 1: spares the used entry and is not stored
        Assert.Equal("hot", table.Find(1)!.Value);
        Assert.Null(table.Find(5));
        table.Add(9, "unique-2"); // the spared entry was not used again: replaced
        Assert.Null(table.Find(1));
        Assert.Equal("unique-2", table.Find(9)!.Value);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SharedValueTable<string>(3));
    }

    // The object as KubernetesClient writes it back, or the failure's type and message.
    private static string Decode(string json, JsonSerializerOptions options)
    {
        try
        {
            return JsonSerializer.Serialize(JsonSerializer.Deserialize<V1Pod>(json, options), Plain);
        }
        catch (Exception e) when (e is JsonException or FormatException or OverflowException or ArgumentException)
        {
            return e.GetType().Name + ": " + e.Message;
        }
    }

    // The same failure: a JsonException at the same line and byte, whose path is the failing entry's dictionary
    // (docs/compatibility.md: the serializer cannot name the entry inside a converter); any other failure exactly.
    private static bool SameFailure(string expected, string actual)
    {
        var json = JsonFailure.Match(expected);
        if (!json.Success)
        {
            return expected == actual;
        }

        var shared = JsonFailure.Match(actual);
        return shared.Success && shared.Groups[2].Value == json.Groups[2].Value
            && (shared.Groups[1].Value == json.Groups[1].Value || json.Groups[1].Value.StartsWith(shared.Groups[1].Value + ".", StringComparison.Ordinal)
                || json.Groups[1].Value.StartsWith(shared.Groups[1].Value + "[", StringComparison.Ordinal));
    }

    private static Gen<string> FieldSetGen(int size, int depth) =>
        from count in Gen.Choose(0, Math.Max(0, size / (depth + 1)))
        from keys in Gen.ArrayOf(Gen.Elements("f:a", "f:spec", ".", "k:{\\\"name\\\":\\\"web\\\"}", "f:\\u00e9", "f:x y"), count)
        from children in Gen.ArrayOf(depth < 3 ? Gen.OneOf(Gen.Constant("{}"), Gen.Constant("1"), Gen.Constant("[\"v\"]"), FieldSetGen(size / 2, depth + 1)) : Gen.Constant("{}"), count)
        select "{" + string.Join(",", keys.Distinct().Select((k, i) => $"\"{k}\":{children[i]}")) + "}";

    private static string FieldSet(string tag) =>
        "{\"f:metadata\":{\"f:labels\":{\".\":{},\"f:" + tag + "\":{}}},\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":\\\"web\\\"}\":{\".\":{},\"f:image\":{}}}}}";

    private static string Pod(string fieldSet, string cpu) =>
        """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"default","managedFields":[{"manager":"m","operation":"Update","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":"""
        + fieldSet + """}]},"spec":{"containers":[{"name":"web","image":"nginx","resources":{"limits":{"cpu":""" + Quote(cpu) + """}}}]}}""";

    private static string Quote(string quantity) => quantity.StartsWith('"') || quantity.All(char.IsDigit) && quantity.Length < 12 ? quantity : "\"" + quantity + "\"";
}
