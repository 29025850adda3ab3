using System.Text;
using System.Text.Json.Nodes;
using KubeConsistency.Client;
using KubeConsistency.Http;
using Microsoft.AspNetCore.Http;

namespace KubeConsistency.Tests.Client;

/// <summary>Watch decoding over real loopback HTTP, fed with the captured API server streams (wire/watch).</summary>
public sealed class WatchTests
{
    [WireFact]
    public async Task Bookmarks_stream_decodes_every_event_with_object_resource_versions()
    {
        var bytes = WireFixtures.Bytes("watch/pods-watch-bookmarks.ndjson");
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Lines(ctx, bytes));
        using var connection = Clients.Connect(server);
        var pods = connection.Resource(Clients.Pods());

        var events = await Clients.CollectAsync(pods.WatchAsync(new WatchOptions { ResourceVersion = "35", AllowWatchBookmarks = true, TimeoutSeconds = 25 })).WaitAsync(Clients.Guard);

        Assert.Equal(
            [(WatchEventType.Added, "36", "delta"), (WatchEventType.Modified, "37", "alpha"), (WatchEventType.Modified, "38", "beta"), (WatchEventType.Deleted, "39", "beta"), (WatchEventType.Bookmark, "40", null)],
            events.Select(e => (e.Type, e.ResourceVersion, e.Object?.Metadata?.Name)));
        Assert.All(events.Take(4), e => Assert.Equal(e.ResourceVersion, e.Object!.Metadata!.ResourceVersion));
        Assert.Null(events[4].Object);
        Assert.All(events, e => Assert.False(e.IsInitialEventsEnd));
        Assert.NotNull(events[2].Object!.Metadata!.DeletionTimestamp);

        var request = Assert.Single(server.Requests);
        Assert.Equal("GET", request.Method);
        Assert.Equal("/api/v1/namespaces/wire/pods?allowWatchBookmarks=true&resourceVersion=35&timeoutSeconds=25&watch=true", request.PathAndQuery);
        Assert.Equal("application/json", request.Header("Accept"));
        Assert.StartsWith("KubeConsistency/", request.Header("User-Agent"), StringComparison.Ordinal);
    }

    [WireFact]
    public async Task Watch_list_marks_the_initial_events_end_bookmark()
    {
        var bytes = WireFixtures.Bytes("watch/pods-watchlist.ndjson");
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Lines(ctx, bytes));
        using var connection = Clients.Connect(server);
        var pods = connection.Resource(Clients.Pods());

        var events = await Clients.CollectAsync(pods.WatchAsync(new WatchOptions
        {
            SendInitialEvents = true,
            ResourceVersionMatch = ResourceVersionMatch.NotOlderThan,
            AllowWatchBookmarks = true,
            TimeoutSeconds = 8,
        })).WaitAsync(Clients.Guard);

        Assert.Equal(
            [(WatchEventType.Added, "37", false), (WatchEventType.Added, "36", false), (WatchEventType.Added, "35", false), (WatchEventType.Added, "32", false),
             (WatchEventType.Bookmark, "40", true), (WatchEventType.Added, "41", false), (WatchEventType.Bookmark, "41", false)],
            events.Select(e => (e.Type, e.ResourceVersion, e.IsInitialEventsEnd)));
        Assert.Equal(
            "/api/v1/namespaces/wire/pods?allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&sendInitialEvents=true&timeoutSeconds=8&watch=true",
            Assert.Single(server.Requests).PathAndQuery);
    }

    [WireFact]
    public async Task Watch_list_without_bookmarks_has_no_end_marker()
    {
        var bytes = WireFixtures.Bytes("watch/pods-watchlist-without-allowWatchBookmarks.ndjson");
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Lines(ctx, bytes));
        using var connection = Clients.Connect(server);

        var events = await Clients.CollectAsync(connection.Resource(Clients.Pods()).WatchAsync(new WatchOptions { SendInitialEvents = true })).WaitAsync(Clients.Guard);

        Assert.Equal(5, events.Count);
        Assert.All(events, e => Assert.Equal(WatchEventType.Added, e.Type));
        Assert.DoesNotContain(events, e => e.IsInitialEventsEnd);
    }

    [WireFact]
    public async Task Error_410_event_throws_ResourceExpiredException()
    {
        var bytes = WireFixtures.Bytes("watch/pods-watch-410-after-restart.ndjson");
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Lines(ctx, bytes));
        using var connection = Clients.Connect(server);

        var ex = await Assert.ThrowsAsync<ResourceExpiredException>(
            () => Clients.CollectAsync(connection.Resource(Clients.Pods()).WatchAsync(new WatchOptions { ResourceVersion = "40" })).WaitAsync(Clients.Guard));

        Assert.Equal(410, (int)ex.StatusCode);
        Assert.Equal("Expired", ex.Reason);
        Assert.Equal("too old resource version: 40 (45)", ex.Message);
        Assert.NotNull(ex.Status);
    }

    [WireFact]
    public async Task Events_before_an_error_are_yielded_then_the_error_is_thrown()
    {
        var bytes = Concat(FirstLines("watch/pods-watch-bookmarks.ndjson", 2), WireFixtures.Bytes("watch/pods-watch-410-after-restart.ndjson"));
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Lines(ctx, bytes));
        using var connection = Clients.Connect(server);
        var seen = new List<string>();

        await Assert.ThrowsAsync<ResourceExpiredException>(async () =>
        {
            await foreach (var e in connection.Resource(Clients.Pods()).WatchAsync(new WatchOptions()))
            {
                seen.Add(e.ResourceVersion);
            }
        }).WaitAsync(Clients.Guard);

        Assert.Equal(["36", "37"], seen);
    }

    [WireFact]
    public async Task Table_objects_are_rejected_when_T_is_not_a_Table()
    {
        var bytes = WireFixtures.Bytes("watch/pods-watch-table.ndjson");
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Lines(ctx, bytes));
        using var connection = Clients.Connect(server);

        var ex = await Assert.ThrowsAsync<WatchDecodeException>(
            () => Clients.CollectAsync(connection.Resource(Clients.Pods()).WatchAsync(new WatchOptions())).WaitAsync(Clients.Guard));

        Assert.Contains("\"Pod\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("\"Table\"", ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("{\"type\":\"ADDED\",\"object\":{\"kind\":\"Table\"", ex.Line, StringComparison.Ordinal);
    }

    [WireFact]
    public async Task Table_objects_decode_when_the_client_expects_Tables()
    {
        var bytes = WireFixtures.Bytes("watch/pods-watch-table.ndjson");
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Lines(ctx, bytes));
        using var connection = Clients.Connect(server);
        var tables = connection.Resource(new ResourceClientOptions<JsonNode> { Resource = GroupVersionResource.Pods, Namespace = "wire", Kind = "Table" });

        var events = await Clients.CollectAsync(tables.WatchAsync(new WatchOptions())).WaitAsync(Clients.Guard);

        Assert.Equal(
            [(WatchEventType.Added, "66"), (WatchEventType.Modified, "67"), (WatchEventType.Modified, "68"), (WatchEventType.Deleted, "69")],
            events.Select(e => (e.Type, e.ResourceVersion)));
        Assert.Equal("eta", events[0].Object!["rows"]![0]!["cells"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task Empty_body_ends_the_watch_cleanly()
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Lines(ctx, []));
        using var connection = Clients.Connect(server);

        var events = await Clients.CollectAsync(connection.Resource(Clients.Pods()).WatchAsync(new WatchOptions())).WaitAsync(Clients.Guard);

        Assert.Empty(events);
    }

    [Fact]
    public async Task Blank_lines_and_CRLF_are_tolerated()
    {
        var body = "\n{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"5\"}}}\r\n  \n"u8.ToArray();
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Lines(ctx, body));
        using var connection = Clients.Connect(server);

        var events = await Clients.CollectAsync(connection.Resource(Clients.Pods()).WatchAsync(new WatchOptions())).WaitAsync(Clients.Guard);

        Assert.Equal("5", Assert.Single(events).ResourceVersion);
    }

    [Fact]
    public async Task Final_line_without_newline_is_accepted_when_complete()
    {
        var body = "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"5\"}}}"u8.ToArray();
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Lines(ctx, body));
        using var connection = Clients.Connect(server);

        var events = await Clients.CollectAsync(connection.Resource(Clients.Pods()).WatchAsync(new WatchOptions())).WaitAsync(Clients.Guard);

        Assert.Equal("a", Assert.Single(events).Object!.Metadata!.Name);
    }

    [Theory]
    [InlineData("{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"", "truncated line")]
    [InlineData("this is not json\n", "not valid JSON")]
    [InlineData("[1,2,3]\n", "not a JSON object")]
    [InlineData("{\"type\":\"RENAMED\",\"object\":{\"kind\":\"Pod\"}}\n", "unknown watch event type \"RENAMED\"")]
    [InlineData("{\"type\":\"ADDED\"}\n", "has no \"object\"")]
    [InlineData("{\"type\":\"ADDED\",\"object\":null}\n", "object is null")]
    [InlineData("{\"type\":\"ADDED\",\"object\":\"pod\"}\n", "is not a JSON object")]
    [InlineData("{\"object\":{\"kind\":\"Pod\"}}\n", "has no \"type\"")]
    [InlineData("{\"type\":7,\"object\":{\"kind\":\"Pod\"}}\n", "\"type\" is not a string")]
    [InlineData("{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\"}} trailing\n", "not valid JSON")]
    [InlineData("{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"spec\":{\"containers\":\"oops\"}}}\n", "could not be deserialized into TestPod")]
    [InlineData("{\"type\":\"ERROR\"}\n", "ERROR event without a Status object")]
    public async Task Malformed_lines_throw_WatchDecodeException(string body, string expected)
    {
        var good = "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"ok\",\"resourceVersion\":\"1\"}}}\n";
        var bytes = Encoding.UTF8.GetBytes(good + body);
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Lines(ctx, bytes));
        using var connection = Clients.Connect(server);
        var seen = 0;

        var ex = await Assert.ThrowsAsync<WatchDecodeException>(async () =>
        {
            await foreach (var e in connection.Resource(Clients.Pods()).WatchAsync(new WatchOptions()))
            {
                seen++;
            }
        }).WaitAsync(Clients.Guard);

        Assert.Equal(1, seen);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Equal(body.TrimEnd('\n'), ex.Line);
    }

    [Fact]
    public async Task Offending_line_is_truncated_to_a_safe_length()
    {
        var huge = "{\"type\":\"ADDED\",\"object\":" + new string('x', 100_000) + "}\n";
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Lines(ctx, Encoding.UTF8.GetBytes(huge)));
        using var connection = Clients.Connect(server);

        var ex = await Assert.ThrowsAsync<WatchDecodeException>(() => Clients.CollectAsync(connection.Resource(Clients.Pods()).WatchAsync(new WatchOptions())).WaitAsync(Clients.Guard));

        Assert.Equal(huge.Length - 1, ex.LineLength);
        Assert.True(ex.Line!.Length <= WatchDecodeException.MaxLineLength + 1);
        Assert.True(ex.Message.Length < 1000, ex.Message);
    }

    [Fact]
    public async Task Status_error_events_keep_code_reason_and_message()
    {
        var body = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"etcdserver: request timed out\",\"reason\":\"InternalError\",\"code\":500}}\n"u8.ToArray();
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Lines(ctx, body));
        using var connection = Clients.Connect(server);

        var ex = await Assert.ThrowsAsync<KubernetesApiException>(() => Clients.CollectAsync(connection.Resource(Clients.Pods()).WatchAsync(new WatchOptions())).WaitAsync(Clients.Guard));

        Assert.Equal(500, (int)ex.StatusCode);
        Assert.Equal("InternalError", ex.Reason);
        Assert.Equal("etcdserver: request timed out", ex.Message);
    }

    [Fact]
    public async Task Gone_reason_without_410_is_expired_too()
    {
        var body = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"gone\",\"reason\":\"Gone\"}}\n"u8.ToArray();
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Lines(ctx, body));
        using var connection = Clients.Connect(server);

        await Assert.ThrowsAsync<ResourceExpiredException>(() => Clients.CollectAsync(connection.Resource(Clients.Pods()).WatchAsync(new WatchOptions())).WaitAsync(Clients.Guard));
    }

    [Fact]
    public async Task Server_closing_mid_line_cleanly_is_a_truncated_line()
    {
        await using var server = await LoopbackServer.StartAsync(async (ctx, _) =>
        {
            await Respond.Lines(ctx, "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\"}}}\n{\"type\":\"ADDED\",\"obj"u8.ToArray());
        });
        using var connection = Clients.Connect(server);
        var seen = 0;

        var ex = await Assert.ThrowsAsync<WatchDecodeException>(async () =>
        {
            await foreach (var e in connection.Resource(Clients.Pods()).WatchAsync(new WatchOptions()))
            {
                seen++;
            }
        }).WaitAsync(Clients.Guard);

        Assert.Equal(1, seen);
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connection_aborted_mid_line_is_a_transport_error()
    {
        var firstSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await LoopbackServer.StartAsync(async (ctx, _) =>
        {
            await Respond.Lines(ctx, "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\"}}}\n{\"type\":\"ADDED\",\"obj"u8.ToArray());
            await firstSeen.Task.WaitAsync(Clients.Guard);
            ctx.Abort();
        });
        using var connection = Clients.Connect(server);
        var seen = 0;

        var ex = await Assert.ThrowsAsync<KubernetesTransportException>(async () =>
        {
            await foreach (var e in connection.Resource(Clients.Pods()).WatchAsync(new WatchOptions()))
            {
                seen++;
                firstSeen.TrySetResult();
            }
        }).WaitAsync(Clients.Guard);

        Assert.Equal(1, seen);
        Assert.NotNull(ex.InnerException);
    }

    [Fact]
    public async Task Cancellation_is_prompt_while_the_server_sends_nothing()
    {
        var requestArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await LoopbackServer.StartAsync(async (ctx, _) =>
        {
            await Respond.Lines(ctx, "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\"}}}\n"u8.ToArray());
            requestArrived.TrySetResult();
            await Task.WhenAny(release.Task, Task.Delay(Timeout.Infinite, ctx.RequestAborted));
        });
        using var connection = Clients.Connect(server);
        using var cts = new CancellationTokenSource();

        var watching = Task.Run(async () =>
        {
            await foreach (var e in connection.Resource(Clients.Pods()).WatchAsync(new WatchOptions(), cts.Token))
            {
                cts.Cancel(); // cancel while the next read waits on a silent server
            }
        });

        await requestArrived.Task.WaitAsync(Clients.Guard);
        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => watching.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(cts.Token, ex.CancellationToken);
        release.TrySetResult();
    }

    [Fact]
    public async Task Cancellation_before_headers_is_prompt()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await LoopbackServer.StartAsync(async (ctx, _) =>
        {
            arrived.TrySetResult();
            await Task.WhenAny(release.Task, Task.Delay(Timeout.Infinite, ctx.RequestAborted));
        });
        using var connection = Clients.Connect(server);
        using var cts = new CancellationTokenSource();

        var watching = Clients.CollectAsync(connection.Resource(Clients.Pods()).WatchAsync(new WatchOptions(), cts.Token));
        await arrived.Task.WaitAsync(Clients.Guard);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => watching.WaitAsync(TimeSpan.FromSeconds(10)));
        release.TrySetResult();
    }

    [Fact]
    public async Task Watch_establishment_errors_are_mapped()
    {
        var body = WireFixtures.Root is null
            ? "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"invalid\",\"reason\":\"Invalid\",\"code\":422}"
            : WireFixtures.Text("errors/422-watchlist-missing-resourceVersionMatch.json");
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 422, body));
        using var connection = Clients.Connect(server);

        var ex = await Assert.ThrowsAsync<KubernetesApiException>(() => Clients.CollectAsync(connection.Resource(Clients.Pods()).WatchAsync(new WatchOptions { SendInitialEvents = true })).WaitAsync(Clients.Guard));
        Assert.True(ex.IsInvalid);

        Assert.Equal(422, (int)ex.StatusCode);
    }

    [Fact]
    public async Task All_namespaces_and_selectors_build_the_expected_url()
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Lines(ctx, []));
        using var connection = Clients.Connect(server);
        var client = connection.Resource(new ResourceClientOptions<TestPod>
        {
            Resource = GroupVersionResource.ReplicaSets,
            LabelSelector = "app=web",
            FieldSelector = "metadata.name!=x",
        });

        await Clients.CollectAsync(client.WatchAsync(new WatchOptions { LabelSelector = "tier in (fe,be)", SendInitialEvents = false })).WaitAsync(Clients.Guard);

        Assert.Equal(
            "/apis/apps/v1/replicasets?fieldSelector=metadata.name%21%3Dx&labelSelector=app%3Dweb%2Ctier%20in%20%28fe%2Cbe%29&sendInitialEvents=false&watch=true",
            Assert.Single(server.Requests).PathAndQuery);
    }

    private static byte[] FirstLines(string file, int count)
    {
        var lines = WireFixtures.Text(file).Split('\n').Take(count);
        return Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n");
    }

    private static byte[] Concat(byte[] a, byte[] b) => [.. a, .. b];
}
