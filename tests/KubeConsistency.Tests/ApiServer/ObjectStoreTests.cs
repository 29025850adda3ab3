using System.Text.Json.Nodes;
using KubeConsistency.Testing;

namespace KubeConsistency.Tests.ApiServer;

/// <summary>Server-side object access (<see cref="EmbeddedApiServer.Objects"/>) has the HTTP path's semantics.</summary>
public sealed class ObjectStoreTests
{
    [Fact]
    public async Task Server_side_writes_are_validated_versioned_and_watched()
    {
        await using var server = await TestApi.StartAsync();
        using var client = TestApi.Client(server);
        var objects = server.Objects;
        await using var watch = await WatchReader.OpenAsync(client, $"/api/v1/namespaces/ns/pods?watch=true&resourceVersion={server.CurrentResourceVersion}");

        var input = TestApi.Pod("p", "ns", new() { ["app"] = "a" });
        var created = objects.Create(ApiResourceDefinition.Pods, input, "simulator");
        Assert.Null(input["metadata"]!["uid"]);
        Assert.Equal("simulator", created["metadata"]!["managedFields"]![0]!["manager"]!.GetValue<string>());
        Assert.Equal(server.CurrentResourceVersion, TestApi.Rv(created));
        Assert.Equal("ADDED", (await watch.NextAsync()).Type());

        var status = (JsonObject)created.DeepClone();
        status["status"]!["phase"] = "Running";
        var running = objects.UpdateStatus(ApiResourceDefinition.Pods, status);
        Assert.Equal("Running", running["status"]!["phase"]!.GetValue<string>());
        Assert.Equal("MODIFIED", (await watch.NextAsync()).Type());

        var conflict = Assert.Throws<ApiServerStatusException>(() => objects.Update(ApiResourceDefinition.Pods, created));
        Assert.Equal(409, conflict.StatusCode);
        Assert.Equal("Conflict", conflict.Reason);
        Assert.Equal("Status", conflict.Status["kind"]!.GetValue<string>());

        var patched = objects.Patch(ApiResourceDefinition.Pods, "ns", "p", """[{"op":"add","path":"/metadata/labels/b","value":"2"}]""", ApiPatchType.Json);
        Assert.Equal("2", patched["metadata"]!["labels"]!["b"]!.GetValue<string>());
        var listed = objects.List(ApiResourceDefinition.Pods, "ns", "b=2");
        Assert.Equal(server.CurrentResourceVersion, listed.ResourceVersion);
        Assert.Equal("Pod", Assert.Single(listed.Items)["kind"]!.GetValue<string>());
        Assert.Empty(objects.List(ApiResourceDefinition.Pods, "ns", fieldSelector: "metadata.name=q").Items);

        var deleted = objects.Delete(ApiResourceDefinition.Pods, "ns", "p");
        Assert.NotNull(deleted["metadata"]!["deletionTimestamp"]);
        Assert.Null(objects.Get(ApiResourceDefinition.Pods, "ns", "p"));
        Assert.Equal(404, Assert.Throws<ApiServerStatusException>(() => objects.Delete(ApiResourceDefinition.Pods, "ns", "p")).StatusCode);
        Assert.Equal(400, Assert.Throws<ApiServerStatusException>(() => objects.Create(ApiResourceDefinition.Pods, TestApi.ConfigMap("x", "ns"))).StatusCode);
        Assert.Equal(400, Assert.Throws<ApiServerStatusException>(() => objects.List(ApiResourceDefinition.Pods, labelSelector: "a===b")).StatusCode);
        Assert.Throws<ArgumentException>(() => objects.Get(new ApiResourceDefinition("x.io", "v1", "X", "xs", "x", true), "ns", "a"));
    }

    [Fact]
    public async Task Cluster_scoped_objects_ignore_namespaces()
    {
        await using var server = await TestApi.StartAsync(o => o.CreateDefaultNamespaces = false);
        var ns = server.Objects.Create(ApiResourceDefinition.Namespaces, TestApi.Parse("""{"metadata":{"name":"team-a","namespace":"ignored"}}"""));
        Assert.Null(ns["metadata"]!["namespace"]);
        Assert.Equal("team-a", ns["metadata"]!["labels"]!["kubernetes.io/metadata.name"]!.GetValue<string>());
        Assert.Equal("Active", ns["status"]!["phase"]!.GetValue<string>());
        Assert.NotNull(server.Objects.Get(ApiResourceDefinition.Namespaces, null, "team-a"));
        Assert.Single(server.Objects.List(ApiResourceDefinition.Namespaces).Items);
        Assert.Equal(422, Assert.Throws<ApiServerStatusException>(() => server.Objects.Create(ApiResourceDefinition.Namespaces, TestApi.Parse("""{"metadata":{"name":"a.b"}}"""))).StatusCode);
    }
}
