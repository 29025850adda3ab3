using System.Net;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using KubeConsistency.Testing;

namespace KubeConsistency.Tests.ApiServer;

/// <summary>Properties of the MVCC store and of the server's handling of arbitrary input (FsCheck).</summary>
public sealed class PropertyTests
{
    private static readonly string[] s_names = ["a", "b", "c", "d"];

    private static List<string> State(IEnumerable<JsonNode?> items)
        => items.Select(i => i!["metadata"]!["name"]!.GetValue<string>() + "=" + i["data"]!["v"]!.GetValue<string>()).ToList();

    /// <summary>For random write sequences, an Exact list at every past revision returns exactly the state at that revision, and a watch from the first revision replays the changes into the final state.</summary>
    [Fact]
    public async Task Exact_lists_and_watches_reproduce_history_for_random_write_sequences()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        var operations = Gen.Zip(Gen.Choose(0, 3), Gen.Elements(s_names)).ArrayOf();
        var run = 0;
        var property = Prop.ForAll(operations.ToArbitrary(), ops =>
        {
            var ns = "run" + Interlocked.Increment(ref run);
            var history = new List<(string Rv, List<string> State)> { (server.CurrentResourceVersion, []) };
            var changes = 0;
            foreach (var (kind, name) in ops)
            {
                var existing = server.Objects.Get(ApiResourceDefinition.ConfigMaps, ns, name);
                switch (kind)
                {
                    case 0 when existing is null:
                        server.Objects.Create(ApiResourceDefinition.ConfigMaps, TestApi.ConfigMap(name, ns, new() { ["v"] = "0" }));
                        changes++;
                        break;
                    case 1 when existing is not null:
                        server.Objects.Patch(ApiResourceDefinition.ConfigMaps, ns, name, "{\"data\":{\"v\":\"" + Guid.NewGuid().ToString("N") + "\"}}");
                        changes++;
                        break;
                    case 2 when existing is not null:
                        server.Objects.Delete(ApiResourceDefinition.ConfigMaps, ns, name);
                        changes++;
                        break;
                    default:
                        // A write elsewhere: the global revision moves, this namespace does not change.
                        server.Objects.Create(ApiResourceDefinition.ConfigMaps, TestApi.ConfigMap("other", "elsewhere-" + Guid.NewGuid().ToString("N")));
                        break;
                }

                history.Add((server.CurrentResourceVersion, State(server.Objects.List(ApiResourceDefinition.ConfigMaps, ns).Items)));
            }

            foreach (var (rv, state) in history)
            {
                var list = TestApi.GetJsonAsync(client, $"/api/v1/namespaces/{ns}/configmaps?resourceVersion={rv}&resourceVersionMatch=Exact").GetAwaiter().GetResult();
                if (!State(list["items"]!.AsArray()).SequenceEqual(state))
                {
                    return false;
                }
            }

            var replay = new SortedDictionary<string, string>(StringComparer.Ordinal);
            using var response = client.GetAsync($"/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion={history[0].Rv}", HttpCompletionOption.ResponseHeadersRead).GetAwaiter().GetResult();
            using var reader = new StreamReader(response.Content.ReadAsStream());
            for (var i = 0; i < changes; i++)
            {
                var e = TestApi.Parse(reader.ReadLine()!);
                if (e.Type() == "DELETED")
                {
                    replay.Remove(e.ObjectName());
                }
                else
                {
                    replay[e.ObjectName()] = e.Object()["data"]!["v"]!.GetValue<string>();
                }
            }

            return replay.Select(kv => kv.Key + "=" + kv.Value).SequenceEqual(history[^1].State);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(25), property);
    }

    /// <summary>Arbitrary bodies, paths and queries never crash the server: every answer is a well-formed HTTP response with a Status body for errors, and the server keeps serving.</summary>
    [Fact]
    public async Task Garbage_input_gets_Status_errors_and_never_breaks_the_server()
    {
        await using var server = await TestApi.StartAsync(o => o.FutureResourceVersionWait = TimeSpan.Zero);
        using var client = TestApi.Client(server);
        string[] paths =
        [
            "/api/v1/namespaces/ns/pods", "/api/v1/namespaces/ns/pods/x", "/api/v1/namespaces/ns/pods/x/status", "/apis/apps/v1/namespaces/ns/replicasets/r/scale",
            "/api/v1/namespaces/ns/configmaps", "/api/v1/namespaces", "/api/v1/namespaces/ns", "/apis/batch/v1/jobs", "/api/v1/pods", "/api/v1/namespaces/ns/pods/x/log",
        ];
        string[] queries = ["", "?watch=maybe", "?limit=x", "?labelSelector=(((", "?fieldSelector=a", "?resourceVersion=-1", "?continue=%%%", "?timeoutSeconds=1&watch=true&resourceVersion=999999999", "?propagationPolicy=x"];
        string[] methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
        string[] types = ["application/json", "application/merge-patch+json", "application/json-patch+json", "application/strategic-merge-patch+json", "text/plain"];
        var route = Gen.Zip(Gen.Elements(paths), Gen.Elements(queries), (path, query) => path + query);
        var verb = Gen.Zip(Gen.Elements(methods), Gen.Elements(types));
        var body = Gen.OneOf(
            Gen.Elements("{", "[]", "null", "\"x\"", "{\"metadata\":5}", "{\"metadata\":{\"name\":7}}", "{\"metadata\":{\"labels\":{\"a\":1}}}", "[{\"op\":\"move\",\"path\":\"/x\"}]", "{\"kind\":5}", ""),
            ArbMap.Default.ArbFor<string>().Generator.Where(s => s is not null));
        var input = Gen.Zip(Gen.Zip(route, verb), body, (rv, b) => (Path: rv.Item1, Method: rv.Item2.Item1, Type: rv.Item2.Item2, Body: b));

        var property = Prop.ForAll(input.ToArbitrary(), c =>
        {
            using var request = new HttpRequestMessage(new HttpMethod(c.Method), c.Path);
            if (c.Method is "POST" or "PUT" or "PATCH" or "DELETE")
            {
                request.Content = TestApi.JsonContent(c.Body, c.Type);
            }

            using var response = client.SendAsync(request).GetAwaiter().GetResult();
            var text = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
            var code = (int)response.StatusCode;
            if (code < 400)
            {
                return true;
            }

            var json = JsonNode.Parse(text) as JsonObject;
            if (json?["paths"] is not null)
            {
                return code == 404;
            }

            // Status bodies everywhere; a 500 only for the unparseable resourceVersion, like kube-apiserver.
            return json?["kind"]?.GetValue<string>() == "Status" && json["code"]?.GetValue<int>() == code
                && (code != 500 || c.Path.Contains("resourceVersion=-1", StringComparison.Ordinal));
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), property);

        var (status, _, _) = await TestApi.SendAsync(client, HttpMethod.Get, "/api/v1/namespaces/ns/pods");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(0, server.Faults.InjectedFailureCount);
    }
}
