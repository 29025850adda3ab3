using System.Net;
using System.Text.Json.Nodes;
using KubeConsistency.Testing;

namespace KubeConsistency.Tests.ApiServer;

/// <summary>Discovery, /version, OpenAPI and unknown paths against the wire samples (wire/discovery).</summary>
public sealed class DiscoveryTests
{
    private static JsonObject WithoutServerAddress(JsonObject doc)
    {
        var copy = (JsonObject)doc.DeepClone();
        void Strip(JsonNode? node)
        {
            switch (node)
            {
                case JsonObject o:
                    o.Remove("serverAddressByClientCIDRs");
                    foreach (var kv in o.ToList())
                    {
                        Strip(kv.Value);
                    }

                    break;
                case JsonArray a:
                    foreach (var item in a)
                    {
                        Strip(item);
                    }

                    break;
                default:
                    break;
            }
        }

        Strip(copy);
        return copy;
    }

    [WireFact]
    public async Task Version_is_indented_without_newline_and_reports_the_v1_36_the_product_ports()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        var body = await TestApi.GetStringAsync(client, "/version");
        var wire = WireSamples.Json("discovery/version.json");
        var actual = TestApi.Parse(body);
        Assert.StartsWith("{\n  \"major\": \"1\",", body, StringComparison.Ordinal);
        Assert.False(body.EndsWith('\n'));
        Assert.Equal("36", actual["minor"]!.GetValue<string>());
        Assert.StartsWith("v1.36.", actual["gitVersion"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(wire.Select(kv => kv.Key), actual.Select(kv => kv.Key));
    }

    [WireFact]
    public async Task Plain_discovery_documents_equal_the_wire_samples()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        Assert.Equal(WireSamples.Text("discovery/api-v1.json"), await TestApi.GetStringAsync(client, "/api/v1"));
        Assert.Equal(WireSamples.Text("discovery/apis-apps-v1.json"), await TestApi.GetStringAsync(client, "/apis/apps/v1"));
        Assert.Equal(WireSamples.Text("discovery/apis-batch-v1.json"), await TestApi.GetStringAsync(client, "/apis/batch/v1"));
        Assert.Equal(WireSamples.Text("discovery/apis-apps.json"), await TestApi.GetStringAsync(client, "/apis/apps"));
        TestApi.AssertJsonEqual(WithoutServerAddress(WireSamples.Json("discovery/api.json")), WithoutServerAddress(await TestApi.GetJsonAsync(client, "/api")));
        TestApi.AssertJsonEqual(WithoutServerAddress(WireSamples.Json("discovery/apis.json")), WithoutServerAddress(await TestApi.GetJsonAsync(client, "/apis")));
    }

    [WireFact]
    public async Task Aggregated_discovery_matches_wire_with_etag_and_304()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server, "kubectl/v1.32.4 (linux/amd64) kubernetes/4cb5f07");
        var accept = WireSamples.Text("discovery/kubectl-discovery-accept.txt").Trim();
        foreach (var (path, file) in new[] { ("/api?timeout=32s", "discovery/aggregated-api.json"), ("/apis?timeout=32s", "discovery/aggregated-apis.json") })
        {
            var (status, body, response) = await TestApi.SendAsync(client, HttpMethod.Get, path, accept: accept);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(WireSamples.Text(file), body);
            Assert.Equal("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", response.Content.Headers.ContentType!.ToString().Replace(" ", "", StringComparison.Ordinal));
            Assert.Equal("public", response.Headers.CacheControl!.ToString());
            Assert.Contains("Accept", response.Headers.Vary);
            var etag = response.Headers.ETag!.ToString();

            using var conditional = new HttpRequestMessage(HttpMethod.Get, path);
            conditional.Headers.TryAddWithoutValidation("Accept", accept);
            conditional.Headers.TryAddWithoutValidation("If-None-Match", etag);
            using var notModified = await client.SendAsync(conditional);
            Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
            Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());
        }

        var beta = await TestApi.GetJsonAsync(client, "/apis", accept: "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList");
        Assert.Equal("apidiscovery.k8s.io/v2beta1", beta["apiVersion"]!.GetValue<string>());

        // The aggregated Accept on a group-version path gives the plain APIResourceList.
        Assert.Equal(WireSamples.Text("discovery/api-v1.json"), await TestApi.GetStringAsync(client, "/api/v1", accept: accept));
    }

    [WireFact]
    public async Task Curl_user_agent_gets_pretty_json_and_pretty_false_turns_it_off()
    {
        await using var server = await TestApi.StartAsync();
        using var curl = TestApi.Client(server, "curl/8.5.0");
        var body = await TestApi.GetStringAsync(curl, "/api");
        var expected = WireSamples.Text("discovery/api.curl-user-agent.json").Replace("\":6443\"", $"\"127.0.0.1:{server.BaseAddress.Port}\"", StringComparison.Ordinal);
        Assert.Equal(expected, body);
        Assert.EndsWith("}\n", await TestApi.GetStringAsync(curl, "/api?pretty=false"), StringComparison.Ordinal);
        using var plain = TestApi.Client(server);
        Assert.StartsWith("{\n  \"kind\"", await TestApi.GetStringAsync(plain, "/api?pretty=true"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Custom_resources_registered_at_run_time_appear_in_discovery()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        var widgets = new ApiResourceDefinition("example.com", "v1alpha1", "Widget", "widgets", "widget", Namespaced: true)
        {
            ShortNames = ["wd"],
            HasStatusSubresource = true,
        };
        await TestApi.GetStringAsync(client, "/apis/example.com/v1alpha1", HttpStatusCode.NotFound);
        server.RegisterResource(widgets);

        var groups = await TestApi.GetJsonAsync(client, "/apis");
        Assert.Contains(groups["groups"]!.AsArray(), g => g!["name"]!.GetValue<string>() == "example.com");
        var list = await TestApi.GetJsonAsync(client, "/apis/example.com/v1alpha1");
        Assert.Equal(["widgets", "widgets/status"], list["resources"]!.AsArray().Select(r => r!["name"]!.GetValue<string>()));
        var aggregated = await TestApi.GetJsonAsync(client, "/apis", accept: TestApi.DiscoveryAccept);
        Assert.Contains(aggregated["items"]!.AsArray(), i => i!["metadata"]!["name"]?.GetValue<string>() == "example.com");
        Assert.Throws<InvalidOperationException>(() => server.RegisterResource(widgets));

        // And it is served.
        var created = await TestApi.CreateAsync(client, "/apis/example.com/v1alpha1/namespaces/default/widgets",
            """{"apiVersion":"example.com/v1alpha1","kind":"Widget","metadata":{"name":"w1"},"spec":{"size":3},"status":{"ignored":true}}""");
        Assert.Equal(1, created["metadata"]!["generation"]!.GetValue<int>());
        Assert.Null(created["status"]);
    }

    [WireFact]
    public async Task Unknown_group_returns_the_path_index_and_unknown_resource_a_status()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        var (status, body, _) = await TestApi.SendAsync(client, HttpMethod.Get, "/apis/nope.example.com/v1/widgets");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.StartsWith("{\n  \"paths\": [\n    \"/api\",", body, StringComparison.Ordinal);
        var paths = TestApi.Parse(body)["paths"]!.AsArray().Select(p => p!.GetValue<string>()).ToList();
        foreach (var p in WireSamples.Json("errors/404-unknown-group.trimmed.json")["paths"]!.AsArray())
        {
            Assert.Contains(p!.GetValue<string>(), paths);
        }

        Assert.Equal(WireSamples.Text("errors/404-unknown-resource.json"), await TestApi.GetStringAsync(client, "/api/v1/namespaces/wire/widgets", HttpStatusCode.NotFound));
        await TestApi.GetStringAsync(client, "/no/such/path", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task OpenApi_v3_advertises_field_validation_for_every_kind()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        var root = await TestApi.GetJsonAsync(client, "/openapi/v3?timeout=32s");
        var url = root["paths"]!["api/v1"]!["serverRelativeURL"]!.GetValue<string>();
        Assert.Matches("^/openapi/v3/api/v1\\?hash=[0-9A-F]{128}$", url);
        var (status, body, response) = await TestApi.SendAsync(client, HttpMethod.Get, url + "&timeout=32s");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("public, immutable", response.Headers.CacheControl!.ToString());
        var patch = TestApi.Parse(body)["paths"]!["/api/v1/namespaces/{namespace}/pods/{name}"]!["patch"]!;
        Assert.Equal("Pod", patch["x-kubernetes-group-version-kind"]!["kind"]!.GetValue<string>());
        Assert.Contains(patch["parameters"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "fieldValidation");
        Assert.NotNull(root["paths"]!["apis/apps/v1"]);
    }
}
