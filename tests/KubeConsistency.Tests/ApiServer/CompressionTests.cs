using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using KubeConsistency.Testing;
using KubeConsistency.Testing.ApiServer;
using KubeConsistency.Tests.Integration;

namespace KubeConsistency.Tests.ApiServer;

/// <summary>
/// gzip as kube-apiserver does it (responsewriters/writers.go, handlers/watch.go), over real loopback HTTP with a client
/// that does not decompress, so the tests see the bytes on the wire.
/// </summary>
public sealed class CompressionTests
{
    private const int Threshold = ResponseCompression.ThresholdBytes;

    private sealed record Wire(HttpStatusCode Status, string[] ContentEncoding, string[] Vary, byte[] Body)
    {
        public bool Gzipped => ContentEncoding.SequenceEqual(["gzip"]);

        public string Text => Encoding.UTF8.GetString(Gzipped ? Gunzip(Body) : Body);
    }

    private static async Task<Wire> GetAsync(HttpClient client, string path, string? acceptEncoding = "gzip")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (acceptEncoding is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);
        }

        using var response = await client.SendAsync(request).WaitAsync(TestApi.Guard);
        var body = await response.Content.ReadAsByteArrayAsync().WaitAsync(TestApi.Guard);
        return new Wire(response.StatusCode, [.. response.Content.Headers.ContentEncoding], [.. response.Headers.Vary], body);
    }

    private static byte[] Gunzip(byte[] body)
    {
        using var gzip = new GZipStream(new MemoryStream(body), CompressionMode.Decompress);
        using var plain = new MemoryStream();
        gzip.CopyTo(plain);
        return plain.ToArray();
    }

    private static void SeedBigPods(EmbeddedApiServer server, string ns, int count)
    {
        for (var i = 0; i < count; i++)
        {
            server.Objects.Create(ApiResourceDefinition.Pods, TestApi.Pod($"pod-{i:D4}", ns, new() { ["app"] = "demo", ["index"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) }));
        }
    }

    [Fact]
    public async Task A_big_list_is_gzipped_with_vary_and_decodes_to_the_plain_body()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        SeedBigPods(server, "big", 400);

        var plain = await GetAsync(client, "/api/v1/namespaces/big/pods", acceptEncoding: null);
        var gzipped = await GetAsync(client, "/api/v1/namespaces/big/pods");

        Assert.Equal(HttpStatusCode.OK, gzipped.Status);
        Assert.False(plain.Gzipped);
        Assert.True(plain.Body.Length > Threshold, $"the list must be over the threshold: {plain.Body.Length} bytes");
        Assert.True(gzipped.Gzipped, "Content-Encoding: " + string.Join(",", gzipped.ContentEncoding));
        Assert.Contains("Accept-Encoding", gzipped.Vary);
        Assert.Equal([0x1f, 0x8b], gzipped.Body[..2]);
        Assert.Equal(plain.Body, Gunzip(gzipped.Body));
        Assert.True(gzipped.Body.Length * 4 < plain.Body.Length, $"gzip: {gzipped.Body.Length} of {plain.Body.Length} bytes");
        Assert.Equal(400, TestApi.Parse(gzipped.Text)["items"]!.AsArray().Count);
        Assert.Equal(1, server.GzippedResponses);
    }

    [Fact]
    public async Task Pages_tables_and_pretty_lists_over_the_threshold_are_gzipped_too()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        SeedBigPods(server, "big", 400);

        var page = await GetAsync(client, "/api/v1/namespaces/big/pods?limit=300");
        Assert.True(page.Gzipped);
        Assert.Equal(300, TestApi.Parse(page.Text)["items"]!.AsArray().Count);

        var pretty = await GetAsync(client, "/api/v1/namespaces/big/pods?pretty=true");
        Assert.True(pretty.Gzipped);
        Assert.StartsWith("{\n", pretty.Text, StringComparison.Ordinal);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/namespaces/big/pods?includeObject=Object");
        request.Headers.Accept.Clear();
        request.Headers.TryAddWithoutValidation("Accept", TestApi.TableAccept);
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip");
        using var response = await client.SendAsync(request).WaitAsync(TestApi.Guard);
        Assert.Equal(["gzip"], response.Content.Headers.ContentEncoding);
        var table = TestApi.Parse(Encoding.UTF8.GetString(Gunzip(await response.Content.ReadAsByteArrayAsync())));
        Assert.Equal(("Table", 400), (table["kind"]!.GetValue<string>(), table["rows"]!.AsArray().Count));
    }

    [Fact]
    public async Task A_small_list_is_sent_plain_even_when_gzip_is_accepted()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        SeedBigPods(server, "small", 3);

        var wire = await GetAsync(client, "/api/v1/namespaces/small/pods");

        Assert.False(wire.Gzipped);
        Assert.DoesNotContain("Accept-Encoding", wire.Vary);
        Assert.Equal(3, TestApi.Parse(Encoding.UTF8.GetString(wire.Body))["items"]!.AsArray().Count);
        Assert.Equal(0, server.GzippedResponses);
    }

    [Fact]
    public async Task The_threshold_is_strictly_more_than_128_KiB_for_objects_and_lists()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);

        // One ConfigMap per namespace, sized so that its GET (and its namespace's LIST) is exactly 128 KiB or one byte more.
        // Padding first, so that every resourceVersion below has two digits and sizes do not drift.
        for (var i = 0; i < 10; i++)
        {
            server.Objects.Create(ApiResourceDefinition.ConfigMaps, TestApi.ConfigMap($"pad-{i}", "pad"));
        }

        server.Objects.Create(ApiResourceDefinition.ConfigMaps, TestApi.ConfigMap("probe", "aa", new() { ["v"] = new string('x', 1000) }));
        var probe = (await GetAsync(client, "/api/v1/namespaces/aa/configmaps/probe", acceptEncoding: null)).Body.Length;
        var probeList = (await GetAsync(client, "/api/v1/namespaces/aa/configmaps", acceptEncoding: null)).Body.Length;
        server.Objects.Create(ApiResourceDefinition.ConfigMaps, TestApi.ConfigMap("probe", "ob", new() { ["v"] = new string('x', 1000 + Threshold - probe) }));
        server.Objects.Create(ApiResourceDefinition.ConfigMaps, TestApi.ConfigMap("probe", "oc", new() { ["v"] = new string('x', 1000 + Threshold + 1 - probe) }));
        server.Objects.Create(ApiResourceDefinition.ConfigMaps, TestApi.ConfigMap("probe", "ld", new() { ["v"] = new string('x', 1000 + Threshold - probeList) }));
        server.Objects.Create(ApiResourceDefinition.ConfigMaps, TestApi.ConfigMap("probe", "le", new() { ["v"] = new string('x', 1000 + Threshold + 1 - probeList) }));

        var plainSizes = new List<int>();
        foreach (var path in (string[])["/api/v1/namespaces/ob/configmaps/probe", "/api/v1/namespaces/oc/configmaps/probe", "/api/v1/namespaces/ld/configmaps", "/api/v1/namespaces/le/configmaps"])
        {
            plainSizes.Add((await GetAsync(client, path, acceptEncoding: null)).Body.Length);
        }

        Assert.Equal([Threshold, Threshold + 1, Threshold, Threshold + 1], plainSizes);
        var atThreshold = await GetAsync(client, "/api/v1/namespaces/ob/configmaps/probe");
        var overThreshold = await GetAsync(client, "/api/v1/namespaces/oc/configmaps/probe");
        var listAtThreshold = await GetAsync(client, "/api/v1/namespaces/ld/configmaps");
        var listOverThreshold = await GetAsync(client, "/api/v1/namespaces/le/configmaps");

        Assert.Equal((false, Threshold), (atThreshold.Gzipped, atThreshold.Body.Length));
        Assert.Equal((true, Threshold + 1), (overThreshold.Gzipped, Gunzip(overThreshold.Body).Length));
        Assert.Equal((false, Threshold), (listAtThreshold.Gzipped, listAtThreshold.Body.Length));
        Assert.Equal((true, Threshold + 1), (listOverThreshold.Gzipped, Gunzip(listOverThreshold.Body).Length));
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("identity", false)]
    [InlineData("gzip;q=0", false)] // kube-apiserver compares whole tokens: no q-values
    [InlineData("GZIP", false)]
    [InlineData("gzip", true)]
    [InlineData("deflate, gzip", true)]
    [InlineData("br,gzip ,deflate", true)]
    public async Task Accept_encoding_is_matched_as_kube_apiserver_does(string? acceptEncoding, bool gzipped)
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        SeedBigPods(server, "big", 400);

        var wire = await GetAsync(client, "/api/v1/namespaces/big/pods", acceptEncoding);

        Assert.Equal(gzipped, wire.Gzipped);
        Assert.Equal(400, TestApi.Parse(wire.Text)["items"]!.AsArray().Count);
    }

    [Fact]
    public async Task With_the_option_off_nothing_is_compressed()
    {
        await using var server = await TestApi.StartAsync(o => o.ResponseCompression = false);
        using var client = TestApi.Client(server);
        SeedBigPods(server, "big", 400);

        var list = await GetAsync(client, "/api/v1/namespaces/big/pods");
        var pretty = await GetAsync(client, "/api/v1/namespaces/big/pods?pretty=true");

        Assert.False(list.Gzipped);
        Assert.False(pretty.Gzipped);
        Assert.True(list.Body.Length > Threshold);
        Assert.Equal(400, TestApi.Parse(Encoding.UTF8.GetString(list.Body))["items"]!.AsArray().Count);
        Assert.Equal(0, server.GzippedResponses);
    }

    private static async Task<(HttpResponseMessage Response, StreamReader Reader)> OpenWatchAsync(HttpClient client, string path, string? acceptEncoding = "gzip")
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (acceptEncoding is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);
        }

        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TestApi.Guard);
        var stream = await response.Content.ReadAsStreamAsync().WaitAsync(TestApi.Guard);
        var gzipped = response.Content.Headers.ContentEncoding.Contains("gzip");
        return (response, new StreamReader(gzipped ? new GZipStream(stream, CompressionMode.Decompress) : stream, Encoding.UTF8));
    }

    private static async Task<JsonObject> NextEventAsync(StreamReader reader)
        => TestApi.Parse(await reader.ReadLineAsync().WaitAsync(TestApi.Guard) ?? throw new Xunit.Sdk.XunitException("the watch ended early"));

    [Fact]
    public async Task A_plain_watch_is_never_compressed()
    {
        await using var server = await TestApi.StartAsync(o => o.WatchListCompression = true);
        using var client = TestApi.Client(server);
        SeedBigPods(server, "big", 400);

        // Initial ADDED events well over the threshold, and gzip accepted: still plain.
        var (response, reader) = await OpenWatchAsync(client, "/api/v1/namespaces/big/pods?watch=true&allowWatchBookmarks=true");
        using (response)
        using (reader)
        {
            Assert.Empty(response.Content.Headers.ContentEncoding);
            Assert.DoesNotContain("Accept-Encoding", response.Headers.Vary);
            for (var i = 0; i < 400; i++)
            {
                Assert.Equal("ADDED", (await NextEventAsync(reader)).Type());
            }
        }

        Assert.Equal(0, server.GzippedResponses);
    }

    [Theory]
    [InlineData(false, true, "gzip")] // v1.36: WatchListCompression off
    [InlineData(true, false, "gzip")] // sendInitialEvents without bookmarks is not a watch-list request upstream
    [InlineData(true, true, null)] // the client does not accept gzip
    public async Task A_watch_list_is_plain_unless_compression_is_on_and_accepted(bool watchListCompression, bool bookmarks, string? acceptEncoding)
    {
        await using var server = await TestApi.StartAsync(o => o.WatchListCompression = watchListCompression);
        using var client = TestApi.Client(server);
        SeedBigPods(server, "wl", 3);

        var (response, reader) = await OpenWatchAsync(client,
            $"/api/v1/namespaces/wl/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks={(bookmarks ? "true" : "false")}", acceptEncoding);
        using (response)
        using (reader)
        {
            Assert.Empty(response.Content.Headers.ContentEncoding);
            Assert.Equal(["pod-0000", "pod-0001", "pod-0002"], [(await NextEventAsync(reader)).ObjectName(), (await NextEventAsync(reader)).ObjectName(), (await NextEventAsync(reader)).ObjectName()]);
        }

        Assert.Equal(0, server.GzippedResponses);
    }

    [Fact]
    public async Task A_compressed_watch_list_delivers_each_flushed_batch_at_once()
    {
        // ResponseCompression off: the watch-list decision is WatchListCompression's alone, as with the two feature gates.
        await using var server = await TestApi.StartAsync(o => (o.WatchListCompression, o.ResponseCompression) = (true, false));
        using var client = TestApi.Client(server);
        SeedBigPods(server, "wl", 2);

        var (response, reader) = await OpenWatchAsync(client, "/api/v1/namespaces/wl/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true");
        using (response)
        using (reader)
        {
            // Compressed whatever the size: two small pods.
            Assert.Equal(["gzip"], response.Content.Headers.ContentEncoding);
            Assert.Contains("Accept-Encoding", response.Headers.Vary);
            var first = await NextEventAsync(reader);
            var second = await NextEventAsync(reader);
            Assert.Equal([("ADDED", "pod-0000"), ("ADDED", "pod-0001")], [(first.Type(), first.ObjectName()), (second.Type(), second.ObjectName())]);
            var end = await NextEventAsync(reader);
            Assert.Equal("BOOKMARK", end.Type());
            Assert.Equal("true", end.Object()["metadata"]!["annotations"]!["k8s.io/initial-events-end"]!.GetValue<string>());

            // The end bookmark was decodable with nothing sent after it; only now (the signal) does the next event exist.
            for (var i = 0; i < 3; i++)
            {
                server.Objects.Create(ApiResourceDefinition.Pods, TestApi.Pod($"live-{i}", "wl"));
                var live = await NextEventAsync(reader);
                Assert.Equal(("ADDED", $"live-{i}"), (live.Type(), live.ObjectName()));
            }
        }

        Assert.Equal(1, server.GzippedResponses);
    }

    [Fact]
    public async Task A_big_compressed_watch_list_is_many_gzip_members_that_decode_as_one_stream()
    {
        await using var server = await TestApi.StartAsync(o => o.WatchListCompression = true);
        using var client = TestApi.Client(server);
        SeedBigPods(server, "wl", 400);

        var (response, reader) = await OpenWatchAsync(client, "/api/v1/namespaces/wl/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true");
        using (response)
        using (reader)
        {
            Assert.Equal(["gzip"], response.Content.Headers.ContentEncoding);
            var names = new List<string>();
            for (var i = 0; i < 400; i++)
            {
                var e = await NextEventAsync(reader);
                Assert.Equal("ADDED", e.Type());
                names.Add(e.ObjectName());
            }

            Assert.Equal(Enumerable.Range(0, 400).Select(i => $"pod-{i:D4}"), names);
            Assert.Equal("BOOKMARK", (await NextEventAsync(reader)).Type());
        }

        // The raw body: several complete members (one per 64 KiB flush), each starting with the gzip magic.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/namespaces/wl/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1");
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip");
        using var raw = await client.SendAsync(request).WaitAsync(TestApi.Guard);
        var body = await raw.Content.ReadAsByteArrayAsync().WaitAsync(TestApi.Guard);
        Assert.True(CountGzipMembers(body) >= 3, $"members: {CountGzipMembers(body)}");
        Assert.Equal(401, Encoding.UTF8.GetString(Gunzip(body)).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length); // 400 ADDED and the end bookmark (no pre-timeout bookmark: nothing changed)
    }

    /// <summary>Counts concatenated gzip members by decoding one at a time (a member ends where its inflater stops).</summary>
    private static int CountGzipMembers(byte[] body)
    {
        var members = 0;
        var offset = 0;
        while (offset < body.Length)
        {
            Assert.Equal([0x1f, 0x8b], body[offset..(offset + 2)]);
            members++;
            var next = body.AsSpan(offset + 2).IndexOf([(byte)0x1f, (byte)0x8b, (byte)0x08]);
            offset = next < 0 ? body.Length : offset + 2 + next;
        }

        return members;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_informer_syncs_1200_pods_from_a_compressing_server(bool useWatchList)
    {
        await using var h = await IntegrationHarness.StartAsync(o => o with { UseWatchList = useWatchList }, configureServer: o => o.WatchListCompression = true, start: false);
        for (var i = 0; i < 1200; i++)
        {
            h.CreatePod($"p{i:D4}", "ns" + (i % 4));
        }

        h.Start();
        await h.Informer.WaitForSyncAsync().WaitAsync(IntegrationHarness.Guard);
        Assert.Equal(1200, h.Informer.Indexer.Count);
        Assert.Equal(h.ServerPods(), h.CachedPods());
        Assert.True(h.Server.GzippedResponses >= 1, "the informer's client must have been sent gzip");

        h.CreatePod("late");
        await h.Events.UntilAsync(e => e.StartsWith("add ns/late", StringComparison.Ordinal));
    }
}
