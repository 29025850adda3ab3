using System.Text.Json.Nodes;
using KubeConsistency.Testing;
using KubeConsistency.Testing.ApiServer;

namespace KubeConsistency.Tests.ApiServer;

/// <summary>Server-side printing for kubectl's Table Accept (wire/tables).</summary>
public sealed class TableTests
{
    private static List<string> Cells(JsonNode row, params int[] skip)
        => row["cells"]!.AsArray().Select((c, i) => (c, i)).Where(x => !skip.Contains(x.i)).Select(x => x.c?.ToJsonString() ?? "null").ToList();

    private static JsonObject RunningStatus()
        => (JsonObject)WireSamples.Json("objects/pod-status-put.200.json")["status"]!.DeepClone();

    [WireFact]
    public async Task Pod_tables_match_the_wire_columns_and_cells()
    {
        var clock = new ManualTimeProvider();
        await using var server = await TestApi.StartAsync(o => o.TimeProvider = clock);
        using var client = TestApi.Client(server, "kubectl/v1.32.4 (linux/amd64) kubernetes/4cb5f07");
        TestApi.SeedPods(server, "wire", "alpha", "delta", "epsilon", "gamma", "kc-apply");
        var web = server.Objects.Create(ApiResourceDefinition.Pods, TestApi.Pod("web-g6qrn", "wire"));
        web["status"] = RunningStatus();
        server.Objects.UpdateStatus(ApiResourceDefinition.Pods, web);
        clock.Advance(TimeSpan.FromMinutes(12));

        var table = await TestApi.GetJsonAsync(client, "/api/v1/namespaces/wire/pods?limit=500", accept: TestApi.TableAccept);
        var wire = WireSamples.Json("tables/pods-table.json");
        Assert.Equal(wire.Select(kv => kv.Key), table.Select(kv => kv.Key));
        TestApi.AssertJsonEqual(wire["columnDefinitions"], table["columnDefinitions"]);
        Assert.Equal(server.CurrentResourceVersion, table["metadata"]!["resourceVersion"]!.GetValue<string>());
        var rows = table["rows"]!.AsArray();
        var wireRows = wire["rows"]!.AsArray();
        Assert.Equal(wireRows.Count, rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.Equal(Cells(wireRows[i]!, 4), Cells(rows[i]!, 4));
            Assert.Equal("12m", rows[i]!["cells"]![4]!.GetValue<string>());
            var obj = rows[i]!["object"]!;
            Assert.Equal("PartialObjectMetadata", obj["kind"]!.GetValue<string>());
            Assert.Equal("meta.k8s.io/v1", obj["apiVersion"]!.GetValue<string>());
            Assert.Equal(["kind", "apiVersion", "metadata"], obj.AsObject().Select(kv => kv.Key));
        }

        // A single GET with the Table Accept is a one-row Table at the object's revision.
        var single = await TestApi.GetJsonAsync(client, "/api/v1/namespaces/wire/pods/web-g6qrn", accept: TestApi.TableAccept);
        var wireSingle = WireSamples.Json("tables/pod-single-table.json");
        Assert.Single(single["rows"]!.AsArray());
        Assert.Equal(Cells(wireSingle["rows"]![0]!, 4), Cells(single["rows"]![0]!, 4));
        Assert.Equal(TestApi.Rv(server.Objects.Get(ApiResourceDefinition.Pods, "wire", "web-g6qrn")!), single["metadata"]!["resourceVersion"]!.GetValue<string>());
    }

    [WireFact]
    public async Task ReplicaSet_and_Job_tables_match_the_wire_cells()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 11, 22, 10, 35, 40, TimeSpan.Zero));
        await using var server = await TestApi.StartAsync(o => o.TimeProvider = clock);
        using var client = TestApi.Client(server, "kubectl/v1.32.4 (linux/amd64) kubernetes/4cb5f07");
        server.Objects.Create(ApiResourceDefinition.ReplicaSets, TestApi.Parse("""{"metadata":{"name":"api","namespace":"wire","labels":{"app":"api"}},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"api"}},"template":{"metadata":{"labels":{"app":"api"}},"spec":{"containers":[{"name":"api","image":"busybox:1.36"}]}}}}"""));
        var webRs = server.Objects.Create(ApiResourceDefinition.ReplicaSets, TestApi.Parse("""{"metadata":{"name":"web","namespace":"wire","labels":{"app":"web"}},"spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"nginx","image":"nginx:1.27"}]}}}}"""));
        webRs["status"] = TestApi.Parse("""{"replicas":3,"fullyLabeledReplicas":3,"readyReplicas":3,"availableReplicas":3,"observedGeneration":1}""");
        server.Objects.UpdateStatus(ApiResourceDefinition.ReplicaSets, webRs);

        var done = server.Objects.Create(ApiResourceDefinition.Jobs, TestApi.Parse("""{"metadata":{"name":"done","namespace":"wire"},"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"busybox:1.36"}]}}}}"""));
        done["status"] = TestApi.Parse("""{"conditions":[{"type":"Complete","status":"True"}],"startTime":"2026-11-22T10:35:40Z","completionTime":"2026-11-22T10:35:47Z","succeeded":1}""");
        server.Objects.UpdateStatus(ApiResourceDefinition.Jobs, done);
        var pi = server.Objects.Create(ApiResourceDefinition.Jobs, TestApi.Parse("""{"metadata":{"name":"pi","namespace":"wire"},"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"pi","image":"perl:5.34"}]}}}}"""));
        pi["status"] = TestApi.Parse("""{"startTime":"2026-11-22T10:35:00Z","active":1}""");
        server.Objects.UpdateStatus(ApiResourceDefinition.Jobs, pi);
        clock.Advance(TimeSpan.FromSeconds(46));

        var rsTable = await TestApi.GetJsonAsync(client, "/apis/apps/v1/namespaces/wire/replicasets?limit=500", accept: TestApi.TableAccept);
        var wireRs = WireSamples.Json("tables/replicasets-table.json");
        TestApi.AssertJsonEqual(wireRs["columnDefinitions"], rsTable["columnDefinitions"]);
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(Cells(wireRs["rows"]![i]!), Cells(rsTable["rows"]![i]!));
        }

        var jobTable = await TestApi.GetJsonAsync(client, "/apis/batch/v1/namespaces/wire/jobs?limit=500", accept: TestApi.TableAccept);
        var wireJobs = WireSamples.Json("tables/jobs-table.json");
        TestApi.AssertJsonEqual(wireJobs["columnDefinitions"], jobTable["columnDefinitions"]);
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(Cells(wireJobs["rows"]![i]!, 7), Cells(jobTable["rows"]![i]!, 7));
        }

        Assert.Equal($"batch.kubernetes.io/controller-uid={TestApi.Uid(done)}", jobTable["rows"]![0]!["cells"]![7]!.GetValue<string>());
    }

    [Fact]
    public async Task Other_resources_get_name_and_age_tables()
    {
        // A frozen clock: "Age" must not depend on how loaded the machine is.
        await using var server = await TestApi.StartAsync(o => o.TimeProvider = new ManualTimeProvider(DateTimeOffset.UtcNow));
        using var client = TestApi.Client(server);
        server.Objects.Create(ApiResourceDefinition.ConfigMaps, TestApi.ConfigMap("c", "ns", new() { ["a"] = "1", ["b"] = "2" }));
        var cm = await TestApi.GetJsonAsync(client, "/api/v1/namespaces/ns/configmaps", accept: TestApi.TableAccept);
        Assert.Equal(["Name", "Data", "Age"], cm["columnDefinitions"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()));
        Assert.Equal(["\"c\"", "2", "\"0s\""], Cells(cm["rows"]![0]!));
        var ns = await TestApi.GetJsonAsync(client, "/api/v1/namespaces/default", accept: TestApi.TableAccept);
        Assert.Equal(["\"default\"", "\"Active\"", "\"0s\""], Cells(ns["rows"]![0]!));

        server.RegisterResource(new ApiResourceDefinition("example.com", "v1", "Widget", "widgets", "widget", Namespaced: true)
        {
            TableColumns = [new ApiTableColumn("Size", "integer", ".spec.size") { Description = "widget size" }],
        });
        server.Objects.Create(server.Resources.Single(r => r.Plural == "widgets"), TestApi.Parse("""{"metadata":{"name":"w","namespace":"ns"},"spec":{"size":7}}"""));
        var widgets = await TestApi.GetJsonAsync(client, "/apis/example.com/v1/namespaces/ns/widgets", accept: TestApi.TableAccept);
        Assert.Equal(["Name", "Size", "Age"], widgets["columnDefinitions"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()));
        Assert.Equal(["\"w\"", "7", "\"0s\""], Cells(widgets["rows"]![0]!));
    }

    [Theory]
    [InlineData(-5, "<invalid>")]
    [InlineData(-1, "0s")]
    [InlineData(0, "0s")]
    [InlineData(119, "119s")]
    [InlineData(120, "2m")]
    [InlineData(599, "9m59s")]
    [InlineData(600, "10m")]
    [InlineData(3 * 3600, "3h")]
    [InlineData((7 * 3600) + (59 * 60), "7h59m")]
    [InlineData(47 * 3600, "47h")]
    [InlineData(48 * 3600, "2d")]
    [InlineData((7 * 86400) + (23 * 3600), "7d23h")]
    [InlineData(400 * 86400, "400d")]
    [InlineData(((2 * 365) + 3) * 86400, "2y3d")]
    [InlineData(9 * 365 * 86400, "9y")]
    public void Ages_are_formatted_like_HumanDuration(int seconds, string expected)
        => Assert.Equal(expected, Tables.HumanDuration(TimeSpan.FromSeconds(seconds)));
}
