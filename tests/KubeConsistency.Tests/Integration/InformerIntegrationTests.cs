using System.Text;
using KubeConsistency.Cache;
using KubeConsistency.Client;
using KubeConsistency.Testing;
using KubeConsistency.Tests.Client;
using Pod = KubeConsistency.Tests.Client.TestPod;

namespace KubeConsistency.Tests.Integration;

/// <summary>The informer against the embedded API server over real loopback HTTP (upstream-semantics.md §3.4, §4.3, §5).</summary>
public sealed class InformerIntegrationTests
{
    private static readonly TimeSpan Guard = IntegrationHarness.Guard;

    [Fact]
    public async Task Section5_1_InitialSync_ListPath_FillsTheStoreAtTheListRv()
    {
        await using var h = await IntegrationHarness.StartAsync(start: false);
        for (var i = 0; i < 25; i++)
        {
            h.CreatePod("p" + i, "ns" + (i % 3));
        }

        var serverRv = h.Server.CurrentResourceVersion;
        h.Start();
        await h.Informer.WaitForSyncAsync().WaitAsync(Guard);
        Assert.Equal(25, h.Informer.Indexer.Count);
        Assert.Equal(h.ServerPods(), h.CachedPods());
        Assert.Equal(9, h.Informer.Indexer.ByIndex(Indexes.Namespace, "ns0").Count);
        Assert.Equal(serverRv, h.Informer.Indexer.LastStoreSyncResourceVersion);
        Assert.All(await h.Events.NextAsync(25), e => Assert.EndsWith(" initial", e, StringComparison.Ordinal));
        Assert.Equal(1, h.Server.Faults.GetRequestCount("list", "", "pods"));
    }

    [Fact]
    public async Task Section3_4_AddUpdateDelete_FlowThroughTheCache_InServerOrder()
    {
        await using var h = await IntegrationHarness.StartAsync();
        await h.Informer.WaitForSyncAsync().WaitAsync(Guard);
        await h.Server.Faults.WaitForOpenWatchesAsync("", "pods").WaitAsync(Guard);

        var created = await h.Pods.CreateAsync(new Pod { Metadata = new TestObjectMeta { GenerateName = "web-", Namespace = "ns" }, Spec = new TestPodSpec { Containers = [new TestContainer { Name = "c", Image = "nginx" }] } });
        var name = created.Metadata!.Name!;
        Assert.Equal($"add ns/{name}@{created.Metadata.ResourceVersion}", await h.Events.NextAsync());

        var patched = await h.Pods.PatchAsync("ns", name, Encoding.UTF8.GetBytes("""{"metadata":{"labels":{"tier":"web"}}}"""));
        Assert.Equal($"update ns/{name}@{patched.Metadata!.ResourceVersion}", await h.Events.NextAsync());
        Assert.True(h.Informer.Indexer.TryGetByKey("ns/" + name, out var cached));
        Assert.Equal("web", cached.Metadata!.Labels!["tier"]);

        await h.Pods.DeleteAsync("ns", name);
        var seen = await h.Events.UntilAsync(e => e.StartsWith("delete", StringComparison.Ordinal));
        Assert.Equal(0, h.Informer.Indexer.Count);
        Assert.Equal(h.Server.CurrentResourceVersion, h.Informer.Indexer.LastStoreSyncResourceVersion);
        Assert.All(seen[..^1], e => Assert.StartsWith("update", e, StringComparison.Ordinal)); // graceful-deletion MODIFIED events first
    }

    [Fact]
    public async Task Section4_3_BookmarksAdvanceTheStoreRv_BeyondTheLastPodEvent()
    {
        var serverTime = new ManualTimeProvider(DateTimeOffset.UtcNow);
        await using var h = await IntegrationHarness.StartAsync(configureServer: o =>
        {
            o.TimeProvider = serverTime;
            o.BookmarkInterval = TimeSpan.FromSeconds(5);
        });
        h.CreatePod("a");
        await h.Informer.WaitForSyncAsync().WaitAsync(Guard);
        await h.Server.Faults.WaitForOpenWatchesAsync("", "pods").WaitAsync(Guard);
        var podRv = h.Informer.Indexer.LastStoreSyncResourceVersion;

        // Writes to another resource move the global revision; only a bookmark can tell the pod cache.
        for (var i = 0; i < 3; i++)
        {
            h.Server.Objects.Create(ApiResourceDefinition.ConfigMaps, new System.Text.Json.Nodes.JsonObject { ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["name"] = "cm" + i, ["namespace"] = "ns" } });
        }

        var current = h.Server.CurrentResourceVersion;
        Assert.True(ResourceVersion.Compare(current, podRv) > 0);
        serverTime.Advance(TimeSpan.FromSeconds(5));
        await h.Informer.WaitForStoreResourceVersionAsync(current).WaitAsync(Guard);
        Assert.Equal(current, h.Informer.Indexer.LastStoreSyncResourceVersion);
        Assert.Equal(current, h.Informer.LastSyncResourceVersion);
        Assert.False(h.Events.TryPeekBeyond(1)); // the bookmark produced no handler call
    }

    [Fact]
    public async Task Section5_3_WatchDrops_ResumeFromTheLastRv_WithoutRelisting()
    {
        await using var h = await IntegrationHarness.StartAsync();
        await h.Informer.WaitForSyncAsync().WaitAsync(Guard);
        await h.Server.Faults.WaitForOpenWatchesAsync("", "pods").WaitAsync(Guard);
        h.Server.Faults.DropWatchesAfter(2, "", "pods");
        for (var i = 0; i < 7; i++)
        {
            h.CreatePod("p" + i);
        }

        var events = await h.Events.NextAsync(7);
        Assert.Equal(Enumerable.Range(0, 7).Select(i => "ns/p" + i), events.Select(e => e.Split(' ')[1].Split('@')[0]));
        Assert.Equal(h.ServerPods(), h.CachedPods());
        Assert.True(h.Server.Faults.DroppedWatchCount >= 3);
        Assert.Equal(1, h.Server.Faults.GetRequestCount("list", "", "pods"));
        Assert.True(h.Server.Faults.GetRequestCount("watch", "", "pods") >= 4);
    }

    [Fact]
    public async Task Section5_1_RelistAfterCompaction_DeletionsDuringTheOutageArriveAsTombstones()
    {
        await using var h = await IntegrationHarness.StartAsync();
        h.CreatePod("keep");
        h.CreatePod("change");
        h.CreatePod("vanish");
        await h.Informer.WaitForSyncAsync().WaitAsync(Guard);
        await h.Events.NextAsync(3);
        await h.Server.Faults.WaitForOpenWatchesAsync("", "pods").WaitAsync(Guard);

        await h.Server.StopAsync();
        h.Server.Objects.Delete(ApiResourceDefinition.Pods, "ns", "vanish");
        h.Server.Objects.Patch(ApiResourceDefinition.Pods, "ns", "change", """{"metadata":{"labels":{"v":"2"}}}""");
        h.CreatePod("born");
        await h.Server.RestartAsync(); // compacts: the informer's RV is now too old to watch from

        // Deletes first, then adds/updates in list (name) order: born, change; keep is unchanged (§3.3).
        var seen = await h.Events.NextAsync(3);
        Assert.Equal("delete-tombstone ns/vanish", seen[0]);
        Assert.StartsWith("add ns/born@", seen[1], StringComparison.Ordinal);
        Assert.Contains(seen, e => e.StartsWith("update ns/change@", StringComparison.Ordinal));
        Assert.DoesNotContain(seen, e => e.Contains("ns/keep", StringComparison.Ordinal)); // unchanged: a sync, not delivered
        Assert.Equal(h.ServerPods(), h.CachedPods()); // no lost or phantom objects
        Assert.True(h.Informer.Statistics.Lists >= 2);
    }

    [Fact]
    public async Task Section5_2_WatchList_SyncsWithoutAList_AtTheEndBookmarkRv()
    {
        await using var h = await IntegrationHarness.StartAsync(o => o with { UseWatchList = true }, start: false);
        for (var i = 0; i < 10; i++)
        {
            h.CreatePod("p" + i);
        }

        var serverRv = h.Server.CurrentResourceVersion;
        h.Start();
        await h.Informer.WaitForSyncAsync().WaitAsync(Guard);
        Assert.Equal(h.ServerPods(), h.CachedPods());
        Assert.Equal(serverRv, h.Informer.Indexer.LastStoreSyncResourceVersion);
        Assert.Equal(0, h.Server.Faults.GetRequestCount("list", "", "pods"));
        Assert.Equal(1, h.Informer.Statistics.WatchLists);

        h.CreatePod("late");
        await h.Events.UntilAsync(e => e.StartsWith("add ns/late", StringComparison.Ordinal));
        Assert.Equal(1, h.Server.Faults.GetRequestCount("watch", "", "pods")); // the same stream continued
    }

    [Fact]
    public async Task Section5_2_WatchListFailure_FallsBackToList()
    {
        await using var h = await IntegrationHarness.StartAsync(
            o => o with { UseWatchList = true },
            beforeStart: x => x.Server.Faults.FailNextRequests(1, 500, filter: r => r.Verb == "watch"));
        h.CreatePod("a");
        await h.Informer.WaitForSyncAsync().WaitAsync(Guard);
        Assert.Equal(1, h.Informer.Statistics.WatchListFallbacks);
        Assert.Equal(1, h.Server.Faults.GetRequestCount("list", "", "pods"));
        await h.Events.UntilAsync(e => e.StartsWith("add ns/a", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Section5_1_ExpiredInitialList_IsPagedFromEmpty()
    {
        await using var h = await IntegrationHarness.StartAsync(start: false);
        for (var i = 0; i < 1_200; i++)
        {
            h.CreatePod("p" + i.ToString("D4", System.Globalization.CultureInfo.InvariantCulture), "ns" + (i % 7));
        }

        h.Server.Faults.FailNextRequests(1, 410, filter: r => r.Verb == "list");
        h.Start();
        await h.Informer.WaitForSyncAsync().WaitAsync(Guard);
        Assert.Equal(1_200, h.Informer.Indexer.Count);
        Assert.Equal(1 + 3, h.Server.Faults.GetRequestCount("list", "", "pods")); // the 410, then three pages of 500
        Assert.Equal(1, h.Informer.Statistics.Expirations);
    }

    [Fact]
    public async Task ServerErrors_AreRetriedWithBackoff_ThenTheInformerRecovers()
    {
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        await using var h = await IntegrationHarness.StartAsync(
            informerTime: time,
            beforeStart: x => x.Server.Faults.FailNextRequests(2, 500, filter: r => r.Verb == "list"));
        h.CreatePod("a");
        await time.WaitForTimerDueInAsync(TimeSpan.FromMilliseconds(800)).WaitAsync(Guard);
        time.Advance(TimeSpan.FromMilliseconds(800));
        await time.WaitForTimerDueInAsync(TimeSpan.FromMilliseconds(1600)).WaitAsync(Guard);
        Assert.False(h.Informer.HasSynced);
        time.Advance(TimeSpan.FromMilliseconds(1600));
        await h.Informer.WaitForSyncAsync().WaitAsync(Guard);
        Assert.Equal(2, h.Informer.Statistics.ListFailures);
        Assert.Equal(3, h.Server.Faults.GetRequestCount("list", "", "pods"));
    }

    [Fact]
    public async Task Section3_4_SlowHandler_DoesNotDelayTheCacheOrOtherHandlers_OverHttp()
    {
        var gate = new SemaphoreSlim(0);
        await using var h = await IntegrationHarness.StartAsync(beforeStart: x => x.Informer.AddEventHandler(new ResourceEventHandler<Pod> { OnAdd = (_, _) => gate.Wait(Guard), OnUpdate = (_, _) => gate.Wait(Guard) }));
        await h.Informer.WaitForSyncAsync().WaitAsync(Guard);
        await h.Server.Faults.WaitForOpenWatchesAsync("", "pods").WaitAsync(Guard);
        for (var i = 0; i < 50; i++)
        {
            h.CreatePod("p" + i);
        }

        await h.Events.NextAsync(50);
        await h.Informer.WaitForStoreResourceVersionAsync(h.Server.CurrentResourceVersion).WaitAsync(Guard);
        Assert.Equal(50, h.Informer.Indexer.Count);
        gate.Release(50);
    }

    [Fact]
    public async Task Cancellation_RightAfterStart_StopsCleanly()
    {
        var h = await IntegrationHarness.StartAsync();
        await h.DisposeAsync(); // cancels whatever phase the informer is in and awaits every task
        Assert.True(h.Run!.IsCompletedSuccessfully);
    }
}
