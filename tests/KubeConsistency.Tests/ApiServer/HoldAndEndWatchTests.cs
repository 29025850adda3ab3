using System.Globalization;
using System.Text.Json.Nodes;
using k8s.Models;
using KubeConsistency.Client;
using KubeConsistency.KubernetesClient;
using KubeConsistency.Testing;
using KubeConsistency.Tests.Scenarios;

namespace KubeConsistency.Tests.ApiServer;

/// <summary>The server-side delivery levers the scenario runner uses over HTTP, driven with KubernetesClient.</summary>
public sealed class HoldAndEndWatchTests
{
    private static JsonObject Pod(string name) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Pod",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "hold" },
        ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "c", ["image"] = "nginx:1.27" }) },
    };

    [Fact]
    public async Task HeldEventsWaitUntilReleased_InOrder()
    {
        await using var kit = await SampleScenarioKit.StartAsync();
        var faults = kit.Server.Faults;
        var pods = kit.Kubernetes.Resource<V1Pod>(new KubernetesResourceOptions { Namespace = "hold" });
        var start = await pods.ListAsync(new ListOptions());
        faults.HoldWatchEvents("", "pods", long.Parse(start.ResourceVersion, CultureInfo.InvariantCulture));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var events = pods.WatchAsync(new WatchOptions { ResourceVersion = start.ResourceVersion }, stop.Token).GetAsyncEnumerator(stop.Token);
        var first = events.MoveNextAsync();
        await faults.WaitForOpenWatchesAsync("", "pods", 1, stop.Token);
        var a = kit.Server.Objects.Create(ApiResourceDefinition.Pods, Pod("a"));
        kit.Server.Objects.Create(ApiResourceDefinition.Pods, Pod("b"));

        // The stream provably holds the first event back.
        await faults.WaitForDelayedWatchStreamsAsync(1, stop.Token);
        Assert.False(first.IsCompleted);

        faults.ReleaseWatchEvents("", "pods", long.Parse(a["metadata"]!["resourceVersion"]!.GetValue<string>(), CultureInfo.InvariantCulture));
        Assert.True(await first);
        Assert.Equal("a", events.Current.Object!.Metadata.Name);
        var second = events.MoveNextAsync();
        await faults.WaitForDelayedWatchStreamsAsync(1, stop.Token);
        Assert.False(second.IsCompleted);

        faults.ClearWatchHold("", "pods");
        Assert.True(await second);
        Assert.Equal("b", events.Current.Object!.Metadata.Name);
        Assert.Throws<InvalidOperationException>(() => faults.ReleaseWatchEvents("", "pods", 1));
    }

    [Fact]
    public async Task EndWatches_EndsOpenStreamsCleanly_AndLaterOnesStayOpen()
    {
        await using var kit = await SampleScenarioKit.StartAsync();
        var pods = kit.Kubernetes.Resource<V1Pod>(new KubernetesResourceOptions { Namespace = "hold" });
        var start = await pods.ListAsync(new ListOptions());
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var events = pods.WatchAsync(new WatchOptions { ResourceVersion = start.ResourceVersion }, stop.Token).GetAsyncEnumerator(stop.Token);
        var next = events.MoveNextAsync();
        await kit.Server.Faults.WaitForOpenWatchesAsync("", "pods", 1, stop.Token);
        kit.Server.Faults.EndWatches("", "pods");
        Assert.False(await next); // a clean end, not an error

        await using var later = pods.WatchAsync(new WatchOptions { ResourceVersion = start.ResourceVersion }, stop.Token).GetAsyncEnumerator(stop.Token);
        var again = later.MoveNextAsync();
        await kit.Server.Faults.WaitForOpenWatchesAsync("", "pods", 1, stop.Token);
        kit.Server.Objects.Create(ApiResourceDefinition.Pods, Pod("c"));
        Assert.True(await again);
        Assert.Equal("c", later.Current.Object!.Metadata.Name);
    }
}
