using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using KubeConsistency.Testing;

namespace KubeConsistency.Tests.ApiServer;

/// <summary>LIST semantics: snapshots, paging, continue tokens, resourceVersion rules and selectors (wire/list, wire/errors).</summary>
public sealed class ListTests
{
    private static readonly string[] s_names = ["alpha", "beta", "delta", "epsilon", "gamma", "web-g6qrn"];

    private static string DecodeToken(string token)
    {
        var padded = token.Replace('-', '+').Replace('_', '/');
        padded += new string('=', (4 - (padded.Length % 4)) % 4);
        return Encoding.UTF8.GetString(Convert.FromBase64String(padded));
    }

    private static List<string> Names(JsonObject list) => list["items"]!.AsArray().Select(i => i!["metadata"]!["name"]!.GetValue<string>()).ToList();

    [WireFact]
    public async Task Paging_returns_wire_shaped_pages_from_one_snapshot()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        TestApi.SeedPods(server, "wire", s_names);
        TestApi.SeedPods(server, "wire-other", "zulu");
        var rv = server.CurrentResourceVersion;

        var page1 = await TestApi.GetJsonAsync(client, "/api/v1/namespaces/wire/pods?limit=2");
        var wirePage1 = WireSamples.Json("list/pods-limit2-page1.json");
        Assert.Equal(wirePage1.Select(kv => kv.Key), page1.Select(kv => kv.Key));
        Assert.Equal(["resourceVersion", "continue", "remainingItemCount"], page1["metadata"]!.AsObject().Select(kv => kv.Key));
        Assert.Equal(rv, page1["metadata"]!["resourceVersion"]!.GetValue<string>());
        Assert.Equal(4, page1["metadata"]!["remainingItemCount"]!.GetValue<int>());
        Assert.Equal(["alpha", "beta"], Names(page1));
        var token = page1["metadata"]!["continue"]!.GetValue<string>();
        Assert.DoesNotContain("=", token, StringComparison.Ordinal);
        Assert.Equal($"{{\"v\":\"meta.k8s.io/v1\",\"rv\":{rv},\"start\":\"/beta\\u0000\"}}", DecodeToken(token));

        // Items carry no kind/apiVersion (like pods-rv0.json), but every other field.
        foreach (var item in page1["items"]!.AsArray())
        {
            Assert.Equal(["metadata", "spec", "status"], item!.AsObject().Select(kv => kv.Key));
        }

        // Writes between pages do not show up: the continuation reads the page-1 snapshot.
        server.Objects.Delete(ApiResourceDefinition.Pods, "wire", "delta");
        TestApi.SeedPods(server, "wire", "charlie");
        var page2 = await TestApi.GetJsonAsync(client, $"/api/v1/namespaces/wire/pods?limit=2&continue={token}");
        Assert.Equal(["delta", "epsilon"], Names(page2));
        Assert.Equal(rv, page2["metadata"]!["resourceVersion"]!.GetValue<string>());
        var page3 = await TestApi.GetJsonAsync(client, $"/api/v1/namespaces/wire/pods?limit=2&continue={page2["metadata"]!["continue"]!.GetValue<string>()}");
        Assert.Equal(["gamma", "web-g6qrn"], Names(page3));
        Assert.Equal(["resourceVersion"], page3["metadata"]!.AsObject().Select(kv => kv.Key));
    }

    [WireFact]
    public async Task ResourceVersion_0_ignores_limit_like_the_watch_cache()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        TestApi.SeedPods(server, "wire", s_names);
        var list = await TestApi.GetJsonAsync(client, "/api/v1/namespaces/wire/pods?limit=2&resourceVersion=0");
        Assert.Equal(6, list["items"]!.AsArray().Count);
        Assert.Equal(["resourceVersion"], list["metadata"]!.AsObject().Select(kv => kv.Key));
        Assert.Equal(WireSamples.Json("list/pods-limit2-rv0.json")["items"]!.AsArray().Count, list["items"]!.AsArray().Count);
    }

    [Fact]
    public async Task Exact_lists_return_the_snapshot_at_that_revision()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        TestApi.SeedPods(server, "ns", "a", "b");
        var before = server.CurrentResourceVersion;
        server.Objects.Patch(ApiResourceDefinition.Pods, "ns", "a", """{"metadata":{"labels":{"changed":"yes"}}}""");
        server.Objects.Delete(ApiResourceDefinition.Pods, "ns", "b");
        TestApi.SeedPods(server, "ns", "c");

        var old = await TestApi.GetJsonAsync(client, $"/api/v1/namespaces/ns/pods?resourceVersion={before}&resourceVersionMatch=Exact");
        Assert.Equal(before, old["metadata"]!["resourceVersion"]!.GetValue<string>());
        Assert.Equal(["a", "b"], Names(old));
        Assert.Null(old["items"]![0]!["metadata"]!["labels"]!["changed"]);

        var notOlder = await TestApi.GetJsonAsync(client, $"/api/v1/namespaces/ns/pods?resourceVersion={before}&resourceVersionMatch=NotOlderThan");
        Assert.Equal(server.CurrentResourceVersion, notOlder["metadata"]!["resourceVersion"]!.GetValue<string>());
        Assert.Equal(["a", "c"], Names(notOlder));
        Assert.Equal(["a", "c"], Names(await TestApi.GetJsonAsync(client, $"/api/v1/namespaces/ns/pods?resourceVersion={before}")));
    }

    [WireFact]
    public async Task Compaction_expires_continue_tokens_and_exact_lists_with_410()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        TestApi.SeedPods(server, "wire", s_names);
        var page1 = await TestApi.GetJsonAsync(client, "/api/v1/namespaces/wire/pods?limit=2");
        var token = page1["metadata"]!["continue"]!.GetValue<string>();
        var listRv = page1["metadata"]!["resourceVersion"]!.GetValue<string>();
        TestApi.SeedPods(server, "wire", "omega");
        server.Faults.CompactHistory();

        var (status, body, _) = await TestApi.SendAsync(client, HttpMethod.Get, $"/api/v1/namespaces/wire/pods?limit=2&continue={token}");
        Assert.Equal(HttpStatusCode.Gone, status);
        var expired = TestApi.Parse(body);
        var wire = WireSamples.Json("errors/410-continue-expired.json");
        Assert.Equal(wire["message"]!.GetValue<string>(), expired["message"]!.GetValue<string>());
        Assert.Equal("Expired", expired["reason"]!.GetValue<string>());
        Assert.Equal(410, expired["code"]!.GetValue<int>());
        var replacement = expired["metadata"]!["continue"]!.GetValue<string>();
        Assert.Contains("\"rv\":-1", DecodeToken(replacement), StringComparison.Ordinal);
        Assert.Contains("\"rv\":-1", DecodeToken(wire["metadata"]!["continue"]!.GetValue<string>()), StringComparison.Ordinal);

        // The replacement token continues at the current revision (an inconsistent list).
        var inconsistent = await TestApi.GetJsonAsync(client, $"/api/v1/namespaces/wire/pods?limit=2&continue={replacement}");
        Assert.Equal(server.CurrentResourceVersion, inconsistent["metadata"]!["resourceVersion"]!.GetValue<string>());
        Assert.Equal(["delta", "epsilon"], Names(inconsistent));

        Assert.Equal(WireSamples.Text("errors/410-exact-resourceVersion-expired.json"),
            await TestApi.GetStringAsync(client, $"/api/v1/namespaces/wire/pods?resourceVersion={listRv}&resourceVersionMatch=Exact", HttpStatusCode.Gone));
    }

    [WireFact]
    public async Task Future_resourceVersion_times_out_with_504_and_Retry_After()
    {
        await using var server = await TestApi.StartAsync(o => o.FutureResourceVersionWait = TimeSpan.Zero);
        using var client = TestApi.Client(server);
        var (status, body, response) = await TestApi.SendAsync(client, HttpMethod.Get, "/api/v1/namespaces/wire/pods?resourceVersion=100000&resourceVersionMatch=NotOlderThan");
        Assert.Equal(HttpStatusCode.GatewayTimeout, status);
        Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
        var expected = WireSamples.Text("errors/504-future-resourceVersion.json").Replace("current: 44", "current: " + server.CurrentResourceVersion, StringComparison.Ordinal);
        Assert.Equal(expected, body);
    }

    [Fact]
    public async Task Future_resourceVersion_is_served_once_the_revision_arrives()
    {
        await using var server = await TestApi.StartAsync(o => o.FutureResourceVersionWait = TimeSpan.FromMinutes(1));
        using var client = TestApi.Client(server);
        var next = long.Parse(server.CurrentResourceVersion, System.Globalization.CultureInfo.InvariantCulture) + 1;
        var pending = TestApi.GetJsonAsync(client, $"/api/v1/namespaces/ns/pods?resourceVersion={next}");
        TestApi.SeedPods(server, "ns", "arrives");
        var list = await pending;
        Assert.Equal(["arrives"], Names(list));
    }

    [WireFact]
    public async Task List_option_errors_match_the_wire_samples()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        TestApi.SeedPods(server, "wire", s_names);
        var token = (await TestApi.GetJsonAsync(client, "/api/v1/namespaces/wire/pods?limit=2"))["metadata"]!["continue"]!.GetValue<string>();
        var cases = new (string Query, HttpStatusCode Status, string File)[]
        {
            ("resourceVersionMatch=NotOlderThan", HttpStatusCode.UnprocessableEntity, "errors/422-resourceVersionMatch-without-resourceVersion.json"),
            ("labelSelector=a%3D%3D%3Db", HttpStatusCode.BadRequest, "errors/400-bad-labelSelector.json"),
            ("fieldSelector=spec.foo%3Dbar", HttpStatusCode.BadRequest, "errors/400-bad-fieldSelector.json"),
            ("limit=2&continue=garbage", HttpStatusCode.BadRequest, "errors/400-bad-continue.json"),
            ($"limit=2&continue={token}&resourceVersion=5", HttpStatusCode.BadRequest, "errors/400-continue-with-resourceVersion.json"),
            ("resourceVersion=abc", HttpStatusCode.InternalServerError, "errors/500-bad-resourceVersion.json"),
            ("watch=true&sendInitialEvents=true&allowWatchBookmarks=true", HttpStatusCode.UnprocessableEntity, "errors/422-watchlist-missing-resourceVersionMatch.json"),
        };
        foreach (var (query, status, file) in cases)
        {
            Assert.Equal(WireSamples.Text(file), await TestApi.GetStringAsync(client, "/api/v1/namespaces/wire/pods?" + query, status));
        }
    }

    [Fact]
    public async Task Label_and_field_selectors_filter_lists()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        server.Objects.Create(ApiResourceDefinition.Pods, TestApi.Pod("a", "ns", new() { ["app"] = "web", ["tier"] = "fe" }));
        server.Objects.Create(ApiResourceDefinition.Pods, TestApi.Pod("b", "ns", new() { ["app"] = "web" }));
        server.Objects.Create(ApiResourceDefinition.Pods, TestApi.Pod("c", "ns", new() { ["app"] = "db", ["tier"] = "be" }));
        server.Objects.Create(ApiResourceDefinition.Pods, TestApi.Pod("d", "other", new() { ["app"] = "web" }));
        var pod = server.Objects.Get(ApiResourceDefinition.Pods, "ns", "c")!;
        pod["spec"]!["nodeName"] = "node-1";
        server.Objects.Update(ApiResourceDefinition.Pods, pod);

        async Task<List<string>> Query(string q) => Names(await TestApi.GetJsonAsync(client, "/api/v1/pods?" + q));
        Assert.Equal(["a", "b", "d"], await Query("labelSelector=app%3Dweb"));
        Assert.Equal(["a", "b", "d"], await Query("labelSelector=app%3D%3Dweb"));
        Assert.Equal(["c"], await Query("labelSelector=app!%3Dweb"));
        Assert.Equal(["a", "c"], await Query("labelSelector=tier"));
        Assert.Equal(["b", "d"], await Query("labelSelector=!tier"));
        Assert.Equal(["a", "c"], await Query("labelSelector=tier%20in%20(fe,be)"));
        Assert.Equal(["b", "c", "d"], await Query("labelSelector=tier%20notin%20(fe)"));
        Assert.Equal(["a"], await Query("labelSelector=app%3Dweb,tier%3Dfe"));
        Assert.Equal(["b"], await Query("fieldSelector=metadata.name%3Db"));
        Assert.Equal(["d"], await Query("fieldSelector=metadata.namespace%3D%3Dother"));
        Assert.Equal(["a", "b", "c"], await Query("fieldSelector=metadata.namespace!%3Dother"));
        Assert.Equal(["c"], await Query("fieldSelector=spec.nodeName%3Dnode-1"));
        Assert.Equal(["a", "b", "d"], await Query("fieldSelector=spec.nodeName%3D"));

        // Paging with a selector: fewer matching items per scan, no remainingItemCount.
        var page = await TestApi.GetJsonAsync(client, "/api/v1/pods?labelSelector=app%3Dweb&limit=1");
        Assert.Equal(["a"], Names(page));
        Assert.Null(page["metadata"]!["remainingItemCount"]);
        Assert.NotNull(page["metadata"]!["continue"]);
    }

    [Fact]
    public async Task Cluster_wide_lists_are_in_storage_key_order()
    {
        await using var server = await TestApi.StartAsync(o => o.CreateDefaultNamespaces = false);
        using var client = TestApi.Client(server);
        TestApi.SeedPods(server, "b-ns", "a1", "z9");
        TestApi.SeedPods(server, "a-ns", "m", "b");
        var list = await TestApi.GetJsonAsync(client, "/api/v1/pods");
        Assert.Equal(["b", "m", "a1", "z9"], Names(list));
        var page = await TestApi.GetJsonAsync(client, "/api/v1/pods?limit=3");
        Assert.Equal($"{{\"v\":\"meta.k8s.io/v1\",\"rv\":{server.CurrentResourceVersion},\"start\":\"/b-ns/a1\\u0000\"}}", DecodeToken(page["metadata"]!["continue"]!.GetValue<string>()));
        var empty = await TestApi.GetStringAsync(client, "/api/v1/namespaces/none/configmaps");
        Assert.Equal($"{{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{{\"resourceVersion\":\"{server.CurrentResourceVersion}\"}},\"items\":[]}}\n", empty);
    }

    [Fact]
    public async Task Metadata_only_clients_get_PartialObjectMetadata()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        TestApi.SeedPods(server, "ns", "a", "b");
        const string listAccept = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json";
        var list = await TestApi.GetJsonAsync(client, "/api/v1/namespaces/ns/pods", accept: listAccept);
        Assert.Equal("PartialObjectMetadataList", list["kind"]!.GetValue<string>());
        Assert.Equal("meta.k8s.io/v1", list["apiVersion"]!.GetValue<string>());
        var item = list["items"]![0]!.AsObject();
        Assert.Equal(["kind", "apiVersion", "metadata"], item.Select(kv => kv.Key));
        Assert.Equal("PartialObjectMetadata", item["kind"]!.GetValue<string>());
        TestApi.AssertJsonEqual(server.Objects.Get(ApiResourceDefinition.Pods, "ns", "a")!["metadata"], item["metadata"]);

        var single = await TestApi.GetJsonAsync(client, "/api/v1/namespaces/ns/pods/b", accept: "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io");
        Assert.Equal("b", single["metadata"]!["name"]!.GetValue<string>());
        Assert.Null(single["spec"]);

        await using var watch = await WatchReader.OpenAsync(client, "/api/v1/namespaces/ns/pods?watch=true", "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io");
        var e = await watch.NextAsync();
        Assert.Equal(("PartialObjectMetadata", "a"), (e.Object()["kind"]!.GetValue<string>(), e.ObjectName()));
    }

    [Fact]
    public async Task Large_lists_stream_every_item()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        var filler = new string('x', 1500);
        for (var i = 0; i < 2000; i++)
        {
            server.Objects.Create(ApiResourceDefinition.ConfigMaps, TestApi.ConfigMap($"cm-{i:D5}", "big", new() { ["v"] = filler }));
        }

        var list = await TestApi.GetJsonAsync(client, "/api/v1/namespaces/big/configmaps");
        Assert.Equal(2000, list["items"]!.AsArray().Count);
        var pages = 0;
        var seen = 0;
        string? token = null;
        do
        {
            var page = await TestApi.GetJsonAsync(client, "/api/v1/namespaces/big/configmaps?limit=500" + (token is null ? "" : "&continue=" + token));
            seen += page["items"]!.AsArray().Count;
            token = page["metadata"]!["continue"]?.GetValue<string>();
            pages++;
        }
        while (token is not null);
        Assert.Equal(4, pages);
        Assert.Equal(2000, seen);
    }
}
