using KubeConsistency.Controllers;
using KubeConsistency.Testing;

namespace KubeConsistency.Tests.Controllers.WorkQueue;

/// <summary>Client-go <c>delayingType</c> semantics (delaying_queue.go, delaying_queue_test.go).</summary>
public sealed class DelayingWorkQueueTests
{
    private readonly ManualTimeProvider _time = new();

    [Fact]
    public void AddAfter_adds_exactly_when_the_clock_reaches_the_ready_time()
    {
        using var queue = Create();
        queue.AddAfter("foo", TimeSpan.FromMilliseconds(50));
        Assert.Equal(0, queue.Len);

        _time.Advance(TimeSpan.FromMilliseconds(49));
        Assert.Equal(0, queue.Len);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, queue.Len);
        Assert.True(queue.TryGet(out var item));
        Assert.Equal("foo", item);
        queue.Done(item);

        // Nothing else fires later (upstream TestSimpleQueue steps past the heartbeat).
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(0, queue.Len);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void A_non_positive_delay_adds_immediately(int milliseconds)
    {
        using var queue = Create();
        queue.AddAfter("foo", TimeSpan.FromMilliseconds(milliseconds));
        Assert.Equal(1, queue.Len);
        Assert.Equal(0, _time.ActiveTimerCount);
    }

    [Fact]
    public void A_key_already_waiting_keeps_the_earlier_ready_time()
    {
        using var queue = Create();

        // A later AddAfter does not postpone (upstream TestDeduping).
        queue.AddAfter("foo", TimeSpan.FromMilliseconds(50));
        queue.AddAfter("foo", TimeSpan.FromMilliseconds(70));
        _time.Advance(TimeSpan.FromMilliseconds(50));
        Assert.Equal(1, queue.Len);
        TakeAndDone(queue, "foo");
        _time.Advance(TimeSpan.FromMilliseconds(20));
        Assert.Equal(0, queue.Len);

        // An earlier AddAfter brings it forward, and the superseded time adds nothing.
        queue.AddAfter("foo", TimeSpan.FromMilliseconds(50));
        queue.AddAfter("foo", TimeSpan.FromMilliseconds(30));
        _time.Advance(TimeSpan.FromMilliseconds(29));
        Assert.Equal(0, queue.Len);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, queue.Len);
        TakeAndDone(queue, "foo");
        _time.Advance(TimeSpan.FromMilliseconds(20));
        Assert.Equal(0, queue.Len);
        Assert.Equal((0, 0, 0, 0), ((WorkQueueCore<string>)queue).CountsForTesting());
    }

    [Fact]
    public void Keys_become_ready_in_ready_time_order()
    {
        using var queue = Create();
        queue.AddAfter("first", TimeSpan.FromSeconds(1));
        queue.AddAfter("second", TimeSpan.FromMilliseconds(500));
        queue.AddAfter("third", TimeSpan.FromMilliseconds(250));

        _time.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal(3, queue.Len);
        Assert.Equal(["third", "second", "first"], Drain(queue));
    }

    [Fact]
    public void An_earlier_key_added_later_fires_first()
    {
        using var queue = Create();
        queue.AddAfter("first", TimeSpan.FromSeconds(1));
        queue.AddAfter("second", TimeSpan.FromMilliseconds(50));

        _time.Advance(TimeSpan.FromMilliseconds(60));
        Assert.Equal(["second"], Drain(queue));

        queue.AddAfter("third", TimeSpan.FromSeconds(2));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(["first"], Drain(queue));

        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(["third"], Drain(queue));
    }

    [Fact]
    public void A_delayed_key_that_is_already_queued_is_deduplicated_when_it_fires()
    {
        using var queue = Create();
        queue.Add("foo");
        queue.AddAfter("foo", TimeSpan.FromMilliseconds(10));
        _time.Advance(TimeSpan.FromMilliseconds(10));
        Assert.Equal(1, queue.Len);
    }

    [Fact]
    public void A_delayed_key_that_fires_while_processing_is_requeued_after_Done()
    {
        using var queue = Create();
        queue.Add("foo");
        Assert.True(queue.TryGet(out _));
        queue.AddAfter("foo", TimeSpan.FromMilliseconds(10));
        _time.Advance(TimeSpan.FromMilliseconds(10));
        Assert.Equal(0, queue.Len);

        queue.Done("foo");
        Assert.Equal(["foo"], Drain(queue));
    }

    [Fact]
    public async Task A_parked_getter_receives_a_delayed_key_when_it_becomes_ready()
    {
        using var queue = Create();
        var pending = queue.GetAsync();
        queue.AddAfter("foo", TimeSpan.FromSeconds(5));
        Assert.False(pending.IsCompleted);

        _time.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal("foo", (await pending.AsTask().WaitAsync(TimeSpan.FromSeconds(30))).Item);
    }

    [Fact]
    public void ShutDown_drops_waiting_keys_and_ignores_later_AddAfter()
    {
        using var queue = Create();
        queue.AddAfter("foo", TimeSpan.FromMilliseconds(10));
        Assert.Equal(1, _time.ActiveTimerCount);

        queue.ShutDown();
        Assert.Equal(0, _time.ActiveTimerCount);
        queue.AddAfter("bar", TimeSpan.FromMilliseconds(10));
        queue.AddAfter("baz", TimeSpan.Zero);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(0, queue.Len);
        Assert.Equal((0, 0, 0, 0), ((WorkQueueCore<string>)queue).CountsForTesting());
    }

    [Fact]
    public void A_huge_delay_never_fires_and_does_not_overflow()
    {
        using var queue = Create();
        queue.AddAfter("never", TimeSpan.MaxValue);
        queue.AddAfter("later", TimeSpan.FromDays(30));
        _time.Advance(TimeSpan.FromDays(29));
        Assert.Equal(0, queue.Len);
        _time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(["later"], Drain(queue));
        Assert.Equal((0, 0, 0, 1), ((WorkQueueCore<string>)queue).CountsForTesting());
    }

    [Fact]
    public async Task AddAfter_works_on_the_system_clock()
    {
        using var queue = KubeConsistency.Controllers.WorkQueue.CreateDelaying<string>();
        queue.AddAfter("foo", TimeSpan.FromMilliseconds(20));
        var (item, shutdown) = await queue.GetAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(shutdown);
        Assert.Equal("foo", item);
    }

    private IDelayingWorkQueue<string> Create() =>
        KubeConsistency.Controllers.WorkQueue.CreateDelaying(new WorkQueueOptions<string> { TimeProvider = _time });

    private static void TakeAndDone(IWorkQueue<string> queue, string expected)
    {
        Assert.True(queue.TryGet(out var item));
        Assert.Equal(expected, item);
        queue.Done(item);
    }

    private static List<string> Drain(IWorkQueue<string> queue)
    {
        var items = new List<string>();
        while (queue.TryGet(out var item))
        {
            items.Add(item);
            queue.Done(item);
        }

        return items;
    }
}
