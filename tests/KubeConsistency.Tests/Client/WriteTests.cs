using System.Text.Json;
using System.Text.Json.Nodes;
using KubeConsistency.Client;
using KubeConsistency.Http;

namespace KubeConsistency.Tests.Client;

/// <summary>Get/create/update/status/patch/delete against the captured responses (wire/objects).</summary>
public sealed class WriteTests
{
    [WireFact]
    public async Task Create_honours_generate_name_and_returns_the_server_object()
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 201, WireFixtures.Bytes("objects/pod-create.201.json")));
        using var connection = Clients.Connect(server);
        var request = JsonSerializer.Deserialize<TestPod>(WireFixtures.Bytes("objects/pod-create.request.json"), KubeJson)!;
        Assert.Null(request.Metadata!.Name);

        var created = await connection.Resource(Clients.Pods()).CreateAsync(request);

        Assert.Equal("web-g6qrn", created.Metadata!.Name);
        Assert.Equal("31", created.Metadata.ResourceVersion);
        var sent = Assert.Single(server.Requests);
        Assert.Equal("POST", sent.Method);
        Assert.Equal("/api/v1/namespaces/wire/pods", sent.PathAndQuery);
        Assert.Equal("application/json", sent.Header("Content-Type"));
        var body = JsonNode.Parse(sent.Body)!;
        Assert.Equal("web-", body["metadata"]!["generateName"]!.GetValue<string>());
        Assert.Null(body["metadata"]!["name"]);
    }

    [WireFact]
    public async Task Get_reads_one_object()
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 200, WireFixtures.Bytes("objects/pod-get.200.json")));
        using var connection = Clients.Connect(server);

        var pod = await connection.Resource(Clients.Pods()).GetAsync(null, "web-g6qrn");

        Assert.Equal("31", pod.Metadata!.ResourceVersion);
        Assert.Equal("nginx:1.27", pod.Spec!.Containers![0].Image);
        Assert.Equal("/api/v1/namespaces/wire/pods/web-g6qrn", Assert.Single(server.Requests).PathAndQuery);
    }

    [WireFact]
    public async Task Update_status_puts_to_the_status_subresource()
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 200, WireFixtures.Bytes("objects/pod-status-put.200.json")));
        using var connection = Clients.Connect(server);
        var pod = JsonSerializer.Deserialize<TestPod>(WireFixtures.Bytes("objects/pod-status-put.request.json"), KubeJson)!;

        var updated = await connection.Resource(Clients.Pods()).UpdateStatusAsync(pod);

        Assert.Equal("32", updated.Metadata!.ResourceVersion);
        Assert.Equal("nginx:1.27", updated.Spec!.Containers![0].Image);
        var sent = Assert.Single(server.Requests);
        Assert.Equal("PUT", sent.Method);
        Assert.Equal("/api/v1/namespaces/wire/pods/web-g6qrn/status", sent.PathAndQuery);
        Assert.Equal("31", JsonNode.Parse(sent.Body)!["metadata"]!["resourceVersion"]!.GetValue<string>());
    }

    [WireFact]
    public async Task Update_with_a_stale_resource_version_is_a_conflict()
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 409, WireFixtures.Bytes("errors/409-conflict.json")));
        using var connection = Clients.Connect(server);
        var pod = JsonSerializer.Deserialize<TestPod>(WireFixtures.Bytes("errors/409-conflict.request.json"), KubeJson)!;

        var ex = await Assert.ThrowsAsync<ConflictException>(() => connection.Resource(Clients.Pods(ns: "other")).UpdateAsync(pod).AsTask());

        Assert.Equal("gamma", ex.Name);
        var sent = Assert.Single(server.Requests);
        Assert.Equal("PUT", sent.Method);
        Assert.Equal("/api/v1/namespaces/wire/pods/gamma", sent.PathAndQuery); // the object's namespace wins
    }

    [Fact]
    public async Task Merge_patch_sends_the_document_verbatim()
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 200, "{\"metadata\":{\"name\":\"alpha\",\"resourceVersion\":\"58\",\"labels\":{\"a\":\"b\"}}}"));
        using var connection = Clients.Connect(server);
        var pods = connection.Resource(Clients.Pods());
        var patch = "{\"metadata\":{\"labels\":{\"a\":\"b\"}}}"u8.ToArray();

        var patched = await pods.PatchAsync("wire", "alpha", patch);
        await pods.PatchAsync(null, "alpha", "{\"status\":{\"phase\":\"Running\"}}"u8.ToArray(), status: true);

        Assert.Equal("58", patched.Metadata!.ResourceVersion);
        Assert.Equal(
            [("PATCH", "/api/v1/namespaces/wire/pods/alpha", "{\"metadata\":{\"labels\":{\"a\":\"b\"}}}"), ("PATCH", "/api/v1/namespaces/wire/pods/alpha/status", "{\"status\":{\"phase\":\"Running\"}}")],
            server.Requests.Select(r => (r.Method, r.PathAndQuery, r.BodyText)));
        Assert.All(server.Requests, r => Assert.Equal("application/merge-patch+json", r.Header("Content-Type")));
    }

    [Fact]
    public async Task Field_manager_is_sent_on_writes_only()
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 200, "{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"2\"}}"));
        using var connection = Clients.Connect(server);
        var pods = connection.Resource(new ResourceClientOptions<TestPod> { Resource = GroupVersionResource.Pods, Namespace = "ns", FieldManager = "replicaset-controller" });
        var pod = new TestPod { Metadata = new TestObjectMeta { Name = "a" } };

        await pods.CreateAsync(pod);
        await pods.UpdateAsync(pod);
        await pods.PatchAsync(null, "a", "{}"u8.ToArray());
        await pods.GetAsync(null, "a");

        Assert.Equal(
            ["/api/v1/namespaces/ns/pods?fieldManager=replicaset-controller", "/api/v1/namespaces/ns/pods/a?fieldManager=replicaset-controller", "/api/v1/namespaces/ns/pods/a?fieldManager=replicaset-controller", "/api/v1/namespaces/ns/pods/a"],
            server.Requests.Select(r => r.PathAndQuery));
    }

    [WireFact]
    public async Task Delete_returns_the_object_when_the_server_returns_it()
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 200, WireFixtures.Bytes("objects/pod-delete.200.json")));
        using var connection = Clients.Connect(server);

        var deleted = await connection.Resource(Clients.Pods()).DeleteAsync("wire", "beta");

        Assert.NotNull(deleted);
        Assert.NotNull(deleted.Metadata!.DeletionTimestamp);
        var sent = Assert.Single(server.Requests);
        Assert.Equal(("DELETE", "/api/v1/namespaces/wire/pods/beta"), (sent.Method, sent.PathAndQuery));
        Assert.Empty(sent.Body);
        Assert.Null(sent.Header("Content-Type"));
    }

    [WireFact]
    public async Task Delete_returns_null_for_a_success_status_and_sends_delete_options()
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 200, WireFixtures.Bytes("objects/configmap-delete.200.json")));
        using var connection = Clients.Connect(server);
        var configMaps = connection.Resource(new ResourceClientOptions<JsonNode> { Resource = GroupVersionResource.ConfigMaps, Kind = "ConfigMap" });

        var deleted = await configMaps.DeleteAsync("wire-other", "tick1", new DeleteOptions
        {
            GracePeriodSeconds = 0,
            Preconditions = new Preconditions { Uid = "u-1", ResourceVersion = "7" },
            PropagationPolicy = PropagationPolicy.Background,
            DryRun = true,
        });

        Assert.Null(deleted);
        var sent = Assert.Single(server.Requests);
        Assert.Equal("/api/v1/namespaces/wire-other/configmaps/tick1", sent.PathAndQuery);
        Assert.Equal("application/json", sent.Header("Content-Type"));
        Assert.Equal("{\"gracePeriodSeconds\":0,\"preconditions\":{\"uid\":\"u-1\",\"resourceVersion\":\"7\"},\"propagationPolicy\":\"Background\",\"dryRun\":[\"All\"]}", sent.BodyText);
    }

    [Fact]
    public async Task Delete_with_a_failure_status_in_a_200_throws()
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 200, "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"nope\",\"reason\":\"Conflict\",\"code\":409}"));
        using var connection = Clients.Connect(server);

        await Assert.ThrowsAsync<ConflictException>(() => connection.Resource(Clients.Pods()).DeleteAsync("wire", "a").AsTask());
    }

    [WireFact]
    public async Task Cluster_scoped_resources_have_no_namespace_segment()
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 201, WireFixtures.Bytes("objects/namespace-create.201.json")));
        using var connection = Clients.Connect(server);
        var namespaces = connection.Resource(new ResourceClientOptions<JsonNode> { Resource = new GroupVersionResource(string.Empty, "v1", "namespaces"), Namespaced = false, Kind = "Namespace" });

        var created = await namespaces.CreateAsync(JsonNode.Parse("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"wire\"}}")!);

        Assert.Equal("wire", created["metadata"]!["name"]!.GetValue<string>());
        Assert.Equal("/api/v1/namespaces", Assert.Single(server.Requests).PathAndQuery);
        await Assert.ThrowsAsync<ArgumentException>(() => namespaces.GetAsync("wire", "x").AsTask());
    }

    [Fact]
    public async Task Namespaced_writes_without_any_namespace_are_rejected_before_sending()
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 200, "{}"));
        using var connection = Clients.Connect(server);
        var pods = connection.Resource(Clients.Pods(ns: null));

        await Assert.ThrowsAsync<ArgumentException>(() => pods.CreateAsync(new TestPod { Metadata = new TestObjectMeta { Name = "a" } }).AsTask());
        await Assert.ThrowsAsync<ArgumentException>(() => pods.GetAsync(null, "a").AsTask());
        await Assert.ThrowsAsync<ArgumentException>(() => pods.UpdateAsync(new TestPod { Metadata = new TestObjectMeta { Namespace = "x" } }).AsTask());
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task Server_path_prefix_is_kept()
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 200, "{\"metadata\":{\"name\":\"x\"}}"));
        using var connection = KubernetesConnection.ForServer(new Uri(server.BaseUri, "/k8s/clusters/c-1"));

        await connection.Resource(Clients.Pods()).GetAsync("wire", "x");

        Assert.Equal("/k8s/clusters/c-1/api/v1/namespaces/wire/pods/x", Assert.Single(server.Requests).PathAndQuery);
        Assert.Equal($"KubernetesConnection {{ Server = {server.BaseUri.GetLeftPart(UriPartial.Authority)}/k8s/clusters/c-1, Namespace = <none>, Auth = none }}", connection.ToString());
    }

    [Fact]
    public void Non_http_servers_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => KubernetesConnection.ForServer(new Uri("ftp://example.com")));
    }

    [Fact]
    public async Task Names_are_escaped()
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 200, "{\"metadata\":{\"name\":\"x\"}}"));
        using var connection = Clients.Connect(server);

        await connection.Resource(Clients.Pods()).GetAsync("wire", "a b?c");

        Assert.Equal("/api/v1/namespaces/wire/pods/a%20b%3Fc", Assert.Single(server.Requests).PathAndQuery);
    }

    private static readonly JsonSerializerOptions KubeJson = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };
}
