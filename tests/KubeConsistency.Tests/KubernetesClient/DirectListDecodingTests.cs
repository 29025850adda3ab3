using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using FsCheck;
using FsCheck.Fluent;
using k8s.Models;
using KubeConsistency.Client;
using KubeConsistency.Http;
using KubeConsistency.KubernetesClient;
using KubeConsistency.Tests.Client;
using static KubeConsistency.Tests.KubernetesClient.DirectWatchDecodingTests;

namespace KubeConsistency.Tests.KubernetesClient;

/// <summary>
/// List items of KubernetesClient's models are decoded in our own loop, each in one pass with its
/// <see cref="DirectDecoding"/> contract (issue 13). Every list, every chunking of its body, and every failure give
/// what the serializer's streaming of the same body gives.
/// </summary>
public sealed class DirectListDecodingTests
{
    private static readonly JsonSerializerOptions Plain = KubernetesClientConnections.JsonOptions;

    [Theory]
    [MemberData(nameof(DirectWatchDecodingTests.Combinations), MemberType = typeof(DirectWatchDecodingTests))]
    public void Property_a_list_decoded_directly_gives_the_streamings_items_metadata_and_errors(bool skipManagedFields, bool deduplicateValues)
    {
        var typeInfo = PodInfo(new KubernetesResourceOptions { SkipManagedFields = skipManagedFields, DeduplicateValues = deduplicateValues });
        var streaming = new ListDecoder<V1Pod>(typeInfo);
        var direct = new ListDecoder<V1Pod>(typeInfo, DirectDecoding.For(typeInfo));
        var cases = from body in ListBody
                    from length in Gen.Choose(1, 4)
                    from chunks in Gen.ArrayOf(Gen.Frequency((2, Gen.Choose(1, 64)), (3, Gen.Choose(1_000, 70_000))), length)
                    select (Body: Encoding.UTF8.GetBytes(body), Chunks: chunks);
        var property = Prop.ForAll(Arb.From(cases), c =>
        {
            var expected = Outcome(streaming, c.Body, c.Chunks);
            var actual = Outcome(direct, c.Body, c.Chunks);
            return (actual == expected).Label($"{Encoding.UTF8.GetString(c.Body)[..Math.Min(c.Body.Length, 4_000)]}\nchunks {string.Join(",", c.Chunks)}\nexpected {expected[..Math.Min(expected.Length, 2_000)]}\nactual   {actual[..Math.Min(actual.Length, 2_000)]}");
        });

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true), property);
    }

    [Fact]
    public async Task Items_are_decoded_directly_and_one_the_direct_decode_refuses_by_the_serializer()
    {
        var typeInfo = PodInfo(null);
        var body = Encoding.UTF8.GetBytes("{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"9\"},\"items\":["
            + ServedPod(0, 0) + ",\n" + "{\"metadata\":{\"name\":\"first\"},\"metadata\":{\"name\":\"last\"},\"spec\":{\"containers\":[{\"name\":\"c\"}]}}" + "," + ServedPod(2, 0) + "]}");
        var pods = new List<V1Pod>();

        var (rv, _, _) = await new ListDecoder<V1Pod>(typeInfo, DirectDecoding.For(typeInfo)).DecodeAsync(new ChunkedStream(body, [5, 300]), pods.Add, CancellationToken.None);

        Assert.Equal("9", rv);
        Assert.Equal(["pod-0", "last", "pod-2"], pods.Select(p => p.Metadata.Name));

        // The direct decode gives a one-item list an array of one; the serializer, which decoded the repeated metadata, four.
        Assert.Equal(1, ((List<V1Container>)pods[0].Spec.Containers).Capacity);
        Assert.Equal(4, ((List<V1Container>)pods[1].Spec.Containers).Capacity);
        Assert.Equal(1, ((List<V1Container>)pods[2].Spec.Containers).Capacity);
    }

    [Fact]
    public async Task Items_larger_than_the_buffer_grow_it_and_decode()
    {
        var typeInfo = PodInfo(null);
        var body = Encoding.UTF8.GetBytes("{\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[" + ServedPod(0, 0) + "," + ServedPod(1, 1_500_000) + "," + ServedPod(2, 0) + "," + ServedPod(3, 40_000) + "]}");
        var names = new List<string>();

        var (rv, _, _) = await new ListDecoder<V1Pod>(typeInfo, DirectDecoding.For(typeInfo)).DecodeAsync(new ChunkedStream(body, [4096, 1, 16_000]), p => names.Add(p.Metadata.Name), CancellationToken.None);

        Assert.Equal("5", rv);
        Assert.Equal(["pod-0", "pod-1", "pod-2", "pod-3"], names);
    }

    [Theory]
    [InlineData("{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[{\"metadata\":{\"name\":\"a\"}},", "truncated after 1 items")]
    [InlineData("{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[{\"metadata\":{\"name\":\"a\"}},{\"metadata\":", "truncated after 1 items")]
    [InlineData("", "truncated after 0 items")]
    [InlineData("null", "the list response is null")]
    [InlineData("[]", "not StartArray at depth 0")]
    [InlineData("{\"items\":{}}", "its items are StartObject, not an array")]
    [InlineData("{\"items\":[1]}", "after 0 items: The JSON value could not be converted")]
    [InlineData("{\"items\":[{\"metadata\":{\"name\":\"a\"}},{\"spec\":{\"containers\":7}}]}", "after 1 items: The JSON value could not be converted")]
    [InlineData("{\"items\":[{\"metadata\":{\"name\":\"a\"}} garbage", "after 1 items: 'g' where a comma or the items' end belongs")]
    [InlineData("{\"items\":[{\"metadata\":{\"name\":\"a\"}},]}", "malformed or truncated after 1 items")]
    [InlineData("{\"items\":[{\"metadata\":{\"name\":\"a\"}}]} {}", "malformed")]
    [InlineData("{\"items\":[{\"metadata\":{\"name\":\"a\"}}]} x", "malformed or truncated after 1 items")]
    [InlineData("{\"items\":[{\"metadata\":{\"name\":\"a\"}},null]}", "list item 1 is null")]
    public async Task Malformed_lists_throw_decode_exceptions(string body, string expected)
    {
        var typeInfo = PodInfo(null);
        var decoder = new ListDecoder<V1Pod>(typeInfo, DirectDecoding.For(typeInfo));

        var ex = await Assert.ThrowsAsync<KubernetesDecodeException>(() => decoder.DecodeAsync(new ChunkedStream(Encoding.UTF8.GetBytes(body), [3, 50]), _ => { }, CancellationToken.None).AsTask());

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_item_that_fails_in_a_converter_before_it_breaks_the_grammar_fails_as_the_streaming_fails()
    {
        var typeInfo = PodInfo(null);
        var body = Encoding.UTF8.GetBytes("{\"items\":[" + ServedPod(0, 0) + ",{\"metadata\":{\"creationTimestamp\":\"yesterday\",\"name\":}}]}");

        var expected = Outcome(new ListDecoder<V1Pod>(typeInfo), body, [64]);

        Assert.StartsWith("FormatException after 1", expected, StringComparison.Ordinal);
        Assert.Equal(expected, Outcome(new ListDecoder<V1Pod>(typeInfo, DirectDecoding.For(typeInfo)), body, [64]));
    }

    [Fact]
    public async Task A_cancelled_read_stops_the_decode()
    {
        var typeInfo = PodInfo(null);
        using var cts = new CancellationTokenSource();
        var body = Encoding.UTF8.GetBytes("{\"items\":[" + ServedPod(0, 0) + "," + ServedPod(1, 0) + "]}");
        var stream = new ChunkedStream(body, [100]) { BeforeRead = n => { if (n == 2) { cts.Cancel(); } } };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new ListDecoder<V1Pod>(typeInfo, DirectDecoding.For(typeInfo)).DecodeAsync(stream, _ => { }, cts.Token).AsTask());
    }

    private static JsonTypeInfo<V1Pod> PodInfo(KubernetesResourceOptions? options) =>
        (JsonTypeInfo<V1Pod>)KubernetesDecoding.For(options).GetTypeInfo(typeof(V1Pod));

    private static string Outcome(ListDecoder<V1Pod> decoder, byte[] body, int[] chunks)
    {
        var items = new StringBuilder();
        var count = 0;
        void Add(V1Pod pod)
        {
            count++;
            items.Append('\n').Append(JsonSerializer.Serialize(pod, Plain));
        }

        try
        {
            var (rv, token, remaining) = decoder.DecodeAsync(new ChunkedStream(body, chunks), Add, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            return $"ok rv={rv} continue={token} remaining={remaining} items={count}{items}";
        }
        catch (Exception e) when (e is KubernetesDecodeException or FormatException or InvalidOperationException)
        {
            // KubernetesClient's timestamp and quantity converters throw FormatException through either decode.
            return $"{e.GetType().Name} after {count}{items}";
        }
    }

    // A pod as kube-apiserver serves it, with an annotation of `padding` characters.
    private static string ServedPod(int i, int padding) =>
        "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"pod-" + i + "\",\"namespace\":\"d\",\"uid\":\"u-" + i + "\",\"resourceVersion\":\"" + (100 + i)
        + "\",\"creationTimestamp\":\"2026-01-15T10:00:00Z\",\"labels\":{\"app\":\"web\"}" + (padding > 0 ? ",\"annotations\":{\"blob\":\"" + new string('b', padding) + "\"}" : string.Empty)
        + ",\"managedFields\":[{\"manager\":\"kubelet\",\"operation\":\"Update\",\"apiVersion\":\"v1\",\"time\":\"2026-01-15T10:00:09Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:status\":{\"f:podIP\":{},\"f:podIPs\":{\"k:{\\\"ip\\\":\\\"10.0.0." + i + "\\\"}\":{}}}}}]},"
        + "\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\",\"resources\":{\"limits\":{\"cpu\":\"500m\"}}}],\"securityContext\":{}},"
        + "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0." + i + "\",\"startTime\":\"2026-01-15T10:00:01Z\"}}";

    // Mostly served pods, sometimes a large one (cut by the buffer's end), sometimes the watch tests' adversarial objects.
    private static readonly Gen<string> Item = Gen.Frequency(
        (12, Gen.Choose(0, 250).Select(i => ServedPod(i, 0))),
        (1, Gen.Choose(0, 250).SelectMany(i => Gen.Choose(6_000, 90_000).Select(padding => ServedPod(i, padding)))),
        (2, PodJson));

    private static readonly Gen<string> Separator = Gen.Frequency((20, Values(",", ", ", ",\n  ", " ,\t")), (1, Values("", ",,", ";")));

    private static readonly Gen<string> Items = Gen.Frequency(
        (10, from count in Gen.Frequency((5, Gen.Choose(0, 12)), (2, Gen.Choose(150, 400)))
             from items in Gen.ListOf(Item, count)
             from separators in Gen.ListOf(Separator, count)
             from open in Values("[", "[ ", "[\n")
             from close in Values("]", " ]", "\n]", ",]")
             select open + string.Concat(items.Select((item, i) => (i == 0 ? string.Empty : separators[i]) + item)) + close),
        (1, Values("null", "{}", "1", "\"x\"", "[}")));

    private static readonly Gen<string> ListBody =
        from envelope in Object(
            Gen.Frequency((1, Gen.Constant(0)), (10, Gen.Constant(1)), (1, Gen.Constant(2))),
            Member("kind", Values("\"PodList\"")),
            Member("apiVersion", Values("\"v1\"")),
            Member("metadata", Values("{\"resourceVersion\":\"12\",\"continue\":\"abc\",\"remainingItemCount\":3}", "{\"resourceVersion\":\"7\"}", "null", "{}", "{\"resourceVersion\":7}", "[1,2]", "\"m\"")),
            Member("items", Items),
            Member("extra", Values("{\"a\":[1,{\"b\":null}]}", "[]", "3")))
        from mutation in Gen.Frequency((10, Gen.Constant(0)), (1, Gen.Constant(1)), (1, Gen.Constant(2)))
        from cut in Gen.Choose(0, 1_000_000)
        from tail in Values(" ", "\n", "x", "{}", "]")
        select mutation switch
        {
            1 => envelope[..(cut % (envelope.Length + 1))],
            2 => envelope + tail,
            _ => envelope,
        };
}
