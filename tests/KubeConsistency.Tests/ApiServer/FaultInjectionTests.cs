using System.Net;
using KubeConsistency.Testing;

namespace KubeConsistency.Tests.ApiServer;

/// <summary>Run-time fault injection: lagging watches, dropped streams, failing requests, stop and restart.</summary>
public sealed class FaultInjectionTests
{
    [Fact]
    public async Task Watch_delay_holds_events_back_until_the_clock_reaches_them_in_order()
    {
        var clock = new ManualTimeProvider();
        await using var server = await TestApi.StartAsync(o => o.TimeProvider = clock);
        using var client = TestApi.Client(server);
        server.Faults.SetWatchDelay("", "pods", TimeSpan.FromSeconds(5));
        Assert.Equal(TimeSpan.FromSeconds(5), server.Faults.GetWatchDelay("", "pods"));
        await using var watch = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/ns/pods?watch=true&resourceVersion={server.CurrentResourceVersion}");

        TestApi.SeedPods(server, "ns", "p1");
        await server.Faults.WaitForDelayedWatchStreamsAsync(1).WaitAsync(TestApi.Guard);
        var first = watch.NextAsync();
        clock.Advance(TimeSpan.FromSeconds(4));
        TestApi.SeedPods(server, "ns", "p2");
        Assert.False(first.IsCompleted);
        Assert.Equal(1, server.Faults.DelayedWatchStreamCount);

        // Other resources are not delayed.
        await using var cmWatch = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/ns/configmaps?watch=true&resourceVersion={server.CurrentResourceVersion}");
        server.Objects.Create(ApiResourceDefinition.ConfigMaps, TestApi.ConfigMap("fast", "ns"));
        Assert.Equal("fast", (await cmWatch.NextAsync()).ObjectName());
        Assert.False(first.IsCompleted);

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("p1", (await first).ObjectName());
        await server.Faults.WaitForDelayedWatchStreamsAsync(1).WaitAsync(TestApi.Guard);
        var second = watch.NextAsync();
        Assert.False(second.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal("p2", (await second).ObjectName());

        // Clearing the delay releases held events at once.
        server.Faults.SetWatchDelay("", "pods", TimeSpan.FromHours(1));
        TestApi.SeedPods(server, "ns", "p3");
        await server.Faults.WaitForDelayedWatchStreamsAsync(1).WaitAsync(TestApi.Guard);
        server.Faults.SetWatchDelay("", "pods", TimeSpan.Zero);
        Assert.Equal("p3", (await watch.NextAsync()).ObjectName());
        TestApi.SeedPods(server, "ns", "p4");
        Assert.Equal("p4", (await watch.NextAsync()).ObjectName());
    }

    [Fact]
    public async Task Bookmarks_never_overtake_delayed_events()
    {
        var clock = new ManualTimeProvider();
        await using var server = await TestApi.StartAsync(o =>
        {
            o.TimeProvider = clock;
            o.BookmarkInterval = TimeSpan.FromSeconds(1);
        });
        using var client = TestApi.Client(server);
        server.Faults.SetWatchDelay("", "pods", TimeSpan.FromSeconds(10));
        await using var watch = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/ns/pods?watch=true&allowWatchBookmarks=true&resourceVersion={server.CurrentResourceVersion}");
        TestApi.SeedPods(server, "ns", "slow");
        var podRv = server.CurrentResourceVersion;
        await server.Faults.WaitForDelayedWatchStreamsAsync(1).WaitAsync(TestApi.Guard);
        server.Objects.Create(ApiResourceDefinition.ConfigMaps, TestApi.ConfigMap("other", "ns"));
        for (var i = 0; i < 10; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
        }

        var first = await watch.NextAsync();
        Assert.Equal(("ADDED", podRv), (first.Type(), first.ObjectRv()));
        var bookmark = await watch.NextAsync();
        Assert.Equal("BOOKMARK", bookmark.Type());
        Assert.True(long.Parse(bookmark.ObjectRv(), System.Globalization.CultureInfo.InvariantCulture) >= long.Parse(podRv, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Dropped_watches_end_cleanly_after_N_events()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        TestApi.SeedPods(server, "ns", "a", "b", "c");
        server.Faults.DropWatchesAfter(2, "", "pods");

        await using (var watch = await WatchReader.OpenAsync(client, "/api/v1/namespaces/ns/pods?watch=true"))
        {
            var events = await watch.ReadToEndAsync();
            Assert.Equal(["a", "b"], events.Select(e => e.ObjectName()));
        }

        Assert.Equal(1, server.Faults.DroppedWatchCount);

        // Other resources are not affected.
        server.Objects.Create(ApiResourceDefinition.ConfigMaps, TestApi.ConfigMap("x", "ns"));
        server.Objects.Create(ApiResourceDefinition.ConfigMaps, TestApi.ConfigMap("y", "ns"));
        server.Objects.Create(ApiResourceDefinition.ConfigMaps, TestApi.ConfigMap("z", "ns"));
        await using (var cms = await WatchReader.OpenAsync(client, "/api/v1/namespaces/ns/configmaps?watch=true"))
        {
            for (var i = 0; i < 3; i++)
            {
                await cms.NextAsync();
            }
        }

        server.Faults.ClearWatchDrops();
        await using var open = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/ns/pods?watch=true&resourceVersion={server.CurrentResourceVersion}");
        TestApi.SeedPods(server, "ns", "d", "e", "f");
        Assert.Equal("d", (await open.NextAsync()).ObjectName());
        Assert.Equal("e", (await open.NextAsync()).ObjectName());
        Assert.Equal("f", (await open.NextAsync()).ObjectName());

        // A rule applies to streams that are already open too: this one is past the limit and ends before its next event.
        server.Faults.DropWatchesAfter(1);
        TestApi.SeedPods(server, "ns", "g");
        Assert.Null(await open.ReadLineAsync());
        Assert.Equal(2, server.Faults.DroppedWatchCount);
    }

    [Fact]
    public async Task Failed_requests_carry_kube_Status_bodies_and_Retry_After()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        server.Faults.FailNextRequests(2);

        // Discovery is not failed by default.
        await TestApi.GetStringAsync(client, "/api");
        var (status, body, _) = await TestApi.SendAsync(client, HttpMethod.Get, "/api/v1/namespaces/ns/pods");
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"Internal error occurred: injected fault\",\"reason\":\"InternalError\",\"details\":{\"causes\":[{\"message\":\"injected fault\"}]},\"code\":500}\n", body);
        (status, _, _) = await TestApi.SendAsync(client, HttpMethod.Get, "/api/v1/namespaces/ns/pods");
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        (status, _, _) = await TestApi.SendAsync(client, HttpMethod.Get, "/api/v1/namespaces/ns/pods");
        Assert.Equal(HttpStatusCode.OK, status);

        server.Faults.FailNextRequests(1, 429, TimeSpan.FromSeconds(3), r => r.Verb == "create");
        await TestApi.GetStringAsync(client, "/api/v1/namespaces/ns/pods");
        var (tooMany, tooManyBody, response) = await TestApi.SendAsync(client, HttpMethod.Post, "/api/v1/namespaces/ns/configmaps", TestApi.ConfigMap("c").ToJsonString());
        Assert.Equal(HttpStatusCode.TooManyRequests, tooMany);
        Assert.Equal("3", response.Headers.GetValues("Retry-After").Single());
        var statusBody = TestApi.Parse(tooManyBody);
        Assert.Equal("TooManyRequests", statusBody["reason"]!.GetValue<string>());
        Assert.Equal(3, statusBody["details"]!["retryAfterSeconds"]!.GetValue<int>());
        await TestApi.CreateAsync(client, "/api/v1/namespaces/ns/configmaps", TestApi.ConfigMap("c"));
        Assert.Equal(3, server.Faults.InjectedFailureCount);

        server.Faults.FailNextRequests(5, 503);
        server.Faults.ClearFailures();
        await TestApi.GetStringAsync(client, "/api/v1/namespaces/ns/pods");
        Assert.Equal(5, server.Faults.GetRequestCount("list", "", "pods"));
        Assert.Equal(2, server.Faults.GetRequestCount("create", "", "configmaps"));
    }

    [Fact]
    public async Task Stop_and_restart_with_a_running_informer_end_its_watches_cleanly_without_aborting_connections()
    {
        // The informer re-watches at once on its kept-alive connection when the server ends its watch; that new watch
        // must end too, or Kestrel waits out its grace period and then resets the connection.
        await using var server = await TestApi.StartAsync();
        TestApi.SeedPods(server, "ns", "a");
        using var connection = KubeConsistency.Http.KubernetesConnection.ForServer(server.BaseAddress);
        var pods = connection.Resource(new KubeConsistency.Http.ResourceClientOptions<System.Text.Json.Nodes.JsonNode> { Resource = GroupVersionResource.Pods });
        var informer = KubeConsistency.Informers.SharedIndexInformer.Create(pods, new KubeConsistency.Informers.SharedIndexInformerOptions<System.Text.Json.Nodes.JsonNode> { Resource = GroupVersionResource.Pods });
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync().WaitAsync(TestApi.Guard);
        await server.Faults.WaitForOpenWatchesAsync("", "pods").WaitAsync(TestApi.Guard);

        await server.StopAsync().WaitAsync(TestApi.Guard);
        Assert.False(server.LastStopNeededAbort, "the stop had to abort connections: a watch outlived it");
        await server.RestartAsync().WaitAsync(TestApi.Guard);
        await server.Faults.WaitForOpenWatchesAsync("", "pods").WaitAsync(TestApi.Guard);
        await server.RestartAsync().WaitAsync(TestApi.Guard);
        Assert.False(server.LastStopNeededAbort, "the restart had to abort connections: a watch outlived it");

        await stop.CancelAsync();
        await run.WaitAsync(TestApi.Guard);
    }

    [Fact]
    public async Task A_watch_that_arrives_while_the_server_stops_ends_at_once()
    {
        // What an informer does on its kept-alive connection when the server ends its watch: it watches again at once.
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        TestApi.SeedPods(server, "ns", "a");
        HttpResponseMessage? late = null;
        server.TestHookBeforeKestrelStop = async () =>
        {
            late = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/api/v1/namespaces/ns/pods?watch=true&resourceVersion={server.CurrentResourceVersion}"), HttpCompletionOption.ResponseHeadersRead);
        };

        await server.StopAsync().WaitAsync(TestApi.Guard);
        Assert.False(server.LastStopNeededAbort, "the late watch outlived the stop, so Kestrel waited out its grace period and aborted it");
        Assert.NotNull(late);
        Assert.Equal(HttpStatusCode.OK, late.StatusCode);
        Assert.True(late.Headers.ConnectionClose);
        Assert.Equal(string.Empty, await late.Content.ReadAsStringAsync().WaitAsync(TestApi.Guard));
        late.Dispose();
    }

    [Fact]
    public async Task Stop_and_restart_keep_the_data_and_the_address()
    {
        await using var server = await TestApi.StartAsync();
        var address = server.BaseAddress;
        using (var client = TestApi.Client(server))
        {
            await TestApi.CreateAsync(client, "/api/v1/namespaces/ns/pods", TestApi.Pod("before"));
        }

        var oldRv = server.CurrentResourceVersion;
        await server.StopAsync();
        Assert.False(server.IsRunning);
        using (var client = TestApi.Client(server))
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("/api/v1/namespaces/ns/pods"));
        }

        TestApi.SeedPods(server, "ns", "while-stopped");
        await server.RestartAsync();
        Assert.Equal(address, server.BaseAddress);
        using var after = TestApi.Client(server);
        var list = await TestApi.GetJsonAsync(after, "/api/v1/namespaces/ns/pods");
        Assert.Equal(["before", "while-stopped"], list["items"]!.AsArray().Select(i => i!["metadata"]!["name"]!.GetValue<string>()));

        // Like a kube-apiserver restart, the watch window moved to the current revision.
        await using var watch = await WatchReader.OpenAsync(after, $"/api/v1/namespaces/ns/pods?watch=true&resourceVersion={oldRv}");
        var error = await watch.NextAsync();
        Assert.Equal("ERROR", error.Type());
        Assert.Equal(410, error.Object()["code"]!.GetValue<int>());
    }

    [Fact]
    public async Task Restart_without_compaction_lets_watches_resume()
    {
        await using var server = await TestApi.StartAsync(o => o.CompactOnRestart = false);
        TestApi.SeedPods(server, "ns", "a");
        var rv = server.CurrentResourceVersion;
        TestApi.SeedPods(server, "ns", "b");
        await server.RestartAsync();
        using var client = TestApi.Client(server);
        await using var watch = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/ns/pods?watch=true&resourceVersion={rv}");
        Assert.Equal("b", (await watch.NextAsync()).ObjectName());
    }

    [Fact]
    public async Task History_beyond_the_limit_is_compacted_automatically()
    {
        await using var server = await TestApi.StartAsync(o => o.WatchHistoryLimit = 10);
        using var client = TestApi.Client(server);
        var old = server.CurrentResourceVersion;
        for (var i = 0; i < 20; i++)
        {
            server.Objects.Create(ApiResourceDefinition.ConfigMaps, TestApi.ConfigMap($"c{i}", "ns"));
        }

        await using var expired = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/ns/configmaps?watch=true&resourceVersion={old}");
        Assert.Equal("ERROR", (await expired.NextAsync()).Type());
        var recent = long.Parse(server.CurrentResourceVersion, System.Globalization.CultureInfo.InvariantCulture) - 5;
        await using var fine = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/ns/configmaps?watch=true&resourceVersion={recent}");
        Assert.Equal("ADDED", (await fine.NextAsync()).Type());
    }
}
