using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using KubeConsistency.Client;
using KubeConsistency.Http;
using Microsoft.AspNetCore.Http;

namespace KubeConsistency.Tests.Client;

/// <summary>List decoding over real loopback HTTP, fed with the captured API server lists (wire/list).</summary>
public sealed class ListTests
{
    [WireFact]
    public async Task Paged_list_follows_continue_tokens()
    {
        var page1 = WireFixtures.Bytes("list/pods-limit2-page1.json");
        var page2 = WireFixtures.Bytes("list/pods-limit2-page2.json");
        await using var server = await LoopbackServer.StartAsync((ctx, req) =>
            Respond.Json(ctx, 200, ctx.Request.Query.ContainsKey("continue") ? page2 : page1));
        using var connection = Clients.Connect(server);
        var pods = connection.Resource(Clients.Pods());

        var first = await pods.ListAsync(new ListOptions { Limit = 2 });
        var second = await pods.ListAsync(new ListOptions { Limit = 2, Continue = first.Continue });

        Assert.Equal(["alpha", "beta"], first.Items.Select(p => p.Metadata!.Name));
        Assert.Equal("35", first.ResourceVersion);
        Assert.Equal("eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MzUsInN0YXJ0IjoiL2JldGFcdTAwMDAifQ", first.Continue);
        Assert.Equal(2, first.RemainingItemCount);
        Assert.Equal(["gamma", "web-g6qrn"], second.Items.Select(p => p.Metadata!.Name));
        Assert.Equal("35", second.ResourceVersion);
        Assert.Null(second.Continue);
        Assert.Null(second.RemainingItemCount);
        Assert.Equal(
            ["/api/v1/namespaces/wire/pods?limit=2", "/api/v1/namespaces/wire/pods?continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MzUsInN0YXJ0IjoiL2JldGFcdTAwMDAifQ&limit=2"],
            server.Requests.Select(r => r.PathAndQuery));
    }

    [WireFact]
    public async Task Resource_version_zero_returns_the_full_list_even_with_a_limit()
    {
        var body = WireFixtures.Bytes("list/pods-limit2-rv0.json");
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 200, body));
        using var connection = Clients.Connect(server);

        var page = await connection.Resource(Clients.Pods()).ListAsync(new ListOptions { Limit = 2, ResourceVersion = "0" });

        Assert.Equal(6, page.Items.Count);
        Assert.Equal("69", page.ResourceVersion);
        Assert.Null(page.Continue);
        Assert.Equal("/api/v1/namespaces/wire/pods?limit=2&resourceVersion=0", Assert.Single(server.Requests).PathAndQuery);
    }

    [WireFact]
    public async Task Items_match_the_fixture_exactly()
    {
        var body = WireFixtures.Bytes("list/pods-rv0.json");
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 200, body));
        using var connection = Clients.Connect(server);
        var expected = JsonNode.Parse(body)!["items"]!.AsArray();

        var page = await connection.Resource(new ResourceClientOptions<JsonNode> { Resource = GroupVersionResource.Pods, Namespace = "wire" })
            .ListAsync(new ListOptions { ResourceVersion = "0", ResourceVersionMatch = ResourceVersionMatch.NotOlderThan });

        Assert.Equal(expected.Count, page.Items.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.True(JsonNode.DeepEquals(expected[i], page.Items[i]), $"item {i} differs");
        }

        Assert.Equal("/api/v1/namespaces/wire/pods?resourceVersion=0&resourceVersionMatch=NotOlderThan", Assert.Single(server.Requests).PathAndQuery);
    }

    [WireFact]
    public async Task Expired_continue_token_throws_with_the_replacement_token()
    {
        var body = WireFixtures.Bytes("errors/410-continue-expired.json");
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 410, body));
        using var connection = Clients.Connect(server);

        var ex = await Assert.ThrowsAsync<ResourceExpiredException>(() => connection.Resource(Clients.Pods()).ListAsync(new ListOptions { Limit = 2, Continue = "old" }).AsTask());

        Assert.Equal("eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6LTEsInN0YXJ0IjoiZGVsdGFcdTAwMDAifQ", ex.Continue);
        Assert.Equal(410, (int)ex.StatusCode);
        Assert.Equal("Expired", ex.Reason);
        Assert.StartsWith("The provided continue parameter is too old", ex.Message, StringComparison.Ordinal);
    }

    [WireFact]
    public async Task Replacement_continue_token_continues_inconsistently_at_a_newer_resource_version()
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) => ctx.Request.Query["continue"] == "old"
            ? Respond.Json(ctx, 410, WireFixtures.Bytes("errors/410-continue-expired.json"))
            : Respond.Json(ctx, 200, WireFixtures.Bytes("list/pods-inconsistent-continue.json")));
        using var connection = Clients.Connect(server);
        var pods = connection.Resource(Clients.Pods());

        var expired = await Assert.ThrowsAsync<ResourceExpiredException>(() => pods.ListAsync(new ListOptions { Limit = 2, Continue = "old" }).AsTask());
        var rest = await pods.ListAsync(new ListOptions { Limit = 2, Continue = expired.Continue });

        Assert.Equal("45", rest.ResourceVersion);
        Assert.Equal(["epsilon", "gamma"], rest.Items.Select(p => p.Metadata!.Name));
        Assert.Equal(1, rest.RemainingItemCount);
    }

    [Fact]
    public async Task Items_larger_than_the_buffer_grow_it_and_decode()
    {
        var big = "{\"metadata\":{\"name\":\"big\",\"annotations\":{\"blob\":\"" + new string('b', 1_500_000) + "\"}}}";
        var body = Encoding.UTF8.GetBytes("{\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[" + SyntheticPod(0) + "," + big + "," + SyntheticPod(1) + "]}");
        var decoder = new ListDecoder<TestPod>(TestJsonContext.Default.TestPod);
        var names = new List<string>();

        var (rv, _, _) = await decoder.DecodeAsync(new ChunkedStream(body, [4096, 1, 16_000]), p => names.Add(p.Metadata!.Name!), CancellationToken.None);

        Assert.Equal("5", rv);
        Assert.Equal(["pod-000000", "big", "pod-000001"], names);
    }

    [Fact]
    public async Task Null_items_and_metadata_after_items_are_accepted()
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) =>
            Respond.Json(ctx, 200, "{\"items\":null,\"kind\":\"PodList\",\"metadata\":{\"remainingItemCount\":0,\"resourceVersion\":\"7\",\"extra\":{\"a\":[1,2]}}}"));
        using var connection = Clients.Connect(server);

        var page = await connection.Resource(Clients.Pods()).ListAsync(new ListOptions());

        Assert.Empty(page.Items);
        Assert.Equal("7", page.ResourceVersion);
        Assert.Equal(0, page.RemainingItemCount);
    }

    [Theory]
    [InlineData("{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[{\"metadata\":{\"name\":\"a\"}},", "truncated after 1 items")]
    [InlineData("[]", "Path: $")]
    [InlineData("{\"items\":{}}", "Path: $.items")]
    [InlineData("{\"items\":[1]}", "Path: $.items[0]")]
    [InlineData("{\"items\":[{\"metadata\":{\"name\":\"a\"}},{\"spec\":{\"containers\":7}}]}", "after 1 items: The JSON value could not be converted")]
    [InlineData("{\"items\":[{\"metadata\":{\"name\":\"a\"}} garbage", "malformed or truncated after 1 items")]
    [InlineData("{\"items\":[{\"metadata\":{\"name\":\"a\"}},null]}", "list item 1 is null")]
    public async Task Malformed_lists_throw_decode_exceptions(string body, string expected)
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 200, body));
        using var connection = Clients.Connect(server);

        var ex = await Assert.ThrowsAsync<KubernetesDecodeException>(() => connection.Resource(Clients.Pods()).ListAsync(new ListOptions()).AsTask());

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Non_json_content_type_is_rejected()
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 200, "{}"u8.ToArray(), "application/vnd.kubernetes.protobuf"));
        using var connection = Clients.Connect(server);

        var ex = await Assert.ThrowsAsync<KubernetesDecodeException>(() => connection.Resource(Clients.Pods()).ListAsync(new ListOptions()).AsTask());

        Assert.Contains("application/vnd.kubernetes.protobuf", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connection_broken_mid_list_is_a_transport_error()
    {
        await using var server = await LoopbackServer.StartAsync(async (ctx, _) =>
        {
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync("{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[{\"metadata\":{\"name\":\"a\"}},");
            await ctx.Response.Body.FlushAsync();
            ctx.Abort();
        });
        using var connection = Clients.Connect(server, maxRetries: 0);

        await Assert.ThrowsAsync<KubernetesTransportException>(() => connection.Resource(Clients.Pods()).ListAsync(new ListOptions()).AsTask().WaitAsync(Clients.Guard));
    }

    /// <summary>
    /// 20,000 pods of ~1.5 KB: items reach the caller while the server is still blocked half way through the
    /// body, and the decoder's buffer never grows past its initial 64 KiB (the 30 MB body is never buffered).
    /// </summary>
    [Fact]
    public async Task Large_list_is_streamed_not_buffered()
    {
        const int count = 20_000;
        var clientDecodedEnough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var serverFinished = false;
        long bytesWritten = 0;
        await using var server = await LoopbackServer.StartAsync(async (ctx, _) =>
        {
            ctx.Response.ContentType = "application/json";
            var body = ctx.Response.Body;
            await body.WriteAsync("{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"123456\"},\"items\":["u8.ToArray());
            for (var i = 0; i < count; i++)
            {
                var item = Encoding.UTF8.GetBytes((i == 0 ? string.Empty : ",") + SyntheticPod(i));
                await body.WriteAsync(item);
                bytesWritten += item.Length;
                if (i == count / 2)
                {
                    // Half way: wait until the client has decoded 9,000 items. A client that buffered the whole
                    // response before decoding would never get there, and the guard would fail the test.
                    await body.FlushAsync();
                    await clientDecodedEnough.Task.WaitAsync(Clients.Guard);
                }
            }

            await body.WriteAsync("]}"u8.ToArray());
            Volatile.Write(ref serverFinished, true);
        });
        using var connection = Clients.Connect(server);
        var client = (HttpResourceClient<TestPod>)connection.Resource(new ResourceClientOptions<TestPod> { Resource = GroupVersionResource.Pods, Namespace = "wire", Kind = "Pod", TypeInfo = TestJsonContext.Default.TestPod });
        var items = new List<TestPod>();
        bool? serverFinishedAt9000 = null;

        var meta = await client.ListEachAsync(new ListOptions(), pod =>
        {
            items.Add(pod);
            if (items.Count == 9000)
            {
                serverFinishedAt9000 = Volatile.Read(ref serverFinished);
                clientDecodedEnough.TrySetResult();
            }
        }, CancellationToken.None).AsTask().WaitAsync(Clients.Guard);

        Assert.False(serverFinishedAt9000);
        Assert.Equal(count, items.Count);
        Assert.Equal("123456", meta.ResourceVersion);
        Assert.Equal($"pod-{count - 1:D6}", items[^1].Metadata!.Name);
        Assert.True(bytesWritten > 20_000_000, $"body was only {bytesWritten} bytes");
    }

    [Fact]
    public void Decoding_is_independent_of_how_the_body_is_chunked()
    {
        var json = Encoding.UTF8.GetBytes(
            "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"99\",\"continue\":\"tok\",\"remainingItemCount\":12345678901},\"items\":[" +
            string.Join(",", Enumerable.Range(0, 40).Select(SyntheticPod)) + "],\"trailer\":[{\"x\":\"]}\"}]}");
        var property = FsCheck.Fluent.Prop.ForAll(
            FsCheck.Fluent.ArbMap.Default.ArbFor<FsCheck.PositiveInt[]>(),
            sizes =>
            {
                var chunks = sizes.Length == 0 ? [1] : sizes.Select(s => 1 + (s.Get % 3000)).ToArray();
                var decoder = new ListDecoder<JsonElement>((System.Text.Json.Serialization.Metadata.JsonTypeInfo<JsonElement>)JsonSerializerOptions.Default.GetTypeInfo(typeof(JsonElement)));
                var names = new List<string>();
                var (rv, token, remaining) = decoder.DecodeAsync(new ChunkedStream(json, chunks), e => names.Add(e.GetProperty("metadata").GetProperty("name").GetString()!), CancellationToken.None).AsTask().GetAwaiter().GetResult();
                return rv == "99" && token == "tok" && remaining == 12345678901 && names.SequenceEqual(Enumerable.Range(0, 40).Select(i => $"pod-{i:D6}"));
            });
        FsCheck.Check.One(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(200), property);
    }

    internal static string SyntheticPod(int i) =>
        $"{{\"metadata\":{{\"name\":\"pod-{i:D6}\",\"namespace\":\"wire\",\"uid\":\"{Guid.NewGuid()}\",\"resourceVersion\":\"{1000 + i}\",\"creationTimestamp\":\"2026-11-22T10:23:41Z\"," +
        "\"labels\":{\"app\":\"demo\",\"tier\":\"fe\"},\"annotations\":{\"note\":\"" + new string('x', 900) + "\"}}," +
        "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:1.27\",\"resources\":{}}],\"restartPolicy\":\"Always\"},\"status\":{\"phase\":\"Pending\",\"qosClass\":\"BestEffort\"}}";
}

/// <summary>A read-only stream that returns its bytes in the given chunk sizes (cycling), to exercise resumable decoding.</summary>
internal sealed class ChunkedStream(byte[] data, int[] chunks) : Stream
{
    private int _position;
    private int _next;

    /// <summary>Called with the number of the read (0 first) before it reads.</summary>
    public Action<int>? BeforeRead { get; init; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => data.Length;

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        BeforeRead?.Invoke(_next);
        var n = Math.Min(Math.Min(buffer.Length, chunks[_next++ % chunks.Length]), data.Length - _position);
        data.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = Read(buffer.Span);
        cancellationToken.ThrowIfCancellationRequested();
        return new(n);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
