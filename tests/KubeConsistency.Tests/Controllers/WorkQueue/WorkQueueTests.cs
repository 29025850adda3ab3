using KubeConsistency.Controllers;
using KubeConsistency.Testing;
using Microsoft.Extensions.Logging;

namespace KubeConsistency.Tests.Controllers.WorkQueue;

/// <summary>Client-go <c>workqueue.Typed</c> semantics (queue.go, queue_test.go; upstream-semantics.md §8.1).</summary>
public sealed class WorkQueueTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public void Add_of_a_queued_key_is_deduplicated_and_order_is_fifo()
    {
        using var queue = KubeConsistency.Controllers.WorkQueue.Create<string>();
        queue.Add("a");
        queue.Add("b");
        queue.Add("a");
        queue.Add("c");
        queue.Add("b");

        Assert.Equal(3, queue.Len);
        Assert.Equal(["a", "b", "c"], DrainWithoutDone(queue));
        Assert.Equal(0, queue.Len);
    }

    [Fact]
    public void A_key_added_while_processing_is_requeued_exactly_once_after_Done()
    {
        using var queue = KubeConsistency.Controllers.WorkQueue.Create<string>();
        queue.Add("a");
        Assert.True(queue.TryGet(out var item));
        Assert.Equal("a", item);

        // While "a" is processed, adds mark it dirty but never hand it to a second worker.
        queue.Add("a");
        queue.Add("a");
        queue.Add("b");
        Assert.Equal(1, queue.Len);
        Assert.True(queue.TryGet(out var other));
        Assert.Equal("b", other);
        Assert.False(queue.TryGet(out _));

        queue.Done("a");
        Assert.Equal(1, queue.Len);
        Assert.True(queue.TryGet(out var again));
        Assert.Equal("a", again);
        queue.Done("a");
        queue.Done("b");
        Assert.False(queue.TryGet(out _));
        Assert.Equal(0, queue.Len);
    }

    [Fact]
    public void Done_without_a_re_add_does_not_requeue()
    {
        using var queue = KubeConsistency.Controllers.WorkQueue.Create<int>();
        queue.Add(1);
        Assert.True(queue.TryGet(out var item));
        queue.Done(item);
        Assert.Equal(0, queue.Len);
        Assert.False(queue.TryGet(out _));

        // The key can be added again afterwards.
        queue.Add(1);
        Assert.Equal(1, queue.Len);
    }

    [Fact]
    public void Done_for_a_key_that_is_not_processing_is_ignored_and_logged()
    {
        var logger = new FakeLogger();
        using var queue = KubeConsistency.Controllers.WorkQueue.Create(new WorkQueueOptions<string> { Logger = logger, Name = "q" });
        queue.Add("a");
        queue.Done("a");
        queue.Done("never-seen");

        Assert.Equal(1, queue.Len);
        Assert.True(queue.TryGet(out var item));
        Assert.Equal("a", item);
        Assert.False(queue.TryGet(out _));
        Assert.Equal(2, logger.Collector.GetSnapshot().Count(e => e.Level == LogLevel.Warning && e.Id.Id == 4003));
    }

    [Fact]
    public async Task GetAsync_waits_for_an_Add_and_hands_keys_to_waiters_in_order()
    {
        using var queue = KubeConsistency.Controllers.WorkQueue.Create<string>();
        var first = queue.GetAsync();
        var second = queue.GetAsync();
        Assert.False(first.IsCompleted);
        Assert.False(second.IsCompleted);

        queue.Add("x");
        queue.Add("y");

        Assert.Equal(new WorkQueueItem<string>("x"), await first.AsTask().WaitAsync(Guard));
        Assert.Equal(new WorkQueueItem<string>("y"), await second.AsTask().WaitAsync(Guard));
        Assert.Equal(0, queue.Len);

        // Handed-out keys are processing: re-adding marks them dirty, Done requeues.
        queue.Add("x");
        Assert.Equal(0, queue.Len);
        queue.Done("x");
        var (key, shutdown) = await queue.GetAsync();
        Assert.False(shutdown);
        Assert.Equal("x", key);
    }

    [Fact]
    public async Task GetAsync_completes_synchronously_when_a_key_is_queued()
    {
        using var queue = KubeConsistency.Controllers.WorkQueue.Create<string>();
        queue.Add("a");
        var pending = queue.GetAsync();
        Assert.True(pending.IsCompletedSuccessfully);
        Assert.Equal("a", (await pending).Item);
    }

    [Fact]
    public async Task A_cancelled_GetAsync_never_consumes_a_key()
    {
        using var queue = KubeConsistency.Controllers.WorkQueue.Create<string>();
        using var cts = new CancellationTokenSource();
        var pending = queue.GetAsync(cts.Token);
        var other = queue.GetAsync();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.AsTask().WaitAsync(Guard));

        queue.Add("a");
        Assert.Equal("a", (await other.AsTask().WaitAsync(Guard)).Item);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queue.GetAsync(cts.Token).AsTask());
        queue.Add("b");
        Assert.Equal(1, queue.Len);
    }

    [Fact]
    public async Task Waiters_are_reused_across_many_blocking_gets()
    {
        using var queue = KubeConsistency.Controllers.WorkQueue.Create<int>();
        for (var i = 0; i < 200; i++)
        {
            var pending = queue.GetAsync();
            queue.Add(i);
            var (item, shutdown) = await pending.AsTask().WaitAsync(Guard);
            Assert.False(shutdown);
            Assert.Equal(i, item);
            queue.Done(item);
        }
    }

    [Fact]
    public async Task ShutDown_ignores_adds_hands_out_queued_keys_then_reports_shutdown()
    {
        using var queue = KubeConsistency.Controllers.WorkQueue.Create<string>();
        queue.Add("a");
        queue.Add("b");
        Assert.False(queue.ShuttingDown);

        queue.ShutDown();
        queue.Add("c");

        Assert.True(queue.ShuttingDown);
        Assert.Equal(2, queue.Len);
        Assert.Equal("a", (await queue.GetAsync()).Item);
        Assert.Equal("b", (await queue.GetAsync()).Item);
        Assert.True((await queue.GetAsync()).Shutdown);
        Assert.True((await queue.GetAsync()).Shutdown);
        queue.ShutDown(); // idempotent
    }

    [Fact]
    public async Task ShutDown_releases_parked_getters()
    {
        using var queue = KubeConsistency.Controllers.WorkQueue.Create<string>();
        var getters = Enumerable.Range(0, 3).Select(_ => queue.GetAsync().AsTask()).ToArray();
        Assert.All(getters, g => Assert.False(g.IsCompleted));

        queue.ShutDown();

        var results = await Task.WhenAll(getters).WaitAsync(Guard);
        Assert.All(results, r => Assert.True(r.Shutdown));
    }

    [Fact]
    public async Task A_key_marked_dirty_before_shutdown_is_still_requeued_by_Done()
    {
        using var queue = KubeConsistency.Controllers.WorkQueue.Create<string>();
        queue.Add("a");
        Assert.True(queue.TryGet(out _));
        queue.Add("a");
        queue.ShutDown();

        queue.Done("a");

        Assert.Equal("a", (await queue.GetAsync()).Item);
        queue.Done("a");
        Assert.True((await queue.GetAsync()).Shutdown);
    }

    [Fact]
    public async Task ShutDownWithDrain_waits_until_every_processing_key_is_Done()
    {
        using var queue = KubeConsistency.Controllers.WorkQueue.Create<string>();
        queue.Add("a");
        queue.Add("b");
        Assert.Equal("a", (await queue.GetAsync()).Item);

        var drain = queue.ShutDownWithDrainAsync();
        Assert.False(drain.IsCompleted);
        Assert.True(queue.ShuttingDown);

        queue.Add("c");
        Assert.Equal(1, queue.Len);
        Assert.Equal("b", (await queue.GetAsync()).Item);

        queue.Done("a");
        Assert.False(drain.IsCompleted);
        queue.Done("b");
        await drain.WaitAsync(Guard);
        Assert.True((await queue.GetAsync()).Shutdown);
    }

    [Fact]
    public async Task ShutDownWithDrain_completes_at_once_when_nothing_is_processing()
    {
        using var queue = KubeConsistency.Controllers.WorkQueue.Create<string>();
        queue.Add("queued-but-not-taken");
        await queue.ShutDownWithDrainAsync().WaitAsync(Guard);
        Assert.Equal(1, queue.Len);
    }

    [Fact]
    public async Task ShutDown_after_ShutDownWithDrain_stops_the_wait()
    {
        using var queue = KubeConsistency.Controllers.WorkQueue.Create<string>();
        queue.Add("a");
        Assert.True(queue.TryGet(out _));
        var drain = queue.ShutDownWithDrainAsync();
        Assert.False(drain.IsCompleted);

        queue.ShutDown();

        await drain.WaitAsync(Guard);
    }

    [Fact]
    public async Task ShutDownWithDrain_can_be_cancelled_and_the_queue_stays_shut_down()
    {
        using var queue = KubeConsistency.Controllers.WorkQueue.Create<string>();
        queue.Add("a");
        Assert.True(queue.TryGet(out _));
        using var cts = new CancellationTokenSource();
        var drain = queue.ShutDownWithDrainAsync(cts.Token);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => drain.WaitAsync(Guard));
        Assert.True(queue.ShuttingDown);
    }

    [Fact]
    public void Dispose_shuts_down()
    {
        var queue = KubeConsistency.Controllers.WorkQueue.Create<string>();
        queue.Dispose();
        queue.Add("a");
        Assert.True(queue.ShuttingDown);
        Assert.Equal(0, queue.Len);
    }

    [Fact]
    public void The_configured_comparer_decides_key_identity()
    {
        using var queue = KubeConsistency.Controllers.WorkQueue.Create(new WorkQueueOptions<string> { Comparer = StringComparer.OrdinalIgnoreCase });
        queue.Add("ns/Name");
        queue.Add("NS/name");
        Assert.Equal(1, queue.Len);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("named")]
    public void Add_Get_Done_allocate_nothing_once_warm(string? name)
    {
        using var meters = new TestMeterFactory();
        using var strings = KubeConsistency.Controllers.WorkQueue.Create(new WorkQueueOptions<string> { Name = name, MeterFactory = meters });
        using var ints = KubeConsistency.Controllers.WorkQueue.Create(new WorkQueueOptions<int> { Name = name, MeterFactory = meters });
        var keys = Enumerable.Range(0, 256).Select(i => $"default/object-{i}").ToArray();
        var taken = new string[keys.Length];
        var failures = 0;

        // No assertions inside the measured cycle: they allocate.
        void Cycle()
        {
            foreach (var key in keys)
            {
                strings.Add(key);
                strings.Add(key);
            }

            for (var i = 0; i < taken.Length; i++)
            {
                failures += strings.TryGet(out var key) ? 0 : 1;
                taken[i] = key!;
            }

            foreach (var key in taken)
            {
                strings.Add(key); // dirty while processing: requeued by Done
                strings.Done(key);
            }

            while (strings.TryGet(out var key))
            {
                strings.Done(key);
            }

            for (var i = 0; i < keys.Length; i++)
            {
                ints.Add(i);
                var pending = ints.GetAsync();
                failures += pending.IsCompletedSuccessfully && pending.Result.Item == i ? 0 : 1; // queued: no waiter
                ints.Done(i);
            }
        }

        for (var warm = 0; warm < 3; warm++)
        {
            Cycle();
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        Cycle();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, failures);
        Assert.Equal(0, allocated);
    }

    private static List<string> DrainWithoutDone(IWorkQueue<string> queue)
    {
        var items = new List<string>();
        while (queue.TryGet(out var item))
        {
            items.Add(item);
        }

        return items;
    }
}
