using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using KubeConsistency.Http;

namespace KubeConsistency.Tests.Client;

/// <summary>
/// The watch path's one-streaming-decode-per-watch object decoder: the objects it returns are the ones a
/// <c>JsonSerializer.Deserialize</c> per object returns, whatever their size, and a bad object fails as it would there.
/// </summary>
public sealed class StreamingObjectDecoderTests
{
    [Fact]
    public void Property_SameObjectsAsOneDeserializePerObject()
    {
        // Names, label counts, a status of any nesting depth and, now and then, an annotation of up to 200 KB
        // (larger than the pipe's segments and System.Text.Json's initial buffer).
        var pod = from name in Gen.Elements("a", "web-1", "x\u00e9\u4e2d", "q\"uote")
                  from labels in Gen.Choose(0, 5)
                  from depth in Gen.Choose(0, 28)
                  from big in Gen.Frequency((9, Gen.Constant(0)), (1, Gen.Choose(1, 200_000)))
                  select Json(name, labels, depth, big);
        Prop.ForAll(Arb.From(Gen.NonEmptyListOf(pod)), pods =>
        {
            using var decoder = new StreamingObjectDecoder<TestPod>(TestJsonContext.Default.TestPod);
            foreach (var json in pods)
            {
                var expected = JsonSerializer.Deserialize(json, TestJsonContext.Default.TestPod);
                var actual = decoder.Decode(json);
                Assert.Equal(
                    JsonSerializer.Serialize(expected, TestJsonContext.Default.TestPod),
                    JsonSerializer.Serialize(actual, TestJsonContext.Default.TestPod));
            }

            // Every object went through the streaming decode: it never had to fall back.
            Assert.True(decoder.Streaming);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Property_EveryObjectIsReadFromOneSegment()
    {
        // A segment left holding an unread separator made the next object that did not fit its rest span two
        // segments, and the reader's slower multi-segment path (about every second pod with 4 KiB segments).
        var sizes = Gen.Choose(0, 6_000).ListOf().Where(static l => l.Count > 0);
        Prop.ForAll(Arb.From(sizes), annotationSizes =>
        {
            ReadCountingReader? counting = null;
            using var decoder = new StreamingObjectDecoder<TestPod>(TestJsonContext.Default.TestPod, r => counting = new ReadCountingReader(r));
            foreach (var size in annotationSizes)
            {
                Assert.NotNull(decoder.Decode(Json("p", 2, 1, size)));
            }

            Assert.True(decoder.Streaming);
            Assert.Equal(0, counting!.MultiSegmentReads);
            Assert.True(counting.Reads >= annotationSizes.Count);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void AnObjectThatDoesNotFitTheType_FailsAsDeserializeFails_AndLaterObjectsStillStream()
    {
        using var decoder = new StreamingObjectDecoder<TestPod>(TestJsonContext.Default.TestPod);
        Assert.Equal("a", decoder.Decode(Json("a", 1, 2, 0))!.Metadata!.Name);

        var wrong = """{"metadata":{"name":5}}"""u8.ToArray();
        var plain = Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize(wrong, TestJsonContext.Default.TestPod));
        var streamed = Assert.ThrowsAny<JsonException>(() => decoder.Decode(wrong));
        Assert.Equal(plain.Path, streamed.Path);

        Assert.Equal("b", decoder.Decode(Json("b", 0, 0, 0))!.Metadata!.Name);
        Assert.Equal("c", decoder.Decode(Json("c", 3, 7, 70_000))!.Metadata!.Name);
        Assert.True(decoder.Streaming);
    }

    [Fact]
    public void AfterDispose_ObjectsStillDecode_OnePerCall()
    {
        var decoder = new StreamingObjectDecoder<TestPod>(TestJsonContext.Default.TestPod);
        decoder.Dispose();
        Assert.False(decoder.Streaming);
        Assert.Equal("a", decoder.Decode(Json("a", 1, 1, 0))!.Metadata!.Name);
    }

    /// <summary>Passes reads through, counting those whose buffer spans more than one segment.</summary>
    private sealed class ReadCountingReader(PipeReader inner) : PipeReader
    {
        public int Reads { get; private set; }

        public int MultiSegmentReads { get; private set; }

        public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(cancellationToken).ConfigureAwait(false));

        public override bool TryRead(out ReadResult result)
        {
            if (!inner.TryRead(out result))
            {
                return false;
            }

            Count(result);
            return true;
        }

        private ReadResult Count(ReadResult result)
        {
            Reads++;

            // An empty buffer at the end carries no object.
            if (!result.Buffer.IsEmpty && !result.Buffer.IsSingleSegment)
            {
                MultiSegmentReads++;
            }

            return result;
        }
    }

    private static byte[] Json(string name, int labels, int depth, int annotationBytes)
    {
        var sb = new StringBuilder();
        sb.Append("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":").Append(JsonSerializer.Serialize(name)).Append(",\"namespace\":\"default\",\"labels\":{");
        for (var i = 0; i < labels; i++)
        {
            sb.Append(i == 0 ? "" : ",").Append("\"k").Append(i).Append("\":\"v").Append(i).Append('"');
        }

        sb.Append('}');
        if (annotationBytes > 0)
        {
            sb.Append(",\"annotations\":{\"big\":\"").Append('x', annotationBytes).Append("\"}");
        }

        sb.Append("},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]},\"status\":");
        for (var i = 0; i < depth; i++)
        {
            sb.Append("{\"d\":[");
        }

        sb.Append("1");
        for (var i = 0; i < depth; i++)
        {
            sb.Append("]}");
        }

        sb.Append('}');
        return Encoding.UTF8.GetBytes(sb.ToString());
    }
}
