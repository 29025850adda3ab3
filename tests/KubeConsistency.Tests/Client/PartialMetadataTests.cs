using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using KubeConsistency.Client;
using KubeConsistency.Http;
using KubeConsistency.Testing;
using KubeConsistency.Tests.ApiServer;

namespace KubeConsistency.Tests.Client;

/// <summary>An object's metadata and nothing else, the shape of <c>metav1.PartialObjectMetadata</c>.</summary>
public sealed class TestPartialMetadata
{
    public string? ApiVersion { get; set; }

    public string? Kind { get; set; }

    public TestObjectMeta? Metadata { get; set; }
}

/// <summary>
/// <see cref="ResourceClientOptions{T}.MetadataOnly"/> over real loopback HTTP against the embedded API server: the exact
/// Accept headers of client-go's metadata client (k8s.io/client-go/metadata/metadata.go, without the protobuf range), what
/// comes back, the writes it allows, and the fallback for a server that ignores <c>as=</c>.
/// </summary>
public sealed class PartialMetadataTests
{
    private const string ListAccept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
    private const string ObjectAccept = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";
    private const string Ns = "meta";
    private static readonly TimeSpan Guard = Clients.Guard;

    [Fact]
    public async Task List_get_and_watch_send_the_metadata_Accept_and_decode_no_spec_or_status()
    {
        await using var server = await TestApi.StartAsync();
        TestApi.SeedPods(server, Ns, "a", "b", "c");
        var (connection, log) = Connect(server);
        using var _ = connection;
        var pods = connection.Resource(MetadataPods());

        // Paged, so the continue token and the list RV come through the metadata list envelope too.
        var page1 = await pods.ListAsync(new ListOptions { Limit = 2 });
        var page2 = await pods.ListAsync(new ListOptions { Limit = 2, Continue = page1.Continue });
        Assert.NotNull(page1.Continue);
        Assert.Equal(1, page1.RemainingItemCount);
        Assert.Equal(server.CurrentResourceVersion, page1.ResourceVersion);
        var items = page1.Items.Concat(page2.Items).ToList();
        Assert.Equal(["a", "b", "c"], items.Select(p => p.Metadata!.Name));
        AssertMetadataOnly(server, items);

        var got = await pods.GetAsync(Ns, "b");
        AssertMetadataOnly(server, [got]);

        // Watch-list: initial ADDED events, the end bookmark at the list RV, then a live event.
        var events = new List<WatchEvent<TestPod>>();
        using var stop = new CancellationTokenSource(Guard);
        await foreach (var e in pods.WatchAsync(new WatchOptions { SendInitialEvents = true, ResourceVersionMatch = ResourceVersionMatch.NotOlderThan, AllowWatchBookmarks = true }, stop.Token))
        {
            events.Add(e);
            if (e.IsInitialEventsEnd)
            {
                server.Objects.Create(ApiResourceDefinition.Pods, TestApi.Pod("d", Ns));
            }
            else if (e.Object?.Metadata?.Name == "d")
            {
                break;
            }
        }

        Assert.Equal(
            [(WatchEventType.Added, "a"), (WatchEventType.Added, "b"), (WatchEventType.Added, "c"), (WatchEventType.Bookmark, null), (WatchEventType.Added, "d")],
            events.Select(e => (e.Type, e.Object?.Metadata?.Name)));
        Assert.Equal(page1.ResourceVersion, events[3].ResourceVersion);
        Assert.True(events[3].IsInitialEventsEnd);
        Assert.Equal(server.CurrentResourceVersion, events[4].ResourceVersion);
        AssertMetadataOnly(server, events.Where(e => e.Object is not null).Select(e => e.Object!).ToList());

        Assert.Equal(
            [("GET", "list", ListAccept), ("GET", "list", ListAccept), ("GET", "get", ObjectAccept), ("GET", "watch", ObjectAccept)],
            log.Select(r => (r.Method, r.Verb, r.Accept)));
    }

    [Fact]
    public async Task Without_MetadataOnly_the_same_client_gets_whole_objects_with_plain_json()
    {
        // The control for the test above: the same model keeps spec and status when the server sends them.
        await using var server = await TestApi.StartAsync();
        TestApi.SeedPods(server, Ns, "a");
        var (connection, log) = Connect(server);
        using var _ = connection;
        var pods = connection.Resource(Clients.Pods(Ns));

        var list = await pods.ListAsync(new ListOptions());
        var got = await pods.GetAsync(Ns, "a");
        Assert.All(list.Items.Append(got), p =>
        {
            Assert.Equal("busybox:1.36", p.Spec!.Containers![0].Image);
            Assert.NotNull(p.Status);
        });
        Assert.All(log, r => Assert.Equal("application/json", r.Accept));
    }

    [Fact]
    public async Task Patch_and_delete_answer_with_metadata_and_create_and_update_are_refused_unsent()
    {
        await using var server = await TestApi.StartAsync();
        TestApi.SeedPods(server, Ns, "a", "b");
        var before = TestApi.Rv(server.Objects.Get(ApiResourceDefinition.Pods, Ns, "a")!);
        var (connection, log) = Connect(server);
        using var _ = connection;
        var pods = connection.Resource(MetadataPods());

        var patched = await pods.PatchAsync(Ns, "a", Encoding.UTF8.GetBytes("""{"metadata":{"labels":{"tier":"gold"}}}"""));
        Assert.Equal("gold", patched.Metadata!.Labels!["tier"]);
        Assert.True(long.Parse(patched.Metadata.ResourceVersion!, System.Globalization.CultureInfo.InvariantCulture) > long.Parse(before, System.Globalization.CultureInfo.InvariantCulture));
        AssertMetadataOnly(server, [patched]);

        // The patch touched only what it named: the stored pod keeps its spec.
        var stored = server.Objects.Get(ApiResourceDefinition.Pods, Ns, "a")!;
        Assert.Equal("busybox:1.36", stored["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        Assert.Equal("gold", stored["metadata"]!["labels"]!["tier"]!.GetValue<string>());

        // A pod delete answers with the pod, here its metadata.
        var deleted = await pods.DeleteWithResultAsync(Ns, "b", new DeleteOptions { GracePeriodSeconds = 0 });
        Assert.Equal("b", deleted.Object!.Metadata!.Name);
        Assert.Null(deleted.Object.Spec);
        Assert.Null(server.Objects.Get(ApiResourceDefinition.Pods, Ns, "b"));

        var requests = log.Count;
        var pod = new TestPod { Metadata = new TestObjectMeta { Name = "a", Namespace = Ns } };
        var create = await Assert.ThrowsAsync<NotSupportedException>(async () => await pods.CreateAsync(pod));
        Assert.Contains("metadata-only", create.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<NotSupportedException>(async () => await pods.UpdateAsync(pod));
        await Assert.ThrowsAsync<NotSupportedException>(async () => await pods.UpdateStatusAsync(pod));
        Assert.Equal(requests, log.Count);

        Assert.Equal([("PATCH", ObjectAccept), ("DELETE", ObjectAccept)], log.Select(r => (r.Method, r.Accept)));
    }

    [WireFact]
    public async Task A_server_that_ignores_as_answers_with_whole_objects_that_decode_to_metadata()
    {
        // Recorded kube-apiserver answers to plain requests stand in for a server without PartialObjectMetadata.
        var get = WireFixtures.Bytes("objects/pod-get.200.json");
        var list = WireFixtures.Bytes("list/pods-rv0.json");
        var watch = WireFixtures.Bytes("watch/pods-watch-bookmarks.ndjson");
        await using var server = await LoopbackServer.StartAsync((ctx, _) =>
            ctx.Request.Query.ContainsKey("watch") ? Respond.Lines(ctx, watch)
            : ctx.Request.Path.Value!.EndsWith("/pods", StringComparison.Ordinal) ? Respond.Json(ctx, 200, list)
            : Respond.Json(ctx, 200, get));
        using var connection = Clients.Connect(server);
        var pods = connection.Resource(new ResourceClientOptions<TestPartialMetadata> { Resource = GroupVersionResource.Pods, Kind = "Pod", Namespace = "wire", MetadataOnly = true });

        var page = await pods.ListAsync(new ListOptions { ResourceVersion = "0" });
        Assert.Equal("35", page.ResourceVersion);
        Assert.Equal(4, page.Items.Count);
        Assert.All(page.Items, p => Assert.False(string.IsNullOrEmpty(p.Metadata?.Uid)));

        var one = await pods.GetAsync("wire", "web-g6qrn");
        Assert.Equal(("Pod", "web-g6qrn", "web"), (one.Kind, one.Metadata!.Name, one.Metadata.Labels!["app"]));

        // The pod kind is accepted besides PartialObjectMetadata; bookmarks keep their RV.
        var events = await Clients.CollectAsync(pods.WatchAsync(new WatchOptions { ResourceVersion = "35", AllowWatchBookmarks = true })).WaitAsync(Guard);
        Assert.Equal(
            [(WatchEventType.Added, "36", "delta"), (WatchEventType.Modified, "37", "alpha"), (WatchEventType.Modified, "38", "beta"), (WatchEventType.Deleted, "39", "beta"), (WatchEventType.Bookmark, "40", null)],
            events.Select(e => (e.Type, e.ResourceVersion, e.Object?.Metadata?.Name)));

        Assert.Equal([ListAccept, ObjectAccept, ObjectAccept], server.Requests.Select(r => r.Header("Accept")));
    }

    [WireFact]
    public async Task A_metadata_watch_still_refuses_Table_objects()
    {
        var table = WireFixtures.Bytes("watch/pods-watch-table.ndjson");
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Lines(ctx, table));
        using var connection = Clients.Connect(server);
        var pods = connection.Resource(new ResourceClientOptions<TestPartialMetadata> { Resource = GroupVersionResource.Pods, Kind = "Pod", Namespace = "wire", MetadataOnly = true });

        var error = await Assert.ThrowsAsync<WatchDecodeException>(() => Clients.CollectAsync(pods.WatchAsync(new WatchOptions())).WaitAsync(Guard));
        Assert.Contains("\"Table\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_empty_metadata_list_has_null_items_and_decodes_to_no_items()
    {
        await using var server = await TestApi.StartAsync();
        using var http = TestApi.Client(server);

        // kube-apiserver: PartialObjectMetadataList.Items has no omitempty and asPartialObjectMetadataList only appends.
        var body = await TestApi.GetStringAsync(http, "/api/v1/namespaces/none/pods", accept: ListAccept);
        Assert.Equal($"{{\"kind\":\"PartialObjectMetadataList\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":{{\"resourceVersion\":\"{server.CurrentResourceVersion}\"}},\"items\":null}}\n", body);

        var (connection, _) = Connect(server);
        using var __ = connection;
        var page = await connection.Resource(MetadataPods("none")).ListAsync(new ListOptions());
        Assert.Empty(page.Items);
        Assert.Equal(server.CurrentResourceVersion, page.ResourceVersion);
    }

    [Fact]
    public async Task The_embedded_server_transforms_like_kube_apiserver_when_as_does_not_fit_the_response()
    {
        await using var server = await TestApi.StartAsync();
        TestApi.SeedPods(server, Ns, "a");
        using var http = TestApi.Client(server);

        // handlers/response.go: asPartialObjectMetadata refuses a list, asPartialObjectMetadataList a single object (406).
        var listAsObject = await TestApi.GetJsonAsync(http, $"/api/v1/namespaces/{Ns}/pods", HttpStatusCode.NotAcceptable, ObjectAccept);
        Assert.Equal("you requested PartialObjectMetadata, but the requested object is a list (*core.PodList)", listAsObject["message"]!.GetValue<string>());
        var objectAsList = await TestApi.GetJsonAsync(http, $"/api/v1/namespaces/{Ns}/pods/a", HttpStatusCode.NotAcceptable, ListAccept);
        Assert.Equal("you requested PartialObjectMetadataList, but the requested object is not a list (*core.Pod)", objectAsList["message"]!.GetValue<string>());
        Assert.Equal("NotAcceptable", objectAsList["reason"]!.GetValue<string>());

        // A watch's failed transform sends the object untransformed (watchEmbeddedEncoder.doEncode).
        await using (var watch = await WatchReader.OpenAsync(http, $"/api/v1/namespaces/{Ns}/pods?watch=true", ListAccept))
        {
            var e = await watch.NextAsync();
            Assert.Equal("Pod", e.Object()["kind"]!.GetValue<string>());
            Assert.NotNull(e.Object()["spec"]);
        }

        // Watch-list with as=PartialObjectMetadata: bookmarks and the list blueprint are transformed too.
        await using (var watch = await WatchReader.OpenAsync(http, $"/api/v1/namespaces/{Ns}/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true", ObjectAccept))
        {
            var added = await watch.NextAsync();
            Assert.Equal(["kind", "apiVersion", "metadata"], added.Object().Select(kv => kv.Key));
            var bookmark = await watch.NextAsync();
            var obj = bookmark.Object();
            Assert.Equal("PartialObjectMetadata", obj["kind"]!.GetValue<string>());
            Assert.Equal(["kind", "apiVersion", "metadata"], obj.Select(kv => kv.Key));
            Assert.Null(obj["metadata"]!["creationTimestamp"]);
            Assert.True(obj["metadata"]!.AsObject().ContainsKey("creationTimestamp"));
            var blueprint = Encoding.UTF8.GetString(Convert.FromBase64String(obj["metadata"]!["annotations"]!["kubernetes.io/initial-events-list-blueprint"]!.GetValue<string>()));
            Assert.Equal("{\"kind\":\"PartialObjectMetadataList\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":{},\"items\":null}\n", blueprint);
        }

        // Writes transform their response the same way (transformResponseObject).
        using var patch = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/namespaces/{Ns}/pods/a")
        {
            Content = TestApi.JsonContent("""{"metadata":{"labels":{"x":"y"}}}""", "application/merge-patch+json"),
        };
        patch.Headers.TryAddWithoutValidation("Accept", ObjectAccept);
        using var response = await http.SendAsync(patch);
        var patched = TestApi.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["kind", "apiVersion", "metadata"], patched.Select(kv => kv.Key));
        Assert.Equal("y", patched["metadata"]!["labels"]!["x"]!.GetValue<string>());
    }

    private static ResourceClientOptions<TestPod> MetadataPods(string ns = Ns) => new()
    {
        Resource = GroupVersionResource.Pods,
        Kind = "Pod",
        Namespace = ns,
        MetadataOnly = true,
    };

    /// <summary>Every object is the server's metadata, with nothing of the pod's spec or status.</summary>
    private static void AssertMetadataOnly(EmbeddedApiServer server, IReadOnlyList<TestPod> pods)
    {
        Assert.NotEmpty(pods);
        foreach (var pod in pods)
        {
            Assert.Equal(("PartialObjectMetadata", "meta.k8s.io/v1"), (pod.Kind, pod.ApiVersion));
            Assert.Null(pod.Spec);
            Assert.Null(pod.Status);
            var stored = server.Objects.Get(ApiResourceDefinition.Pods, Ns, pod.Metadata!.Name!);
            Assert.NotNull(stored);
            Assert.Equal(stored["metadata"]!["uid"]!.GetValue<string>(), pod.Metadata.Uid);
            Assert.Equal(stored["metadata"]!["resourceVersion"]!.GetValue<string>(), pod.Metadata.ResourceVersion);
            Assert.Equal(stored["metadata"]!["labels"]?["app"]?.GetValue<string>(), pod.Metadata.Labels?.GetValueOrDefault("app"));
        }
    }

    private static (KubernetesConnection Connection, RequestLog Log) Connect(EmbeddedApiServer server)
    {
        var log = new RequestLog();
        var http = new HttpClient(new CapturingHandler(log) { InnerHandler = new SocketsHttpHandler() }) { Timeout = Timeout.InfiniteTimeSpan };
        return (KubernetesConnection.FromHttpClient(http, server.BaseAddress), log);
    }

    internal sealed record SentRequest(string Method, string Verb, string? Accept);

    internal sealed class RequestLog : ConcurrentQueue<SentRequest>
    {
    }

    /// <summary>Records the Accept header as it leaves the client (unparsed: parsing would re-render it).</summary>
    private sealed class CapturingHandler(RequestLog log) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var uri = request.RequestUri!;
            var verb = request.Method != HttpMethod.Get ? request.Method.Method.ToLowerInvariant()
                : uri.Query.Contains("watch=true", StringComparison.Ordinal) ? "watch"
                : uri.AbsolutePath.EndsWith("/pods", StringComparison.Ordinal) ? "list" : "get";
            log.Enqueue(new SentRequest(request.Method.Method, verb, request.Headers.NonValidated.TryGetValues("Accept", out var values) ? values.ToString() : null));
            return base.SendAsync(request, cancellationToken);
        }
    }
}
