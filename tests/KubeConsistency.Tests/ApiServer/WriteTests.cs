using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KubeConsistency.Testing;

namespace KubeConsistency.Tests.ApiServer;

/// <summary>Create, update, status, patch and delete semantics (wire/objects, wire/errors).</summary>
public sealed partial class WriteTests
{
    [GeneratedRegex("^web-[bcdfghjklmnpqrstvwxz2456789]{5}$")]
    private static partial Regex GeneratedName();

    [GeneratedRegex("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$")]
    private static partial Regex Rfc3339();

    [Fact]
    public async Task Namespace_lifecycle_refuses_content_in_a_missing_or_terminating_namespace()
    {
        await using var server = await TestApi.StartAsync(o => o.EnforceNamespaceLifecycle = true);
        using var client = TestApi.Client(server);
        var missing = await TestApi.WriteAsync(client, HttpMethod.Post, "/api/v1/namespaces/nowhere/configmaps", """{"metadata":{"name":"c"}}""", HttpStatusCode.NotFound);
        Assert.Equal("namespaces \"nowhere\" not found", missing["message"]!.GetValue<string>());
        Assert.Equal("namespaces", missing["details"]!["kind"]!.GetValue<string>());

        await TestApi.CreateAsync(client, "/api/v1/namespaces", """{"metadata":{"name":"closing","finalizers":["example.com/hold"]}}""");
        await TestApi.CreateAsync(client, "/api/v1/namespaces/closing/configmaps", """{"metadata":{"name":"before"}}""");
        await TestApi.WriteAsync(client, HttpMethod.Delete, "/api/v1/namespaces/closing", "{}", HttpStatusCode.OK);
        var terminating = await TestApi.WriteAsync(client, HttpMethod.Post, "/api/v1/namespaces/closing/configmaps", """{"metadata":{"name":"after"}}""", HttpStatusCode.Forbidden);
        Assert.Equal("unable to create new content in namespace closing because it is being terminated", terminating["message"]!.GetValue<string>());
    }

    [WireFact]
    public async Task Create_fills_in_server_fields_and_defaults_like_the_wire()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 11, 22, 10, 23, 31, TimeSpan.Zero));
        await using var server = await TestApi.StartAsync(o => o.TimeProvider = clock);
        using var client = TestApi.Client(server);
        var created = await TestApi.CreateAsync(client, "/api/v1/namespaces/wire/pods", WireSamples.Text("objects/pod-create.request.json"));
        var wire = WireSamples.Json("objects/pod-create.201.json");

        TestApi.AssertJsonEqual(TestApi.Scrub(wire), TestApi.Scrub(created));
        Assert.Equal(wire["metadata"]!.AsObject().Select(kv => kv.Key), created["metadata"]!.AsObject().Select(kv => kv.Key));
        Assert.Matches(GeneratedName(), TestApi.Name(created));
        Assert.Equal("2026-11-22T10:23:31Z", created["metadata"]!["creationTimestamp"]!.GetValue<string>());
        Assert.True(Guid.TryParse(TestApi.Uid(created), out _));
        var managed = created["metadata"]!["managedFields"]![0]!;
        Assert.Equal("wire-capture", managed["manager"]!.GetValue<string>());
        Assert.Equal("Update", managed["operation"]!.GetValue<string>());
        Assert.Equal("2026-11-22T10:23:31Z", managed["time"]!.GetValue<string>());

        // GET returns the same bytes as the create response.
        var (_, createdAgain, _) = await TestApi.SendAsync(client, HttpMethod.Get, $"/api/v1/namespaces/wire/pods/{TestApi.Name(created)}");
        Assert.Equal(created.ToJsonString(), TestApi.Parse(createdAgain).ToJsonString());
    }

    [Fact]
    public async Task Json_is_html_escaped_like_Go()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        await TestApi.CreateAsync(client, "/api/v1/namespaces/ns/configmaps", """{"metadata":{"name":"c"},"data":{"k":"<a&b> + 'q' é \u2028"}}""");
        var raw = await TestApi.GetStringAsync(client, "/api/v1/namespaces/ns/configmaps/c");
        Assert.Contains("\"k\":\"\\u003ca\\u0026b\\u003e + 'q' é \\u2028\"", raw, StringComparison.Ordinal);
        var table = await TestApi.GetStringAsync(client, "/api/v1/namespaces/ns/pods", accept: TestApi.TableAccept);
        Assert.Contains("\"rows\":[]", table, StringComparison.Ordinal);
        TestApi.SeedPods(server, "ns", "p");
        Assert.Contains("\\u003cnone\\u003e", await TestApi.GetStringAsync(client, "/api/v1/namespaces/ns/pods", accept: TestApi.TableAccept), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resource_versions_come_from_one_global_counter()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        var start = long.Parse(server.CurrentResourceVersion, System.Globalization.CultureInfo.InvariantCulture);
        var rvs = new List<long>
        {
            TestApi.RvNumber(await TestApi.CreateAsync(client, "/api/v1/namespaces/ns/pods", TestApi.Pod("p"))),
            TestApi.RvNumber(await TestApi.CreateAsync(client, "/api/v1/namespaces/ns/configmaps", TestApi.ConfigMap("c"))),
            TestApi.RvNumber(await TestApi.CreateAsync(client, "/apis/apps/v1/namespaces/ns/replicasets", """{"metadata":{"name":"r"},"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"x"}]}}}}""")),
            TestApi.RvNumber(await TestApi.CreateAsync(client, "/apis/batch/v1/namespaces/ns/jobs", """{"metadata":{"name":"j"},"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"x"}]}}}}""")),
            TestApi.RvNumber(await TestApi.CreateAsync(client, "/apis/coordination.k8s.io/v1/namespaces/ns/leases", """{"metadata":{"name":"l"},"spec":{"holderIdentity":"me"}}""")),
            TestApi.RvNumber(await TestApi.CreateAsync(client, "/api/v1/namespaces", """{"metadata":{"name":"ns"}}""")),
        };
        Assert.Equal(Enumerable.Range(1, 6).Select(i => start + i), rvs);
        Assert.Equal(rvs[^1].ToString(System.Globalization.CultureInfo.InvariantCulture), server.CurrentResourceVersion);
    }

    [WireFact]
    public async Task Write_errors_match_the_wire_samples()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        TestApi.SeedPods(server, "wire", "alpha", "beta", "gamma");
        var alpha = TestApi.Pod("alpha");

        async Task Expect(HttpMethod method, string path, string? body, HttpStatusCode status, string file, string mediaType = "application/json")
        {
            var (actualStatus, text, _) = await TestApi.SendAsync(client, method, path, body, mediaType);
            Assert.Equal(status, actualStatus);
            Assert.Equal(WireSamples.Text(file), text);
        }

        await Expect(HttpMethod.Post, "/api/v1/namespaces/wire/pods", alpha.ToJsonString(), HttpStatusCode.Conflict, "errors/409-already-exists.json");
        await Expect(HttpMethod.Put, "/api/v1/namespaces/wire/pods/gamma", WireSamples.Text("errors/409-conflict.request.json"), HttpStatusCode.Conflict, "errors/409-conflict.json");
        await Expect(HttpMethod.Post, "/api/v1/namespaces/wire/pods", """{"apiVersion":"v1","kind":"Pod","metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"x"}]}}""", HttpStatusCode.UnprocessableEntity, "errors/422-missing-name.json");
        await Expect(HttpMethod.Post, "/api/v1/namespaces/wire/pods", """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"trunc""", HttpStatusCode.BadRequest, "errors/400-malformed-json.json");
        await Expect(HttpMethod.Post, "/api/v1/namespaces/wire/pods", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}""", HttpStatusCode.BadRequest, "errors/400-kind-mismatch.json");
        await Expect(HttpMethod.Post, "/api/v1/namespaces/wire/pods", TestApi.Pod("x", "default").ToJsonString(), HttpStatusCode.BadRequest, "errors/400-namespace-mismatch.json");
        await Expect(HttpMethod.Get, "/api/v1/namespaces/wire/pods/missing", null, HttpStatusCode.NotFound, "errors/404-not-found.json");
        await Expect(HttpMethod.Post, "/api/v1/namespaces/wire/pods/alpha", alpha.ToJsonString(), HttpStatusCode.MethodNotAllowed, "errors/405-post-to-named-resource.json");
        await Expect(HttpMethod.Delete, "/api/v1/namespaces/wire/pods/alpha/status", null, HttpStatusCode.MethodNotAllowed, "errors/405-delete-on-status.json");
        await Expect(HttpMethod.Patch, "/api/v1/namespaces/wire/pods/alpha", """{"metadata":{"labels":{"a":"b"}}}""", HttpStatusCode.UnsupportedMediaType, "errors/415-patch-with-application-json.json");

        var (status, notAcceptable, _) = await TestApi.SendAsync(client, HttpMethod.Get, "/api/v1/namespaces/wire/pods/alpha", accept: "application/xml");
        Assert.Equal(HttpStatusCode.NotAcceptable, status);
        var wire406 = WireSamples.Json("errors/406-not-acceptable.json");
        var actual406 = TestApi.Parse(notAcceptable);
        Assert.StartsWith("{\n  \"kind\": \"Status\",", notAcceptable, StringComparison.Ordinal);
        Assert.Equal(wire406.Select(kv => kv.Key), actual406.Select(kv => kv.Key));
        Assert.Equal("NotAcceptable", actual406["reason"]!.GetValue<string>());
        Assert.StartsWith("406: Not Acceptable\n\nAvailable representations: application/json", actual406["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_names_and_labels_are_rejected_with_422()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        var (status, body, _) = await TestApi.SendAsync(client, HttpMethod.Post, "/api/v1/namespaces/ns/pods", TestApi.Pod("Bad_Name").ToJsonString());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.StartsWith("Pod \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain", TestApi.Parse(body)["message"]!.GetValue<string>(), StringComparison.Ordinal);
        (status, body, _) = await TestApi.SendAsync(client, HttpMethod.Post, "/api/v1/namespaces/ns/pods", TestApi.Pod("ok", labels: new() { ["app"] = "not valid!" }).ToJsonString());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Equal("metadata.labels", TestApi.Parse(body)["details"]!["causes"]![0]!["field"]!.GetValue<string>());
        (status, _, _) = await TestApi.SendAsync(client, HttpMethod.Post, "/api/v1/namespaces?dryRun=All", """{"metadata":{"name":"x"}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
    }

    [WireFact]
    public async Task Status_subresource_writes_only_status_and_main_resource_ignores_status()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        var created = await TestApi.CreateAsync(client, "/api/v1/namespaces/wire/pods", WireSamples.Text("objects/pod-create.request.json"));
        var name = TestApi.Name(created);

        var request = WireSamples.Json("objects/pod-status-put.request.json");
        request["metadata"]!["name"] = name;
        request["metadata"]!["uid"] = TestApi.Uid(created);
        request["metadata"]!["resourceVersion"] = TestApi.Rv(created);
        var updated = await TestApi.WriteAsync(client, HttpMethod.Put, $"/api/v1/namespaces/wire/pods/{name}/status", request, HttpStatusCode.OK);
        var wire = WireSamples.Json("objects/pod-status-put.200.json");

        // Go's typed decoding adds zero-value structs such as "lastState":{}; the embedded server stores JSON as sent.
        wire["status"]!["containerStatuses"]![0]!.AsObject().Remove("lastState");
        TestApi.AssertJsonEqual(wire["status"], updated["status"]);
        Assert.Equal("nginx:1.27", updated["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        Assert.Equal(TestApi.RvNumber(created) + 1, TestApi.RvNumber(updated));
        Assert.Equal("status", updated["metadata"]!["managedFields"]![1]!["subresource"]!.GetValue<string>());

        // The field sets have the real server's shapes: "." on maps and list elements, associative lists keyed by their
        // merge keys (containers by name, ports by containerPort and protocol, conditions by type, pod IPs by ip).
        var wireManaged = wire["metadata"]!["managedFields"]!.AsArray();
        var managed = updated["metadata"]!["managedFields"]!.AsArray();
        Assert.Equal(wireManaged.Count, managed.Count);
        for (var i = 0; i < managed.Count; i++)
        {
            var expected = wireManaged[i]!["fieldsV1"]!.DeepClone();
            if (i == 1)
            {
                // Our status entry records containerStatuses' fields as sent (Go's typed decode first adds "lastState":{}),
                // and every status field, where the real server records only those the write changed (qosClass was
                // already set at create).
                expected["f:status"]!.AsObject().Remove("f:containerStatuses");
                managed[i]!["fieldsV1"]!["f:status"]!.AsObject().Remove("f:containerStatuses");
                Assert.True(managed[i]!["fieldsV1"]!["f:status"]!.AsObject().Remove("f:qosClass"));
            }

            TestApi.AssertJsonEqual(expected, managed[i]!["fieldsV1"]);
        }

        // The reverse: PUT on the main resource keeps status but applies the labels.
        var main = (JsonObject)updated.DeepClone();
        main["status"]!["phase"] = "Failed";
        main["metadata"]!["labels"]!["added"] = "yes";
        var after = await TestApi.WriteAsync(client, HttpMethod.Put, $"/api/v1/namespaces/wire/pods/{name}", main, HttpStatusCode.OK);
        Assert.Equal("Running", after["status"]!["phase"]!.GetValue<string>());
        Assert.Equal("yes", after["metadata"]!["labels"]!["added"]!.GetValue<string>());

        // Status patch on /status.
        var patched = await TestApi.WriteAsync(client, HttpMethod.Patch, $"/api/v1/namespaces/wire/pods/{name}/status", """{"status":{"phase":"Succeeded"},"spec":{"nodeName":"ignored"}}""", HttpStatusCode.OK, "application/merge-patch+json");
        Assert.Equal("Succeeded", patched["status"]!["phase"]!.GetValue<string>());
        Assert.Null(patched["spec"]!["nodeName"]);
    }

    [Fact]
    public async Task Updates_use_optimistic_concurrency_unless_the_resourceVersion_is_empty()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        var v1 = await TestApi.CreateAsync(client, "/api/v1/namespaces/ns/configmaps", TestApi.ConfigMap("c", data: new() { ["k"] = "1" }));
        var v2Body = (JsonObject)v1.DeepClone();
        v2Body["data"]!["k"] = "2";
        var v2 = await TestApi.WriteAsync(client, HttpMethod.Put, "/api/v1/namespaces/ns/configmaps/c", v2Body, HttpStatusCode.OK);
        Assert.Equal(TestApi.RvNumber(v1) + 1, TestApi.RvNumber(v2));

        var stale = (JsonObject)v1.DeepClone();
        stale["data"]!["k"] = "stale";
        var conflict = await TestApi.WriteAsync(client, HttpMethod.Put, "/api/v1/namespaces/ns/configmaps/c", stale, HttpStatusCode.Conflict);
        Assert.Equal("Operation cannot be fulfilled on configmaps \"c\": the object has been modified; please apply your changes to the latest version and try again", conflict["message"]!.GetValue<string>());

        stale["metadata"]!.AsObject().Remove("resourceVersion");
        var forced = await TestApi.WriteAsync(client, HttpMethod.Put, "/api/v1/namespaces/ns/configmaps/c", stale, HttpStatusCode.OK);
        Assert.Equal("stale", forced["data"]!["k"]!.GetValue<string>());

        await TestApi.WriteAsync(client, HttpMethod.Put, "/api/v1/namespaces/ns/configmaps/missing", TestApi.ConfigMap("missing"), HttpStatusCode.NotFound);
        var mismatch = await TestApi.WriteAsync(client, HttpMethod.Put, "/api/v1/namespaces/ns/configmaps/c", TestApi.ConfigMap("other"), HttpStatusCode.BadRequest);
        Assert.Equal("the name of the object (other) does not match the name on the URL (c)", mismatch["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_update_that_changes_nothing_keeps_the_revision_and_sends_no_event()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        var created = await TestApi.CreateAsync(client, "/api/v1/namespaces/ns/configmaps", TestApi.ConfigMap("c", data: new() { ["k"] = "v" }));
        await using var watch = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/ns/configmaps?watch=true&resourceVersion={TestApi.Rv(created)}");
        var same = await TestApi.WriteAsync(client, HttpMethod.Put, "/api/v1/namespaces/ns/configmaps/c", created, HttpStatusCode.OK);
        Assert.Equal(TestApi.Rv(created), TestApi.Rv(same));
        var patched = await TestApi.WriteAsync(client, HttpMethod.Patch, "/api/v1/namespaces/ns/configmaps/c", """{"data":{"k":"v"}}""", HttpStatusCode.OK, "application/merge-patch+json");
        Assert.Equal(TestApi.Rv(created), TestApi.Rv(patched));

        await TestApi.WriteAsync(client, HttpMethod.Patch, "/api/v1/namespaces/ns/configmaps/c", """{"data":{"k":"w"}}""", HttpStatusCode.OK, "application/merge-patch+json");
        var first = await watch.NextAsync();
        Assert.Equal("MODIFIED", first.Type());
        Assert.Equal("w", first.Object()["data"]!["k"]!.GetValue<string>());
    }

    [Fact]
    public async Task Merge_strategic_and_json_patches_apply()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        var pod = TestApi.Pod("p", labels: new() { ["a"] = "1", ["b"] = "2" });
        pod["spec"]!["containers"]!.AsArray().Add(new JsonObject { ["name"] = "side", ["image"] = "side:1" });
        await TestApi.CreateAsync(client, "/api/v1/namespaces/ns/pods", pod);
        const string path = "/api/v1/namespaces/ns/pods/p";

        var merged = await TestApi.WriteAsync(client, HttpMethod.Patch, path, """{"metadata":{"labels":{"a":null,"c":"3"}}}""", HttpStatusCode.OK, "application/merge-patch+json");
        TestApi.AssertJsonEqual(JsonNode.Parse("""{"b":"2","c":"3"}"""), merged["metadata"]!["labels"]);

        var strategic = await TestApi.WriteAsync(client, HttpMethod.Patch, path,
            """{"$setElementOrder/containers":[{"name":"c"},{"name":"side"}],"spec":{"containers":[{"name":"side","image":"side:2"}]},"metadata":{"finalizers":["x/y"]}}""",
            HttpStatusCode.OK, "application/strategic-merge-patch+json");
        var containers = strategic["spec"]!["containers"]!.AsArray();
        Assert.Equal(2, containers.Count);
        Assert.Equal("busybox:1.36", containers[0]!["image"]!.GetValue<string>());
        Assert.Equal("side:2", containers[1]!["image"]!.GetValue<string>());
        Assert.Null(strategic["$setElementOrder/containers"]);

        var deleteFromList = await TestApi.WriteAsync(client, HttpMethod.Patch, path,
            """{"metadata":{"$deleteFromPrimitiveList/finalizers":["x/y"]},"spec":{"containers":[{"name":"side","$patch":"delete"}]}}""",
            HttpStatusCode.OK, "application/strategic-merge-patch+json");
        Assert.Null(deleteFromList["metadata"]!["finalizers"]);
        Assert.Single(deleteFromList["spec"]!["containers"]!.AsArray());

        var jsonPatched = await TestApi.WriteAsync(client, HttpMethod.Patch, path,
            """[{"op":"add","path":"/metadata/labels/d","value":"4"},{"op":"replace","path":"/spec/containers/0/image","value":"busybox:1.37"},{"op":"test","path":"/metadata/labels/b","value":"2"}]""",
            HttpStatusCode.OK, "application/json-patch+json");
        Assert.Equal("4", jsonPatched["metadata"]!["labels"]!["d"]!.GetValue<string>());
        Assert.Equal("busybox:1.37", jsonPatched["spec"]!["containers"]![0]!["image"]!.GetValue<string>());

        var failedTest = await TestApi.WriteAsync(client, HttpMethod.Patch, path, """[{"op":"test","path":"/metadata/labels/b","value":"nope"}]""", HttpStatusCode.UnprocessableEntity, "application/json-patch+json");

        // Each failing operation is named in its error (evanphx/json-patch wording).
        foreach (var (patch, expected) in new[]
        {
            ("""[{"op":"replace","path":"/metadata/labels/missing","value":"x"}]""", "replace operation does not apply: doc is missing path: \"/metadata/labels/missing\": missing value"),
            ("""[{"op":"remove","path":"/metadata/labels/missing"}]""", "remove operation does not apply: doc is missing path: \"/metadata/labels/missing\": missing value"),
            ("""[{"op":"move","from":"/metadata/labels/missing","path":"/metadata/labels/x"}]""", "move operation does not apply: doc is missing from path: \"/metadata/labels/missing\": missing value"),
            ("""[{"op":"copy","from":"/nope/deeper","path":"/metadata/labels/x"}]""", "copy operation does not apply: doc is missing from path: \"/nope/deeper\": missing value"),
            ("""[{"op":"add","path":"/nope/deeper","value":"x"}]""", "add operation does not apply: doc is missing path: \"/nope/deeper\": missing value"),
        })
        {
            var failed = await TestApi.WriteAsync(client, HttpMethod.Patch, path, patch, HttpStatusCode.UnprocessableEntity, "application/json-patch+json");
            Assert.Equal(expected, failed["message"]!.GetValue<string>());
        }
        Assert.Equal("Invalid", failedTest["reason"]!.GetValue<string>());
        await TestApi.WriteAsync(client, HttpMethod.Patch, path, """{"metadata":{"resourceVersion":"1"}}""", HttpStatusCode.Conflict, "application/merge-patch+json");
        await TestApi.WriteAsync(client, HttpMethod.Patch, path, """{"metadata":""", HttpStatusCode.BadRequest, "application/merge-patch+json");
        await TestApi.WriteAsync(client, HttpMethod.Patch, path, "{}", HttpStatusCode.BadRequest, "application/apply-patch+yaml"); // apply needs a fieldManager
        await TestApi.WriteAsync(client, HttpMethod.Patch, path, "{}", HttpStatusCode.UnsupportedMediaType, "text/plain");
    }

    [Fact]
    public async Task Generation_changes_only_when_the_spec_changes()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        const string rsPath = "/apis/apps/v1/namespaces/ns/replicasets";
        var rs = await TestApi.CreateAsync(client, rsPath, """{"metadata":{"name":"r"},"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"x"}]}}}}""");
        int Generation(JsonObject o) => o["metadata"]!["generation"]!.GetValue<int>();
        Assert.Equal(1, Generation(rs));
        Assert.Equal(1, rs["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal(1, Generation(await TestApi.WriteAsync(client, HttpMethod.Patch, rsPath + "/r", """{"metadata":{"labels":{"x":"y"}}}""", HttpStatusCode.OK, "application/merge-patch+json")));
        Assert.Equal(2, Generation(await TestApi.WriteAsync(client, HttpMethod.Patch, rsPath + "/r", """{"spec":{"replicas":3}}""", HttpStatusCode.OK, "application/merge-patch+json")));
        Assert.Equal(2, Generation(await TestApi.WriteAsync(client, HttpMethod.Patch, rsPath + "/r/status", """{"status":{"replicas":3,"readyReplicas":3}}""", HttpStatusCode.OK, "application/merge-patch+json")));

        var scale = await TestApi.GetJsonAsync(client, rsPath + "/r/scale");
        Assert.Equal("Scale", scale["kind"]!.GetValue<string>());
        Assert.Equal(3, scale["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal("a=b", scale["status"]!["selector"]!.GetValue<string>());
        scale["spec"]!["replicas"] = 5;
        var scaled = await TestApi.WriteAsync(client, HttpMethod.Put, rsPath + "/r/scale", scale, HttpStatusCode.OK);
        Assert.Equal(5, scaled["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal(3, Generation(await TestApi.GetJsonAsync(client, rsPath + "/r")));

        var pod = await TestApi.CreateAsync(client, "/api/v1/namespaces/ns/pods", TestApi.Pod("p"));
        Assert.Null(pod["metadata"]!["generation"]);
    }

    [Fact]
    public async Task A_pod_on_a_node_terminates_gracefully_until_its_kubelet_deletes_it_with_grace_zero()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero));
        await using var server = await TestApi.StartAsync(o => o.TimeProvider = clock);
        using var client = TestApi.Client(server);
        var scheduled = TestApi.Pod("on-node");
        scheduled["spec"]!["nodeName"] = "node-1";
        scheduled["spec"]!["terminationGracePeriodSeconds"] = 20;
        await TestApi.CreateAsync(client, "/api/v1/namespaces/ns/pods", scheduled);
        const string path = "/api/v1/namespaces/ns/pods/on-node";

        var terminating = await TestApi.WriteAsync(client, HttpMethod.Delete, path, "{}", HttpStatusCode.OK);
        Assert.Equal("2026-11-22T10:00:20Z", terminating["metadata"]!["deletionTimestamp"]!.GetValue<string>());
        Assert.Equal(20, terminating["metadata"]!["deletionGracePeriodSeconds"]!.GetValue<long>());
        var still = await TestApi.GetJsonAsync(client, path);
        Assert.Equal(terminating["metadata"]!["resourceVersion"]!.GetValue<string>(), still["metadata"]!["resourceVersion"]!.GetValue<string>());

        // A longer grace period changes nothing; a shorter one shortens it.
        var again = await TestApi.WriteAsync(client, HttpMethod.Delete, path + "?gracePeriodSeconds=60", null!, HttpStatusCode.OK);
        Assert.Equal(still["metadata"]!["resourceVersion"]!.GetValue<string>(), again["metadata"]!["resourceVersion"]!.GetValue<string>());
        var shorter = await TestApi.WriteAsync(client, HttpMethod.Delete, path, """{"gracePeriodSeconds":5}""", HttpStatusCode.OK);
        Assert.Equal(5, shorter["metadata"]!["deletionGracePeriodSeconds"]!.GetValue<long>());

        // The kubelet confirms: gone.
        await TestApi.WriteAsync(client, HttpMethod.Delete, path + "?gracePeriodSeconds=0", null!, HttpStatusCode.OK);
        await TestApi.GetStringAsync(client, path, HttpStatusCode.NotFound);

        // A pod on no node is deleted at once (the wire: MODIFIED with the deletionTimestamp, then DELETED).
        await TestApi.CreateAsync(client, "/api/v1/namespaces/ns/pods", TestApi.Pod("unscheduled"));
        await TestApi.WriteAsync(client, HttpMethod.Delete, "/api/v1/namespaces/ns/pods/unscheduled", "{}", HttpStatusCode.OK);
        await TestApi.GetStringAsync(client, "/api/v1/namespaces/ns/pods/unscheduled", HttpStatusCode.NotFound);
    }

    [WireFact]
    public async Task Deleting_a_pod_returns_the_pod_and_watchers_see_modified_then_deleted()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        TestApi.SeedPods(server, "wire", "beta");
        var rv0 = server.CurrentResourceVersion;
        await using var watch = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/wire/pods?watch=true&resourceVersion={rv0}");
        var (status, body, _) = await TestApi.SendAsync(client, HttpMethod.Delete, "/api/v1/namespaces/wire/pods/beta");
        Assert.Equal(HttpStatusCode.OK, status);
        var deleted = TestApi.Parse(body);
        var wire = WireSamples.Json("objects/pod-delete.200.json");
        Assert.Equal("Pod", deleted["kind"]!.GetValue<string>());
        Assert.Equal(wire["metadata"]!.AsObject().Select(kv => kv.Key), deleted["metadata"]!.AsObject().Select(kv => kv.Key));
        Assert.Equal(0, deleted["metadata"]!["deletionGracePeriodSeconds"]!.GetValue<int>());
        Assert.Equal(long.Parse(rv0, System.Globalization.CultureInfo.InvariantCulture) + 2, TestApi.RvNumber(deleted));
        Assert.Matches(Rfc3339(), deleted["metadata"]!["deletionTimestamp"]!.GetValue<string>());

        var modified = await watch.NextAsync();
        var gone = await watch.NextAsync();
        Assert.Equal(("MODIFIED", "DELETED"), (modified.Type(), gone.Type()));
        Assert.Equal(TestApi.Rv(deleted), gone.ObjectRv());
        await TestApi.GetStringAsync(client, "/api/v1/namespaces/wire/pods/beta", HttpStatusCode.NotFound);
    }

    [WireFact]
    public async Task Deleting_a_configmap_returns_a_Status_like_the_wire()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        var cm = server.Objects.Create(ApiResourceDefinition.ConfigMaps, TestApi.ConfigMap("tick1", "wire-other"));
        var (status, body, _) = await TestApi.SendAsync(client, HttpMethod.Delete, "/api/v1/namespaces/wire-other/configmaps/tick1", """{"propagationPolicy":"Background"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var expected = WireSamples.Text("objects/configmap-delete.200.json").Replace("c89d10df-8226-4ecd-87c8-ad1ec545f1fb", TestApi.Uid(cm), StringComparison.Ordinal);
        Assert.Equal(expected, body);

        var rs = await TestApi.CreateAsync(client, "/apis/apps/v1/namespaces/ns/replicasets", """{"metadata":{"name":"r"},"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"x"}]}}}}""");
        var rsStatus = TestApi.Parse((await TestApi.SendAsync(client, HttpMethod.Delete, "/apis/apps/v1/namespaces/ns/replicasets/r")).Body);
        TestApi.AssertJsonEqual(JsonNode.Parse($$"""{"name":"r","group":"apps","kind":"replicasets","uid":"{{TestApi.Uid(rs)}}"}"""), rsStatus["details"]);
    }

    [Fact]
    public async Task Delete_preconditions_are_checked()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        var cm = await TestApi.CreateAsync(client, "/api/v1/namespaces/ns/configmaps", TestApi.ConfigMap("c"));
        var (status, body, _) = await TestApi.SendAsync(client, HttpMethod.Delete, "/api/v1/namespaces/ns/configmaps/c", """{"preconditions":{"uid":"other"}}""");
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal($"Operation cannot be fulfilled on configmaps \"c\": Precondition failed: UID in precondition: other, UID in object meta: {TestApi.Uid(cm)}", TestApi.Parse(body)["message"]!.GetValue<string>());
        (status, body, _) = await TestApi.SendAsync(client, HttpMethod.Delete, "/api/v1/namespaces/ns/configmaps/c", """{"preconditions":{"resourceVersion":"1"}}""");
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("the ResourceVersion in the precondition (1) does not match the ResourceVersion in record", TestApi.Parse(body)["message"]!.GetValue<string>(), StringComparison.Ordinal);
        (status, _, _) = await TestApi.SendAsync(client, HttpMethod.Delete, "/api/v1/namespaces/ns/configmaps/c", $$$"""{"preconditions":{"uid":"{{{TestApi.Uid(cm)}}}","resourceVersion":"{{{TestApi.Rv(cm)}}}"}}""");
        Assert.Equal(HttpStatusCode.OK, status);
        (status, _, _) = await TestApi.SendAsync(client, HttpMethod.Delete, "/api/v1/namespaces/ns/configmaps/c");
        Assert.Equal(HttpStatusCode.NotFound, status);
        (status, _, _) = await TestApi.SendAsync(client, HttpMethod.Delete, "/api/v1/namespaces/ns/configmaps/x?propagationPolicy=Sideways");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
    }

    [Fact]
    public async Task Finalizers_hold_deletion_until_the_last_one_is_removed()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        var cm = TestApi.ConfigMap("held");
        cm["metadata"]!["finalizers"] = new JsonArray("example.com/hold");
        var created = await TestApi.CreateAsync(client, "/api/v1/namespaces/ns/configmaps", cm);
        await using var watch = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/ns/configmaps?watch=true&resourceVersion={TestApi.Rv(created)}");

        var (status, body, _) = await TestApi.SendAsync(client, HttpMethod.Delete, "/api/v1/namespaces/ns/configmaps/held");
        Assert.Equal(HttpStatusCode.OK, status);
        var pending = TestApi.Parse(body);
        Assert.Equal("ConfigMap", pending["kind"]!.GetValue<string>());
        Assert.NotNull(pending["metadata"]!["deletionTimestamp"]);
        var modified = await watch.NextAsync();
        Assert.Equal("MODIFIED", modified.Type());

        // Still there; a second delete changes nothing; no new finalizers may be added.
        var current = await TestApi.GetJsonAsync(client, "/api/v1/namespaces/ns/configmaps/held");
        Assert.Equal(TestApi.Rv(pending), TestApi.Rv(current));
        await TestApi.SendAsync(client, HttpMethod.Delete, "/api/v1/namespaces/ns/configmaps/held");
        Assert.Equal(TestApi.Rv(pending), TestApi.Rv(await TestApi.GetJsonAsync(client, "/api/v1/namespaces/ns/configmaps/held")));
        var add = (JsonObject)current.DeepClone();
        add["metadata"]!["finalizers"]!.AsArray().Add("example.com/more");
        var invalid = await TestApi.WriteAsync(client, HttpMethod.Put, "/api/v1/namespaces/ns/configmaps/held", add, HttpStatusCode.UnprocessableEntity);
        Assert.Contains("no new finalizers can be added if the object is being deleted", invalid["message"]!.GetValue<string>(), StringComparison.Ordinal);

        var release = (JsonObject)current.DeepClone();
        release["metadata"]!.AsObject().Remove("finalizers");
        await TestApi.WriteAsync(client, HttpMethod.Put, "/api/v1/namespaces/ns/configmaps/held", release, HttpStatusCode.OK);
        await TestApi.GetStringAsync(client, "/api/v1/namespaces/ns/configmaps/held", HttpStatusCode.NotFound);
        var deleted = await watch.NextAsync();
        Assert.Equal("DELETED", deleted.Type());
    }

    private static JsonObject OwnedPod(string name, params JsonObject[] owners)
    {
        var pod = TestApi.Pod(name, "ns");
        var refs = new JsonArray();
        foreach (var owner in owners)
        {
            refs.Add(new JsonObject
            {
                ["apiVersion"] = owner["apiVersion"]!.GetValue<string>(),
                ["kind"] = owner["kind"]!.GetValue<string>(),
                ["name"] = TestApi.Name(owner),
                ["uid"] = TestApi.Uid(owner),
                ["controller"] = true,
            });
        }

        pod["metadata"]!["ownerReferences"] = refs;
        return pod;
    }

    private static JsonObject ReplicaSet(EmbeddedApiServer server, string name)
        => server.Objects.Create(ApiResourceDefinition.ReplicaSets, TestApi.Parse("""{"metadata":{"name":"NAME","namespace":"ns"},"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"x"}]}}}}""".Replace("NAME", name, StringComparison.Ordinal)));

    [Fact]
    public async Task Deleting_an_owner_garbage_collects_or_orphans_its_dependents()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        var background = ReplicaSet(server, "bg");
        var orphaning = ReplicaSet(server, "orphan");
        var shared = ReplicaSet(server, "shared");
        server.Objects.Create(ApiResourceDefinition.Pods, OwnedPod("bg-1", background));
        server.Objects.Create(ApiResourceDefinition.Pods, OwnedPod("bg-2", background));
        server.Objects.Create(ApiResourceDefinition.Pods, OwnedPod("or-1", orphaning));
        server.Objects.Create(ApiResourceDefinition.Pods, OwnedPod("two-owners", background, shared));

        await TestApi.SendAsync(client, HttpMethod.Delete, "/apis/apps/v1/namespaces/ns/replicasets/bg", """{"propagationPolicy":"Background"}""");
        Assert.Null(server.Objects.Get(ApiResourceDefinition.Pods, "ns", "bg-1"));
        Assert.Null(server.Objects.Get(ApiResourceDefinition.Pods, "ns", "bg-2"));
        var survivor = server.Objects.Get(ApiResourceDefinition.Pods, "ns", "two-owners")!;
        Assert.Equal([TestApi.Uid(shared)], survivor["metadata"]!["ownerReferences"]!.AsArray().Select(r => r!["uid"]!.GetValue<string>()));

        await TestApi.SendAsync(client, HttpMethod.Delete, "/apis/apps/v1/namespaces/ns/replicasets/orphan?propagationPolicy=Orphan");
        var orphan = server.Objects.Get(ApiResourceDefinition.Pods, "ns", "or-1")!;
        Assert.Null(orphan["metadata"]!["ownerReferences"]);
    }

    [Fact]
    public async Task Foreground_deletion_removes_dependents_before_the_owner()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        var owner = ReplicaSet(server, "fg");
        server.Objects.Create(ApiResourceDefinition.Pods, OwnedPod("fg-1", owner));
        var rv0 = server.CurrentResourceVersion;
        await using var rsWatch = await WatchReader.OpenAsync(client, $"/apis/apps/v1/namespaces/ns/replicasets?watch=true&resourceVersion={rv0}");
        await using var podWatch = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/ns/pods?watch=true&resourceVersion={rv0}");
        await TestApi.SendAsync(client, HttpMethod.Delete, "/apis/apps/v1/namespaces/ns/replicasets/fg", """{"propagationPolicy":"Foreground"}""");

        var marked = await rsWatch.NextAsync();
        Assert.Equal("MODIFIED", marked.Type());
        Assert.Contains("foregroundDeletion", marked.Object()["metadata"]!["finalizers"]!.AsArray().Select(f => f!.GetValue<string>()));
        var ownerGone = await rsWatch.NextAsync();
        Assert.Equal("DELETED", ownerGone.Type());
        await podWatch.NextAsync(); // MODIFIED (deletionTimestamp)
        var podGone = await podWatch.NextAsync();
        Assert.Equal("DELETED", podGone.Type());
        Assert.True(long.Parse(marked.ObjectRv(), System.Globalization.CultureInfo.InvariantCulture) < long.Parse(podGone.ObjectRv(), System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(long.Parse(podGone.ObjectRv(), System.Globalization.CultureInfo.InvariantCulture) < long.Parse(ownerGone.ObjectRv(), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Jobs_orphan_their_pods_by_default_and_namespaces_take_their_contents_along()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        var job = server.Objects.Create(ApiResourceDefinition.Jobs, TestApi.Parse("""{"metadata":{"name":"j","namespace":"ns"},"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"x"}]}}}}"""));
        Assert.Equal(TestApi.Uid(job), job["spec"]!["selector"]!["matchLabels"]!["batch.kubernetes.io/controller-uid"]!.GetValue<string>());
        server.Objects.Create(ApiResourceDefinition.Pods, OwnedPod("j-1", job));
        await TestApi.SendAsync(client, HttpMethod.Delete, "/apis/batch/v1/namespaces/ns/jobs/j");
        Assert.NotNull(server.Objects.Get(ApiResourceDefinition.Pods, "ns", "j-1"));

        await TestApi.CreateAsync(client, "/api/v1/namespaces", """{"metadata":{"name":"ns"}}""");
        server.Objects.Create(ApiResourceDefinition.ConfigMaps, TestApi.ConfigMap("c", "ns"));
        await TestApi.SendAsync(client, HttpMethod.Delete, "/api/v1/namespaces/ns");
        Assert.Empty(server.Objects.List(ApiResourceDefinition.Pods, "ns").Items);
        Assert.Empty(server.Objects.List(ApiResourceDefinition.ConfigMaps, "ns").Items);
        await TestApi.GetStringAsync(client, "/api/v1/namespaces/ns", HttpStatusCode.NotFound);
    }
}
