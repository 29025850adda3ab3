using KubeConsistency.Cache;
using static KubeConsistency.Tests.TestObjects;

namespace KubeConsistency.Tests.Cache;

public sealed class IndexerTests
{
    private static IndexFunc<TestPod> ByLabel(string label) => p => p.Metadata?.Labels is { } l && l.TryGetValue(label, out var v) ? v.Split(',') : [];

    private static TestPod Labelled(string ns, string name, string rv, string app)
    {
        var p = Pod(ns, name, rv);
        p.Metadata!.Labels = new() { ["app"] = app };
        return p;
    }

    [Fact]
    public async Task Index_readers_share_the_lock_a_reader_does_not_block_another_while_writers_wait()
    {
        // Index() runs the caller's index function under the read lock; one that blocks holds a reader inside.
        using var inside = new SemaphoreSlim(0);
        using var release = new SemaphoreSlim(0);
        var blocking = false;
        var store = Store.Create(new StoreOptions<TestPod>
        {
            Indexers = new Dictionary<string, IndexFunc<TestPod>>
            {
                ["slow"] = p =>
                {
                    if (Volatile.Read(ref blocking))
                    {
                        inside.Release();
                        release.Wait();
                    }

                    return [p.Metadata!.NamespaceProperty!];
                },
            },
        });
        store.Add(Pod("a", "1", "1"));
        Volatile.Write(ref blocking, true);
        var slowReader = Task.Run(() => store.Index("slow", Pod("a", "x", "0")));
        Assert.True(await inside.WaitAsync(TimeSpan.FromSeconds(10)));

        // Other readers go ahead (upstream takes a read lock); with an exclusive lock these would wait for the slow one.
        var others = Task.Run(() => (store.ByIndex("slow", "a").Count, store.List().Count, store.ListKeys().Count, store.IndexKeys("slow", "a").Count, store.ListIndexFuncValues("slow").Count));
        Assert.Equal((1, 1, 1, 1, 1), await others.WaitAsync(TimeSpan.FromSeconds(10)));

        // A writer waits for the reader to leave.
        var writer = Task.Run(() => store.Bookmark("9"));
        Assert.NotSame(writer, await Task.WhenAny(writer, Task.Delay(TimeSpan.FromMilliseconds(50))));
        Volatile.Write(ref blocking, false);
        release.Release();
        Assert.Single(await slowReader.WaitAsync(TimeSpan.FromSeconds(10)));
        await writer.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("9", store.LastStoreSyncResourceVersion);
    }

    [Fact]
    public void ByIndex_IndexKeys_And_ListIndexFuncValues_FollowAddUpdateDelete()
    {
        var store = NewIndexer();
        store.Add(Pod("a", "1", "1"));
        store.Add(Pod("a", "2", "2"));
        store.Add(Pod("b", "3", "3"));
        Assert.Equal(["a/1", "a/2"], store.IndexKeys(Indexes.Namespace, "a").Order());
        Assert.Equal(["a", "b"], store.ListIndexFuncValues(Indexes.Namespace).Order());
        Assert.Equal(["1", "2"], store.ByIndex(Indexes.Namespace, "a").Select(p => p.Metadata!.Name).Order());

        store.Delete(Pod("b", "3", "4"));
        Assert.Equal(["a"], store.ListIndexFuncValues(Indexes.Namespace)); // empty sets are dropped
        Assert.Empty(store.ByIndex(Indexes.Namespace, "b"));
        Assert.Equal(["a/1", "a/2"], store.Index(Indexes.Namespace, Pod("a", "x", "0")).Select(p => store.KeyFunction(p)).Order());
    }

    [Fact]
    public void Update_MovesAnObjectBetweenIndexValues_AndHandlesMultiValues()
    {
        var store = Store.Create(new StoreOptions<TestPod> { Indexers = new Dictionary<string, IndexFunc<TestPod>> { ["app"] = ByLabel("app") } });
        store.Add(Labelled("ns", "p", "1", "web"));
        store.Update(Labelled("ns", "p", "2", "db,cache"));
        Assert.Empty(store.IndexKeys("app", "web"));
        Assert.Equal(["ns/p"], store.IndexKeys("app", "db"));
        Assert.Equal(["ns/p"], store.IndexKeys("app", "cache"));
        Assert.Single(store.Index("app", Labelled("x", "y", "1", "db,cache"))); // de-duplicated across values
    }

    [Fact]
    public void AddIndexers_IndexesExistingItems_AndRejectsConflicts()
    {
        var store = NewIndexer();
        store.Add(Labelled("ns", "p", "1", "web"));
        store.AddIndexers(new Dictionary<string, IndexFunc<TestPod>> { ["app"] = ByLabel("app") });
        Assert.Equal(["ns/p"], store.IndexKeys("app", "web"));
        Assert.Throws<ArgumentException>(() => store.AddIndexers(new Dictionary<string, IndexFunc<TestPod>> { ["app"] = ByLabel("app") }));
        Assert.True(store.RemoveIndexer("app"));
        Assert.False(store.RemoveIndexer("app"));
        Assert.Throws<KeyNotFoundException>(() => store.ByIndex("app", "web"));
        Assert.Empty(store.ListIndexFuncValues("app"));
    }

    [Fact]
    public void UnknownIndex_ThrowsKeyNotFound()
    {
        var store = NewIndexer();
        Assert.Throws<KeyNotFoundException>(() => store.IndexKeys("nope", "x"));
        Assert.Throws<KeyNotFoundException>(() => store.Index("nope", Pod("a", "b", "1")));
    }

    [Fact]
    public void ThrowingIndexFunction_LeavesTheStoreUnchanged()
    {
        var store = Store.Create(new StoreOptions<TestPod>
        {
            Indexers = new Dictionary<string, IndexFunc<TestPod>> { ["boom"] = p => p.Payload == "boom" ? throw new InvalidOperationException("index failure") : [p.Payload ?? ""] },
        });
        store.Add(Pod("ns", "a", "1", "ok"));
        Assert.Throws<InvalidOperationException>(() => store.Update(Pod("ns", "a", "2", "boom")));
        Assert.True(store.TryGetByKey("ns/a", out var kept));
        Assert.Equal("1", kept.Metadata!.ResourceVersion);
        Assert.Equal("1", store.LastStoreSyncResourceVersion);
        Assert.Equal(["ns/a"], store.IndexKeys("boom", "ok"));
    }

    [Fact]
    public void Replace_RebuildsIndexes_AndKeepsTheLastDuplicate()
    {
        var store = NewIndexer();
        store.Add(Pod("old", "x", "1"));
        store.Replace([Pod("n", "a", "2", "first"), Pod("n", "a", "3", "second")], "9");
        Assert.Equal(1, store.Count);
        Assert.True(store.TryGetByKey("n/a", out var a));
        Assert.Equal("second", a.Payload);
        Assert.Equal(["n"], store.ListIndexFuncValues(Indexes.Namespace));
    }

    [Fact]
    public async Task ConcurrentReadersDuringWrites_SeeConsistentItems()
    {
        var store = NewIndexer();
        using var stop = new CancellationTokenSource();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reader = Task.Run(() =>
        {
            var reads = 0;
            started.SetResult();
            do
            {
                var rv = store.LastStoreSyncResourceVersion;
                if (rv.Length > 0 && store.TryGetByKey("ns/p" + rv, out var pod))
                {
                    // The RV is published after the item it describes: the item is always there.
                    Assert.Equal(rv, pod.Metadata!.ResourceVersion);
                }
                else if (rv.Length > 0)
                {
                    Assert.Fail($"RV {rv} visible before its item");
                }

                reads++;
            }
            while (!stop.IsCancellationRequested);

            return reads;
        });
        await started.Task;
        for (var i = 1; i <= 20_000; i++)
        {
            store.Add(Pod("ns", "p" + i, i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        stop.Cancel();
        Assert.True(await reader > 0);
        Assert.Equal(20_000, store.Count);
        Assert.Equal(20_000, store.ByIndex(Indexes.Namespace, "ns").Count);
    }
}
