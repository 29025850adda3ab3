using FsCheck;
using FsCheck.Fluent;
using KubeConsistency.Cache;
using KubeConsistency.Cache.Advanced;

namespace KubeConsistency.Tests.Cache;

/// <summary>
/// Held consumer wake-ups (docs/compatibility.md, "Consumer wake-ups"): a producer with more deltas ready holds the
/// waiting consumer's wake-up; what the consumer pops, and in which order, is unchanged (§2.4).
/// </summary>
public sealed class ConsumerWakeBatchingTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);

    private static RealFifo<TestPod> NewFifo() => (RealFifo<TestPod>)RealFifo.Create(new RealFifoOptions<TestPod> { EmitDeltaTypeBookmark = true });

    private static string NameOf(Delta<TestPod> delta) => delta.Object is TestPod p ? p.Metadata!.Name! : "?";

    private static (ValueTask<bool> Pop, List<string> Popped) StartPop(RealFifo<TestPod> fifo)
    {
        var popped = new List<string>();
        var pop = fifo.PopAsync((d, _) => popped.Add(NameOf(d)));
        return (pop, popped);
    }

    [Fact]
    public async Task Section2_4_WithoutHolding_EveryAddWakesTheWaitingConsumer()
    {
        var fifo = NewFifo();
        var (pop, popped) = StartPop(fifo);
        Assert.True(fifo.IsConsumerWaiting);

        fifo.Add(TestObjects.Pod("ns", "a", "1"));

        Assert.False(fifo.IsConsumerWaiting);
        Assert.True(await pop.AsTask().WaitAsync(Guard));
        Assert.Equal(["a"], popped);
    }

    [Fact]
    public async Task HeldAdds_WakeTheConsumerOnRelease_InOrder()
    {
        var fifo = NewFifo();
        var (pop, popped) = StartPop(fifo);

        fifo.HoldConsumerWakes();
        fifo.Add(TestObjects.Pod("ns", "a", "1"));
        fifo.Update(TestObjects.Pod("ns", "b", "2"));
        fifo.Bookmark("3");
        Assert.True(fifo.IsConsumerWaiting);

        fifo.ReleaseConsumerWakes();

        Assert.False(fifo.IsConsumerWaiting);
        Assert.True(await pop.AsTask().WaitAsync(Guard));
        Assert.Equal(["a"], popped);
        Assert.Equal(2, fifo.Count);
    }

    [Fact]
    public void Release_WithNothingHeld_LeavesTheConsumerWaiting()
    {
        var fifo = NewFifo();
        var (pop, _) = StartPop(fifo);

        fifo.HoldConsumerWakes();
        fifo.ReleaseConsumerWakes();

        Assert.True(fifo.IsConsumerWaiting);
        Assert.False(pop.IsCompleted);
        fifo.Close();
    }

    [Fact]
    public async Task AtMostMaxHeldAdds_GoWithoutAWake()
    {
        var fifo = NewFifo();
        var (pop, _) = StartPop(fifo);

        fifo.HoldConsumerWakes();
        for (var i = 0; i < IConsumerWakeBatching.MaxHeld; i++)
        {
            fifo.Add(TestObjects.Pod("ns", "p" + i, "1"));
        }

        Assert.True(fifo.IsConsumerWaiting);
        fifo.Add(TestObjects.Pod("ns", "last", "1"));

        Assert.False(fifo.IsConsumerWaiting);
        Assert.True(await pop.AsTask().WaitAsync(Guard));
        fifo.ReleaseConsumerWakes();
    }

    [Theory]
    [InlineData("replace")]
    [InlineData("resync")]
    [InlineData("close")]
    public async Task AnythingButASingleAdd_WakesAtOnce_EvenWhileHolding(string operation)
    {
        var fifo = NewFifo();
        var (pop, _) = StartPop(fifo);
        fifo.HoldConsumerWakes();
        fifo.Add(TestObjects.Pod("ns", "a", "1"));

        switch (operation)
        {
            case "replace":
                fifo.Replace([TestObjects.Pod("ns", "b", "2")], "2");
                break;
            case "resync":
                fifo.Resync();
                break;
            default:
                fifo.Close();
                break;
        }

        Assert.False(fifo.IsConsumerWaiting);
        await pop.AsTask().WaitAsync(Guard);
    }

    /// <summary>
    /// Whatever the interleaving of holds, releases and adds, the consumer pops every delta in the order added, and a
    /// waiting consumer is never left unwoken with more than <see cref="IConsumerWakeBatching.MaxHeld"/> held or after a release.
    /// </summary>
    [Fact]
    public void Property_HoldingNeverLosesOrReordersADelta() =>
        Prop.ForAll(Arb.From(Scripts), script => Run(script).Label(string.Join(",", script))).QuietCheckThrowOnFailure();

    /// <summary>Scripts that end with the consumer waiting on an empty queue (the property once waited on them forever).</summary>
    [Theory]
    [InlineData(new[] { 2 })]
    [InlineData(new[] { 0, 2 })]
    [InlineData(new[] { 3, 2, 2 })]
    public void Scripts_ending_with_a_waiting_consumer_hold(int[] script) => Assert.True(Run(script));

    // Steps: 0 hold, 1 release, 2 the consumer pops (or starts waiting), 3 add; mostly adds, so that runs pass MaxHeld.
    private static Gen<int[]> Scripts =>
        from length in Gen.Choose(0, 400)
        from steps in Gen.ArrayOf(Gen.Frequency((1, Gen.Constant(0)), (1, Gen.Constant(1)), (2, Gen.Constant(2)), (12, Gen.Constant(3))), length)
        select steps;

    private static bool Run(int[] script)
    {
        var fifo = NewFifo();
        var added = new List<string>();
        var popped = new List<string>();
        var held = 0;
        var holding = false;
        var ok = true;
        Task<bool>? pop = null;
        foreach (var step in script)
        {
            switch (step)
            {
                case 0:
                    fifo.HoldConsumerWakes();
                    holding = true;
                    break;
                case 1:
                    fifo.ReleaseConsumerWakes();
                    holding = false;
                    held = 0;
                    ok &= !(fifo.IsConsumerWaiting && fifo.Count > 0);
                    break;
                case 2:
                    // The consumer takes one if it can; otherwise it starts waiting.
                    if (pop is null || pop.IsCompleted)
                    {
                        pop = fifo.PopAsync((d, _) => popped.Add(NameOf(d))).AsTask();
                        held = 0;
                    }

                    break;
                default:
                    var name = "p" + added.Count;
                    var waiting = fifo.IsConsumerWaiting;
                    fifo.Add(TestObjects.Pod("ns", name, "1"));
                    added.Add(name);
                    if (waiting && holding)
                    {
                        held++;
                    }

                    ok &= !(fifo.IsConsumerWaiting && (!holding || held > IConsumerWakeBatching.MaxHeld));
                    break;
            }

            // A woken pop runs its continuation on the thread pool; let it finish before the next step.
            if (pop is { IsCompleted: false } p && !fifo.IsConsumerWaiting)
            {
                ok &= p.Wait(Guard);
            }
        }

        fifo.ReleaseConsumerWakes();
        if (pop is { } last)
        {
            // A pop still waiting on an empty queue (a script ending in a pop, e.g. [2]) ends only when the queue closes.
            if (fifo.IsConsumerWaiting && fifo.Count == 0)
            {
                fifo.Close();
            }

            ok &= last.Wait(Guard);
        }

        while (ok && fifo.Count > 0)
        {
            ok &= fifo.PopAsync((d, _) => popped.Add(NameOf(d))).AsTask().Wait(Guard);
        }

        return ok && added.SequenceEqual(popped);
    }
}
