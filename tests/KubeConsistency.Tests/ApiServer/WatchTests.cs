using System.Net;
using System.Text.Json.Nodes;
using KubeConsistency.Testing;

namespace KubeConsistency.Tests.ApiServer;

/// <summary>WATCH semantics and framing against the wire samples (wire/watch).</summary>
public sealed class WatchTests
{
    private static Task<EmbeddedApiServer> StartWithClock(ManualTimeProvider clock, Action<EmbeddedApiServerOptions>? more = null)
        => TestApi.StartAsync(o =>
        {
            o.TimeProvider = clock;
            more?.Invoke(o);
        });

    [WireFact]
    public async Task Watch_from_a_resourceVersion_replays_later_events_in_wire_framing()
    {
        var clock = new ManualTimeProvider();
        await using var server = await StartWithClock(clock);
        using var client = TestApi.Client(server);
        TestApi.SeedPods(server, "wire", "alpha", "beta", "gamma");
        var rv0 = server.CurrentResourceVersion;
        TestApi.SeedPods(server, "wire", "delta");
        server.Objects.Patch(ApiResourceDefinition.Pods, "wire", "alpha", """{"metadata":{"labels":{"tier":"fe"}}}""");
        server.Objects.Delete(ApiResourceDefinition.Pods, "wire", "beta");
        server.Objects.Create(ApiResourceDefinition.ConfigMaps, TestApi.ConfigMap("tick", "wire-other"));

        await using var watch = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/wire/pods?watch=true&resourceVersion={rv0}&timeoutSeconds=25");
        await clock.WaitForTimersAsync(1).WaitAsync(TestApi.Guard); // the server has armed its watch timers: advancing now reaches them
        Assert.Equal(HttpStatusCode.OK, watch.Response.StatusCode);
        Assert.Equal("application/json", watch.Response.Content.Headers.ContentType!.MediaType);
        Assert.True(watch.Response.Headers.TransferEncodingChunked);

        var events = new List<JsonObject>();
        for (var i = 0; i < 4; i++)
        {
            events.Add(await watch.NextAsync());
        }

        clock.Advance(TimeSpan.FromSeconds(25));
        Assert.Null(await watch.ReadLineAsync());

        var wireTypes = WireSamples.Lines("watch/pods-watch-bookmarks.ndjson").Select(l => TestApi.Parse(l).Type()).Where(t => t != "BOOKMARK");
        Assert.Equal(wireTypes, events.Select(e => e.Type()));
        Assert.Equal(["delta", "alpha", "beta", "beta"], events.Select(e => e.ObjectName()));
        Assert.All(events, e => Assert.Equal(["type", "object"], e.Select(kv => kv.Key)));
        Assert.All(events, e => Assert.Equal(["kind", "apiVersion", "metadata", "spec", "status"], e.Object().Select(kv => kv.Key)));
        var modified = events[2].Object()["metadata"]!;
        Assert.NotNull(modified["deletionTimestamp"]);
        Assert.Equal(0, modified["deletionGracePeriodSeconds"]!.GetValue<int>());
        Assert.Equal(long.Parse(events[2].ObjectRv(), System.Globalization.CultureInfo.InvariantCulture) + 1, long.Parse(events[3].ObjectRv(), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Watch_lines_are_compact_and_newline_terminated_even_for_curl()
    {
        var clock = new ManualTimeProvider();
        await using var server = await StartWithClock(clock);
        using var client = TestApi.Client(server, "curl/8.5.0");
        TestApi.SeedPods(server, "ns", "a", "b");
        await using var watch = await WatchReader.OpenAsync(client, "/api/v1/namespaces/ns/pods?watch=1&pretty=true&timeoutSeconds=5");
        await clock.WaitForTimersAsync(1).WaitAsync(TestApi.Guard); // the server has armed its watch timers: advancing now reaches them
        clock.Advance(TimeSpan.FromSeconds(5));
        var body = await watch.ReadRestAsync();
        var lines = body.Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.Equal("", lines[2]);
        Assert.StartsWith("{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"a\"", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"b\"", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_without_resourceVersion_starts_with_the_current_state()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        TestApi.SeedPods(server, "ns", "b", "a");
        TestApi.SeedPods(server, "elsewhere", "x");
        await using var watch = await WatchReader.OpenAsync(client, "/api/v1/namespaces/ns/pods?watch=true");
        Assert.Equal(("ADDED", "a"), (await watch.NextAsync()) is var e1 ? (e1.Type(), e1.ObjectName()) : default);
        Assert.Equal(("ADDED", "b"), (await watch.NextAsync()) is var e2 ? (e2.Type(), e2.ObjectName()) : default);
        TestApi.SeedPods(server, "elsewhere", "y");
        TestApi.SeedPods(server, "ns", "c");
        var live = await watch.NextAsync();
        Assert.Equal(("ADDED", "c"), (live.Type(), live.ObjectName()));
    }

    [WireFact]
    public async Task Bookmarks_carry_the_global_revision_in_the_wire_shape()
    {
        var clock = new ManualTimeProvider();
        await using var server = await StartWithClock(clock, o => o.BookmarkInterval = TimeSpan.FromSeconds(60));
        using var client = TestApi.Client(server);
        TestApi.SeedPods(server, "wire", "alpha");
        var rv0 = server.CurrentResourceVersion;
        await using var watch = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/wire/pods?watch=true&allowWatchBookmarks=true&resourceVersion={rv0}");
        await clock.WaitForTimersAsync(1).WaitAsync(TestApi.Guard); // the server has armed its watch timers: advancing now reaches them

        // A write to another resource in another namespace moves the bookmark revision.
        server.Objects.Create(ApiResourceDefinition.ConfigMaps, TestApi.ConfigMap("tick1", "wire-other"));
        var rv = server.CurrentResourceVersion;
        clock.Advance(TimeSpan.FromSeconds(60));
        var wireBookmark = WireSamples.Lines("watch/pods-watch-bookmarks.ndjson")[^1].Replace("\"40\"", $"\"{rv}\"", StringComparison.Ordinal);
        Assert.Equal(wireBookmark, await watch.ReadLineAsync());

        // The same revision is repeated while nothing changes.
        await clock.WaitForTimerDueInAsync(TimeSpan.FromSeconds(60)).WaitAsync(TestApi.Guard); // re-armed for the next bookmark
        clock.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(wireBookmark, await watch.ReadLineAsync());
    }

    [Fact]
    public async Task No_bookmark_is_sent_when_nothing_changed_or_bookmarks_were_not_requested()
    {
        var clock = new ManualTimeProvider();
        await using var server = await StartWithClock(clock, o => o.BookmarkInterval = TimeSpan.FromSeconds(1));
        using var client = TestApi.Client(server);
        var rv = server.CurrentResourceVersion;
        await using var quiet = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/wire/pods?watch=true&allowWatchBookmarks=true&resourceVersion={rv}&timeoutSeconds=8");
        await using var noBookmarks = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/wire/pods?watch=true&resourceVersion={rv}&timeoutSeconds=9");
        await clock.WaitForTimersAsync(2).WaitAsync(TestApi.Guard); // the server has armed its watch timers: advancing now reaches them
        clock.Advance(TimeSpan.FromSeconds(8));
        Assert.Empty(await quiet.ReadToEndAsync());

        server.Objects.Create(ApiResourceDefinition.ConfigMaps, TestApi.ConfigMap("tick", "other"));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(await noBookmarks.ReadToEndAsync());
    }

    [Fact]
    public async Task A_bookmark_precedes_the_timeout_which_ends_the_body_cleanly()
    {
        var clock = new ManualTimeProvider();
        await using var server = await StartWithClock(clock);
        using var client = TestApi.Client(server);
        var rv0 = server.CurrentResourceVersion;
        await using var watch = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/wire/pods?watch=true&allowWatchBookmarks=true&resourceVersion={rv0}&timeoutSeconds=25");
        await clock.WaitForTimersAsync(1).WaitAsync(TestApi.Guard); // the server has armed its watch timers: advancing now reaches them
        server.Objects.Create(ApiResourceDefinition.ConfigMaps, TestApi.ConfigMap("tick", "other"));
        clock.Advance(TimeSpan.FromSeconds(23));
        var bookmark = await watch.NextAsync();
        Assert.Equal("BOOKMARK", bookmark.Type());
        Assert.Equal(server.CurrentResourceVersion, bookmark.ObjectRv());
        await clock.WaitForTimerDueInAsync(TimeSpan.FromSeconds(2)).WaitAsync(TestApi.Guard); // re-armed for the deadline
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Null(await watch.ReadLineAsync());
    }

    [WireFact]
    public async Task Watch_list_streams_initial_events_an_end_bookmark_then_live_events()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        TestApi.SeedPods(server, "wire", "web-g6qrn", "gamma", "alpha", "delta");
        TestApi.SeedPods(server, "wire-other", "noise");
        var rv = server.CurrentResourceVersion;
        await using var watch = await WatchReader.OpenAsync(client, "/api/v1/namespaces/wire/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=8");
        var initial = new List<JsonObject>();
        for (var i = 0; i < 4; i++)
        {
            initial.Add(await watch.NextAsync());
        }

        Assert.All(initial, e => Assert.Equal("ADDED", e.Type()));
        Assert.Equal(["alpha", "delta", "gamma", "web-g6qrn"], initial.Select(e => e.ObjectName()));
        var wireEnd = WireSamples.Lines("watch/pods-watchlist.ndjson")[4].Replace("\"40\"", $"\"{rv}\"", StringComparison.Ordinal);
        Assert.Equal(wireEnd, await watch.ReadLineAsync());

        TestApi.SeedPods(server, "wire", "epsilon");
        var live = await watch.NextAsync();
        Assert.Equal(("ADDED", "epsilon"), (live.Type(), live.ObjectName()));
    }

    [WireFact]
    public async Task Watch_list_without_bookmarks_has_no_end_marker()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        TestApi.SeedPods(server, "wire", "alpha", "delta");
        await using var watch = await WatchReader.OpenAsync(client, "/api/v1/namespaces/wire/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=4");
        Assert.Equal("alpha", (await watch.NextAsync()).ObjectName());
        Assert.Equal("delta", (await watch.NextAsync()).ObjectName());
        TestApi.SeedPods(server, "wire", "epsilon");
        var next = await watch.NextAsync();
        Assert.Equal(("ADDED", "epsilon"), (next.Type(), next.ObjectName()));
        Assert.DoesNotContain(WireSamples.Lines("watch/pods-watchlist-without-allowWatchBookmarks.ndjson"), l => l.Contains("BOOKMARK", StringComparison.Ordinal));
    }

    [WireFact]
    public async Task A_watch_from_a_compacted_revision_gets_200_and_one_ERROR_event()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        TestApi.SeedPods(server, "wire", "alpha");
        var old = server.CurrentResourceVersion;
        TestApi.SeedPods(server, "wire", "beta");
        var compacted = server.Faults.CompactHistory();
        Assert.Equal(server.CurrentResourceVersion, compacted);

        await using var watch = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/wire/pods?watch=true&allowWatchBookmarks=true&resourceVersion={old}&timeoutSeconds=10");
        Assert.Equal(HttpStatusCode.OK, watch.Response.StatusCode);
        var expected = WireSamples.Lines("watch/pods-watch-410-after-restart.ndjson")[0].Replace("40 (45)", $"{old} ({compacted})", StringComparison.Ordinal);
        Assert.Equal(expected, await watch.ReadLineAsync());
        Assert.Null(await watch.ReadLineAsync());

        // From the compacted revision itself the watch is fine.
        await using var fresh = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/wire/pods?watch=true&resourceVersion={compacted}");
        TestApi.SeedPods(server, "wire", "gamma");
        Assert.Equal("gamma", (await fresh.NextAsync()).ObjectName());
    }

    [Fact]
    public async Task Objects_entering_or_leaving_a_selector_are_added_or_deleted()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        var rv0 = server.CurrentResourceVersion;
        await using var watch = await WatchReader.OpenAsync(client, $"/api/v1/pods?watch=true&labelSelector=app%3Dweb&resourceVersion={rv0}");
        server.Objects.Create(ApiResourceDefinition.Pods, TestApi.Pod("a", "ns", new() { ["app"] = "web" }));
        server.Objects.Patch(ApiResourceDefinition.Pods, "ns", "a", """{"metadata":{"labels":{"app":"db"}}}""");
        var rvLeave = server.CurrentResourceVersion;
        server.Objects.Patch(ApiResourceDefinition.Pods, "ns", "a", """{"metadata":{"labels":{"app":"web"}}}""");
        server.Objects.Create(ApiResourceDefinition.Pods, TestApi.Pod("b", "ns", new() { ["app"] = "db" }));
        server.Objects.Patch(ApiResourceDefinition.Pods, "ns", "a", """{"metadata":{"labels":{"extra":"1"}}}""");
        server.Objects.Create(ApiResourceDefinition.Pods, TestApi.Pod("c", "other", new() { ["app"] = "web" }));

        var events = new List<JsonObject>();
        for (var i = 0; i < 5; i++)
        {
            events.Add(await watch.NextAsync());
        }

        Assert.Equal(["ADDED a", "DELETED a", "ADDED a", "MODIFIED a", "ADDED c"], events.Select(e => e.Type() + " " + e.ObjectName()));
        var deleted = events[1].Object();
        Assert.Equal(rvLeave, deleted["metadata"]!["resourceVersion"]!.GetValue<string>());
        Assert.Equal("web", deleted["metadata"]!["labels"]!["app"]!.GetValue<string>());
    }

    [WireFact]
    public async Task Table_watch_sends_column_definitions_only_in_the_first_event()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server, "kubectl/v1.32.4 (linux/amd64) kubernetes/4cb5f07");
        var rv0 = server.CurrentResourceVersion;
        await using var watch = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/wire/pods?resourceVersion={rv0}&watch=true", TestApi.TableAccept);
        TestApi.SeedPods(server, "wire", "eta");
        server.Objects.Patch(ApiResourceDefinition.Pods, "wire", "eta", """{"metadata":{"labels":{"x":"y"}}}""");
        server.Objects.Delete(ApiResourceDefinition.Pods, "wire", "eta");

        var events = new List<JsonObject>();
        for (var i = 0; i < 4; i++)
        {
            events.Add(await watch.NextAsync());
        }

        var wire = WireSamples.Lines("watch/pods-watch-table.ndjson").Select(TestApi.Parse).ToList();
        Assert.Equal(wire.Select(e => e.Type()), events.Select(e => e.Type()));
        TestApi.AssertJsonEqual(wire[0].Object()["columnDefinitions"], events[0].Object()["columnDefinitions"]);
        Assert.All(events.Skip(1), e => Assert.Equal("null", e.Object()["columnDefinitions"]?.ToJsonString() ?? "null"));
        Assert.Contains("\"columnDefinitions\":null", events[1].ToJsonString(), StringComparison.Ordinal);
        foreach (var (e, w) in events.Zip(wire))
        {
            var table = e.Object();
            Assert.Equal("Table", table["kind"]!.GetValue<string>());
            Assert.Equal(table["rows"]![0]!["object"]!["metadata"]!["resourceVersion"]!.GetValue<string>(), table["metadata"]!["resourceVersion"]!.GetValue<string>());
            var cells = table["rows"]![0]!["cells"]!.AsArray().Select(c => c!.ToJsonString()).ToList();
            var wireCells = w.Object()["rows"]![0]!["cells"]!.AsArray().Select(c => c!.ToJsonString()).ToList();
            Assert.Equal(wireCells.Where((_, i) => i != 4), cells.Where((_, i) => i != 4)); // all but Age
        }
    }

    [Fact]
    public async Task A_slow_watcher_is_cut_off_without_blocking_writers_and_can_resume()
    {
        await using var server = await TestApi.StartAsync(o => o.WatchBufferSize = 16);
        using var client = TestApi.Client(server);
        var rv0 = server.CurrentResourceVersion;
        await using var watch = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/flood/configmaps?watch=true&resourceVersion={rv0}");
        var filler = new string('x', 8 * 1024);
        const int total = 3000;
        for (var i = 0; i < total; i++)
        {
            server.Objects.Create(ApiResourceDefinition.ConfigMaps, TestApi.ConfigMap($"cm-{i:D5}", "flood", new() { ["v"] = filler }));
        }

        // All writes completed although nobody read the stream; the stream was ended instead.
        var received = await watch.ReadToEndAsync();
        Assert.InRange(received.Count, 1, total - 1);
        Assert.Equal(0, server.Faults.GetOpenWatchCount("", "configmaps"));

        // The client resumes from its last revision and gets exactly the rest.
        var last = received[^1].ObjectRv();
        await using var resumed = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/flood/configmaps?watch=true&resourceVersion={last}");
        var rest = 0;
        while (rest < total - received.Count)
        {
            await resumed.NextAsync();
            rest++;
        }

        Assert.Equal(total, received.Count + rest);
    }

    [Fact]
    public async Task A_watch_from_a_future_revision_starts_there()
    {
        await using var server = await TestApi.StartAsync(o => o.FutureResourceVersionWait = TimeSpan.Zero);
        using var client = TestApi.Client(server);
        var future = long.Parse(server.CurrentResourceVersion, System.Globalization.CultureInfo.InvariantCulture) + 2;
        await using var watch = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/ns/pods?watch=true&resourceVersion={future}");
        TestApi.SeedPods(server, "ns", "skipped-1", "skipped-2", "seen");
        Assert.Equal("seen", (await watch.NextAsync()).ObjectName());

        // A watch-list that cannot reach the requested revision ends with an ERROR event (504 ResourceVersionTooLarge).
        await using var list = await WatchReader.OpenAsync(client, "/api/v1/namespaces/ns/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion=999999");
        Assert.Equal(HttpStatusCode.OK, list.Response.StatusCode);
        var error = await list.NextAsync();
        Assert.Equal(("ERROR", 504), (error.Type(), error.Object()["code"]!.GetValue<int>()));
        Assert.Null(await list.ReadLineAsync());
    }

    [Fact]
    public async Task A_watch_on_a_named_object_sees_only_that_object()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        var rv0 = server.CurrentResourceVersion;
        await using var watch = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/ns/pods/b?watch=true&resourceVersion={rv0}");
        TestApi.SeedPods(server, "ns", "a", "b", "c");
        server.Objects.Patch(ApiResourceDefinition.Pods, "ns", "b", """{"metadata":{"labels":{"x":"y"}}}""");
        Assert.Equal("ADDED b", (await watch.NextAsync()) is var e1 ? e1.Type() + " " + e1.ObjectName() : "");
        Assert.Equal("MODIFIED b", (await watch.NextAsync()) is var e2 ? e2.Type() + " " + e2.ObjectName() : "");
    }

    [Fact]
    public async Task Stopping_the_server_ends_open_watches_cleanly()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        TestApi.SeedPods(server, "ns", "a");
        await using var watch = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/ns/pods?watch=true&resourceVersion={server.CurrentResourceVersion}");
        await server.Faults.WaitForOpenWatchesAsync("", "pods").WaitAsync(TestApi.Guard);
        await server.StopAsync();
        Assert.Empty(await watch.ReadToEndAsync());
    }
}
