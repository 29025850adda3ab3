using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using KubeConsistency.Testing;

namespace KubeConsistency.Tests.ApiServer;

/// <summary>Helpers for tests over real loopback HTTP against <see cref="EmbeddedApiServer"/>.</summary>
internal static class TestApi
{
    /// <summary>The non-curl User-Agent the wire samples were captured with (compact JSON).</summary>
    public const string UserAgent = "wire-capture/1.0";

    public const string TableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

    public const string DiscoveryAccept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    public static Task<EmbeddedApiServer> StartAsync(Action<EmbeddedApiServerOptions>? configure = null)
    {
        // The server's own tests write into namespaces they never create; NamespaceLifecycle has its own test.
        var options = new EmbeddedApiServerOptions { EnforceNamespaceLifecycle = false };
        configure?.Invoke(options);
        return EmbeddedApiServer.StartAsync(options);
    }

    public static HttpClient Client(EmbeddedApiServer server, string userAgent = UserAgent)
    {
        var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.UserAgent.Clear();
        client.DefaultRequestHeaders.TryAddWithoutValidation("User-Agent", userAgent);
        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return client;
    }

    public static StringContent JsonContent(string json, string mediaType = "application/json")
    {
        var content = new StringContent(json, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        return content;
    }

    public static async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> SendAsync(
        HttpClient client, HttpMethod method, string path, string? body = null, string mediaType = "application/json", string? accept = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent(body, mediaType);
        }

        if (accept is not null)
        {
            request.Headers.Accept.Clear();
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }

        var response = await client.SendAsync(request).WaitAsync(Guard);
        var text = await response.Content.ReadAsStringAsync().WaitAsync(Guard);
        return (response.StatusCode, text, response);
    }

    public static async Task<string> GetStringAsync(HttpClient client, string path, HttpStatusCode expected = HttpStatusCode.OK, string? accept = null)
    {
        var (status, body, _) = await SendAsync(client, HttpMethod.Get, path, accept: accept);
        Assert.True(status == expected, $"GET {path}: expected {(int)expected}, got {(int)status}: {body}");
        return body;
    }

    public static async Task<JsonObject> GetJsonAsync(HttpClient client, string path, HttpStatusCode expected = HttpStatusCode.OK, string? accept = null)
        => Parse(await GetStringAsync(client, path, expected, accept));

    public static async Task<JsonObject> WriteAsync(HttpClient client, HttpMethod method, string path, object body, HttpStatusCode expected, string mediaType = "application/json")
    {
        var json = body is JsonNode node ? node.ToJsonString() : (string)body;
        var (status, text, _) = await SendAsync(client, method, path, json, mediaType);
        Assert.True(status == expected, $"{method} {path}: expected {(int)expected}, got {(int)status}: {text}");
        return Parse(text);
    }

    public static Task<JsonObject> CreateAsync(HttpClient client, string collectionPath, object body)
        => WriteAsync(client, HttpMethod.Post, collectionPath, body, HttpStatusCode.Created);

    public static JsonObject Parse(string text) => (JsonObject)JsonNode.Parse(text)!;

    public static JsonObject Pod(string name, string? ns = null, Dictionary<string, string>? labels = null)
    {
        var meta = new JsonObject { ["name"] = name };
        if (ns is not null)
        {
            meta["namespace"] = ns;
        }

        if (labels is not null)
        {
            var l = new JsonObject();
            foreach (var (k, v) in labels)
            {
                l[k] = v;
            }

            meta["labels"] = l;
        }

        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = meta,
            ["spec"] = new JsonObject
            {
                ["containers"] = new JsonArray { new JsonObject { ["name"] = "c", ["image"] = "busybox:1.36", ["command"] = new JsonArray("sleep", "3600") } },
            },
        };
    }

    public static JsonObject ConfigMap(string name, string? ns = null, Dictionary<string, string>? data = null)
    {
        var obj = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "ConfigMap",
            ["metadata"] = ns is null ? new JsonObject { ["name"] = name } : new JsonObject { ["name"] = name, ["namespace"] = ns },
        };
        if (data is not null)
        {
            var d = new JsonObject();
            foreach (var (k, v) in data)
            {
                d[k] = v;
            }

            obj["data"] = d;
        }

        return obj;
    }

    public static string Rv(JsonObject obj) => obj["metadata"]!["resourceVersion"]!.GetValue<string>();

    public static long RvNumber(JsonObject obj) => long.Parse(Rv(obj), System.Globalization.CultureInfo.InvariantCulture);

    public static string Name(JsonObject obj) => obj["metadata"]!["name"]!.GetValue<string>();

    public static string Uid(JsonObject obj) => obj["metadata"]!["uid"]!.GetValue<string>();

    /// <summary>Removes the fields that differ between two captures of the same object (uid, times, RVs, managedFields).</summary>
    public static JsonObject Scrub(JsonObject obj)
    {
        var copy = (JsonObject)obj.DeepClone();
        if (copy["metadata"] is JsonObject m)
        {
            foreach (var key in (string[])["uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "managedFields", "name"])
            {
                m.Remove(key);
            }
        }

        return copy;
    }

    public static void AssertJsonEqual(JsonNode? expected, JsonNode? actual)
        => Assert.True(JsonNode.DeepEquals(expected, actual), $"JSON differs.\nexpected: {expected?.ToJsonString()}\nactual:   {actual?.ToJsonString()}");

    /// <summary>Creates pods server-side (no HTTP) in a namespace.</summary>
    public static void SeedPods(EmbeddedApiServer server, string ns, params string[] names)
    {
        foreach (var name in names)
        {
            server.Objects.Create(ApiResourceDefinition.Pods, Pod(name, ns, new() { ["app"] = "demo" }));
        }
    }
}

/// <summary>Reads a watch response line by line (NDJSON).</summary>
internal sealed class WatchReader : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private WatchReader(HttpResponseMessage response, Stream stream)
    {
        _response = response;
        _reader = new StreamReader(stream, Encoding.UTF8);
    }

    public HttpResponseMessage Response => _response;

    public static async Task<WatchReader> OpenAsync(HttpClient client, string path, string? accept = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (accept is not null)
        {
            request.Headers.Accept.Clear();
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }

        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TestApi.Guard);
        var stream = await response.Content.ReadAsStreamAsync().WaitAsync(TestApi.Guard);
        return new WatchReader(response, stream);
    }

    /// <summary>The next line, or null at the end of the stream. The timeout only guards against a hang.</summary>
    public async Task<string?> ReadLineAsync() => await _reader.ReadLineAsync().WaitAsync(TestApi.Guard);

    public async Task<JsonObject?> ReadEventAsync()
    {
        var line = await ReadLineAsync();
        return line is null ? null : TestApi.Parse(line);
    }

    public async Task<JsonObject> NextAsync()
        => await ReadEventAsync() ?? throw new Xunit.Sdk.XunitException("the watch stream ended early");

    public async Task<List<JsonObject>> ReadToEndAsync()
    {
        var events = new List<JsonObject>();
        while (await ReadEventAsync() is { } e)
        {
            events.Add(e);
        }

        return events;
    }

    public async Task<string> ReadRestAsync() => await _reader.ReadToEndAsync().WaitAsync(TestApi.Guard);

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        return ValueTask.CompletedTask;
    }
}

internal static class WatchEventExtensions
{
    public static string Type(this JsonObject e) => e["type"]!.GetValue<string>();

    public static JsonObject Object(this JsonObject e) => (JsonObject)e["object"]!;

    public static string ObjectName(this JsonObject e) => e["object"]!["metadata"]!["name"]?.GetValue<string>() ?? "";

    public static string ObjectRv(this JsonObject e) => e["object"]!["metadata"]!["resourceVersion"]!.GetValue<string>();
}
