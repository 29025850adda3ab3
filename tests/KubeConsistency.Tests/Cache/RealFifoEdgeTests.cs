using KubeConsistency.Cache;
using KubeConsistency.Cache.Advanced;

namespace KubeConsistency.Tests.Cache;

/// <summary>RealFIFO edges that mutation testing showed untested: messages, argument checks, idleness, one consumer.</summary>
public sealed class RealFifoEdgeTests
{
    private static IDeltaQueue<TestPod> Atomic() => RealFifo.Create(new RealFifoOptions<TestPod>());

    [Theory]
    [InlineData("atomic+known", "an atomic RealFIFO must not be given KnownObjects")]
    [InlineData("legacy", "a non-atomic RealFIFO needs KnownObjects")]
    [InlineData("legacy+unlock", "UnlockWhileProcessing requires AtomicEvents")]
    [InlineData("legacy+bookmark", "EmitDeltaTypeBookmark requires AtomicEvents")]
    public void Section2_2_InvalidCombinations_SayWhatIsWrong(string combination, string message)
    {
        var known = TestObjects.NewIndexer();
        var options = combination switch
        {
            "atomic+known" => new RealFifoOptions<TestPod> { AtomicEvents = true, KnownObjects = known },
            "legacy" => new RealFifoOptions<TestPod> { AtomicEvents = false },
            "legacy+unlock" => new RealFifoOptions<TestPod> { AtomicEvents = false, KnownObjects = known, UnlockWhileProcessing = true },
            _ => new RealFifoOptions<TestPod> { AtomicEvents = false, KnownObjects = known, EmitDeltaTypeBookmark = true },
        };
        var ex = Assert.Throws<ArgumentException>(() => RealFifo.Create(options));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NullArguments_AreRejected()
    {
        Assert.Throws<ArgumentNullException>(() => RealFifo.Create<TestPod>(null!));
        var fifo = Atomic();
        Assert.Throws<ArgumentNullException>(() => fifo.Add(null!));
        Assert.Throws<ArgumentNullException>(() => fifo.Replace(null!, "1"));
        Assert.Throws<ArgumentNullException>(() => fifo.Replace([], null!));
        Assert.Throws<ArgumentNullException>(() => fifo.Bookmark(null!));
        await Assert.ThrowsAsync<ArgumentNullException>(async () => await fifo.PopAsync(null!));
        await Assert.ThrowsAsync<ArgumentNullException>(async () => await fifo.PopBatchAsync(null!, (_, _) => { }));
        await Assert.ThrowsAsync<ArgumentNullException>(async () => await fifo.PopBatchAsync((_, _) => { }, null!));
        Assert.Equal(0, fifo.Count);
    }

    [Fact]
    public void Replace_WithANullItem_NamesIt()
    {
        var ex = Assert.Throws<ArgumentException>(() => Atomic().Replace([TestObjects.Pod("ns", "a", "1"), null!], "1"));
        Assert.Contains("a listed item is null", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Idle means nothing queued and nothing being processed: false inside the processing callback.</summary>
    [Fact]
    public async Task IsIdle_IsFalseWhileQueuedOrProcessing()
    {
        var fifo = (RealFifo<TestPod>)Atomic();
        Assert.True(fifo.IsIdle);
        fifo.Add(TestObjects.Pod("ns", "a", "1"));
        Assert.False(fifo.IsIdle);
        bool? idleInside = null;
        Assert.True(await fifo.PopAsync((_, _) => idleInside = fifo.IsIdle));
        Assert.False(idleInside);
        Assert.True(fifo.IsIdle);
    }

    /// <summary>§2.4: one consumer at a time; the message names the queue (its default name is "RealFIFO" and the type).</summary>
    [Fact]
    public async Task Section2_4_ASecondConcurrentConsumer_IsRejected_NamingTheQueue()
    {
        var fifo = Atomic();
        using var stop = new CancellationTokenSource();
        var first = fifo.PopAsync((_, _) => { }, stop.Token).AsTask();
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(async () => await fifo.PopAsync((_, _) => { }));
        Assert.Contains("RealFIFO TestPod: only one consumer may pop at a time", ex.Message, StringComparison.Ordinal);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);

        // The consumer slot is free again once the first pop ended.
        fifo.Add(TestObjects.Pod("ns", "a", "1"));
        Assert.True(await fifo.PopAsync((_, _) => { }));
    }

    /// <summary>
    /// A callback slower than 100 ms with more than 10 deltas still queued is logged as blocking the queue, naming
    /// the queue; at exactly 100 ms, or with exactly 10 queued, it is not (the log is a warning operators act on).
    /// </summary>
    [Theory]
    [InlineData(101, 12, true)]
    [InlineData(100, 12, false)]
    [InlineData(101, 11, false)]
    [InlineData(50, 12, false)]
    public async Task SlowProcessing_IsLogged_OnlyPastBothThresholds(int processingMs, int queued, bool logged)
    {
        var time = new KubeConsistency.Testing.ManualTimeProvider();
        var logger = new FakeLogger();
        var fifo = RealFifo.Create(new RealFifoOptions<TestPod> { TimeProvider = time, Logger = logger, Name = "pods-queue" });
        for (var i = 0; i < queued; i++)
        {
            fifo.Add(TestObjects.Pod("ns", "p" + i, "1"));
        }

        Assert.True(await fifo.PopAsync((_, _) => time.Advance(TimeSpan.FromMilliseconds(processingMs))));
        var warnings = logger.Collector.GetSnapshot().Where(e => e.Id.Id == 1003).ToList();
        if (logged)
        {
            var warning = Assert.Single(warnings);
            Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, warning.Level);
            Assert.StartsWith("pods-queue: processing 1 deltas took 00:00:00.1010000 with " + (queued - 1) + " more queued", warning.Message, StringComparison.Ordinal);
        }
        else
        {
            Assert.Empty(warnings);
        }
    }

    /// <summary>§2.3: a consumer waiting on an empty queue is woken by every kind of enqueue, in both modes.</summary>
    [Theory]
    [InlineData("atomic replace")]
    [InlineData("atomic resync")]
    [InlineData("atomic bookmark")]
    [InlineData("legacy replace")]
    [InlineData("legacy resync")]
    public async Task Section2_3_AWaitingConsumer_IsWokenByEveryEnqueue(string operation)
    {
        var known = TestObjects.NewIndexer();
        known.Add(TestObjects.Pod("ns", "known", "1"));
        var fifo = operation.StartsWith("atomic", StringComparison.Ordinal)
            ? RealFifo.Create(new RealFifoOptions<TestPod> { EmitDeltaTypeBookmark = true })
            : RealFifo.Create(new RealFifoOptions<TestPod> { AtomicEvents = false, KnownObjects = known });
        var popped = new List<DeltaType>();
        var pop = fifo.PopAsync((d, _) => popped.Add(d.Type)).AsTask();
        Assert.False(pop.IsCompleted);
        switch (operation)
        {
            case "atomic replace":
            case "legacy replace":
                fifo.Replace([TestObjects.Pod("ns", "known", "1"), TestObjects.Pod("ns", "a", "2")], "2");
                break;
            case "atomic bookmark":
                fifo.Bookmark("5");
                break;
            default:
                fifo.Resync();
                break;
        }

        Assert.True(await pop.WaitAsync(TimeSpan.FromSeconds(10)));
        var expected = operation switch
        {
            "atomic replace" => DeltaType.ReplacedAll,
            "atomic resync" => DeltaType.SyncAll,
            "atomic bookmark" => DeltaType.Bookmark,
            "legacy replace" => DeltaType.Replaced,
            _ => DeltaType.Sync,
        };
        Assert.Equal(expected, popped[0]);
    }

    /// <summary>A legacy resync with nothing to sync enqueues nothing; the waiting consumer keeps waiting.</summary>
    [Fact]
    public void Section2_3_ALegacyResyncOfAnEmptyStore_EnqueuesNothing()
    {
        var fifo = RealFifo.Create(new RealFifoOptions<TestPod> { AtomicEvents = false, KnownObjects = TestObjects.NewIndexer() });
        var pop = fifo.PopAsync((_, _) => { }).AsTask();
        fifo.Resync();
        Assert.False(pop.IsCompleted);
        Assert.Equal(0, fifo.Count);
        fifo.Close();
    }

    /// <summary>A callback that throws releases the single-consumer claim, so the next pop works.</summary>
    [Fact]
    public async Task AThrowingCallback_ReleasesTheConsumerClaim()
    {
        var fifo = Atomic();
        fifo.Add(TestObjects.Pod("ns", "a", "1"));
        fifo.Add(TestObjects.Pod("ns", "b", "1"));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await fifo.PopAsync((_, _) => throw new InvalidOperationException("handler")));
        string? next = null;
        Assert.True(await fifo.PopAsync((d, _) => next = ((TestPod)d.Object).Metadata!.Name));
        Assert.Equal("b", next);
    }

    /// <summary>
    /// §2.4: HasSynced turns true only when the last delta of the initial population is processed, not while the
    /// population is part-way through (legacy mode queues one Replaced delta per listed object).
    /// </summary>
    [Fact]
    public async Task Section2_4_HasSynced_WaitsForTheWholeInitialPopulation()
    {
        var fifo = RealFifo.Create(new RealFifoOptions<TestPod> { AtomicEvents = false, KnownObjects = TestObjects.NewIndexer() });
        fifo.Replace([TestObjects.Pod("ns", "a", "1"), TestObjects.Pod("ns", "b", "1"), TestObjects.Pod("ns", "c", "1")], "1");
        var synced = new List<bool>();
        for (var i = 0; i < 3; i++)
        {
            Assert.True(await fifo.PopAsync((_, _) => { }));
            synced.Add(fifo.HasSynced);
        }

        Assert.Equal([false, false, true], synced);
    }
}
