using FsCheck;
using FsCheck.Fluent;
using KubeConsistency.Controllers;

namespace KubeConsistency.Tests.Controllers.WorkQueue;

/// <summary>Property tests of the work queue's core guarantees (queue.go's contract).</summary>
public sealed class WorkQueuePropertyTests
{
    private const int Keys = 6;

    /// <summary>
    /// Random add/get/done runs with several concurrent workers: no key is ever processed by two workers at once,
    /// every added key is processed after its last add, and no key is processed more often than it was added.
    /// </summary>
    [Fact]
    public void Concurrent_workers_never_share_a_key_and_every_add_is_processed()
    {
        var gen =
            from workers in Gen.Choose(2, 4)
            from adds in Gen.ArrayOf(Gen.Choose(0, Keys - 1))
            from requeues in Gen.ArrayOf(Gen.Choose(0, 2), Keys)
            from yields in Gen.ArrayOf(Gen.Elements(true, false), Keys)
            select new Scenario(workers, adds, requeues, yields);

        var property = Prop.ForAll(Arb.From(gen, Shrink), scenario => Task.Run(() => RunScenarioAsync(scenario)));
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(150).WithEndSize(60), property);
    }

    /// <summary>
    /// Single-threaded runs of Add / TryGet / Done match a direct model of client-go's <c>Typed</c> (queue, dirty
    /// set, processing set) step by step: same keys handed out in the same order, same length, same counts.
    /// </summary>
    [Fact]
    public void Sequential_runs_match_the_client_go_model()
    {
        var op = Gen.Choose(0, 2).SelectMany(kind => Gen.Choose(0, Keys - 1), (kind, key) => (Kind: kind, Key: key));
        Prop.ForAll(Arb.From(Gen.ArrayOf(op)), ops =>
        {
            using var queue = KubeConsistency.Controllers.WorkQueue.Create<int>();
            var core = (WorkQueueCore<int>)queue;
            var model = new Model();
            foreach (var (kind, key) in ops)
            {
                switch (kind)
                {
                    case 0:
                        queue.Add(key);
                        model.Add(key);
                        break;
                    case 1:
                        var expected = model.Get();
                        var got = queue.TryGet(out var item);
                        Assert.Equal(expected.HasValue, got);
                        if (got)
                        {
                            Assert.Equal(expected!.Value, item);
                        }

                        break;
                    default:
                        if (model.Processing.Count > 0)
                        {
                            var done = model.Processing.Order().ElementAt(key % model.Processing.Count);
                            queue.Done(done);
                            model.Done(done);
                        }

                        break;
                }

                Assert.Equal(model.Queue.Count, queue.Len);
                Assert.Equal((model.Queue.Count, model.Dirty.Count, model.Processing.Count, 0), core.CountsForTesting());
            }
        }).QuietCheckThrowOnFailure();
    }

    private static async Task RunScenarioAsync(Scenario scenario)
    {
        using var queue = KubeConsistency.Controllers.WorkQueue.Create<int>();
        var core = (WorkQueueCore<int>)queue;
        var active = new int[Keys];
        var lastAdd = new long[Keys];
        var lastStart = new long[Keys];
        var requeuesLeft = (int[])scenario.Requeues.Clone();
        long clock = 0, adds = 0, starts = 0;
        var producerDone = 0;
        var idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var violations = new System.Collections.Concurrent.ConcurrentQueue<string>();

        void AddKey(int key)
        {
            // The sequence number is taken before Add, so "started after" is never claimed too early.
            var seq = Interlocked.Increment(ref clock);
            InterlockedMax(ref lastAdd[key], seq);
            Interlocked.Increment(ref adds);
            queue.Add(key);
        }

        void CheckIdle()
        {
            // Once the producer is done, nothing queued and nothing processing means no worker can add again: the
            // run is over. A key still dirty at that point would never be handed out again: fail fast instead of
            // waiting for the guard timeout.
            if (Volatile.Read(ref producerDone) == 1 && core.CountsForTesting() is (0, var dirty, 0, _))
            {
                if (dirty == 0)
                {
                    idle.TrySetResult();
                }
                else
                {
                    idle.TrySetException(new InvalidOperationException($"{dirty} dirty key(s) lost: nothing queued or processing"));
                }
            }
        }

        async Task WorkerAsync()
        {
            while (true)
            {
                var (key, shutdown) = await queue.GetAsync();
                if (shutdown)
                {
                    return;
                }

                Interlocked.Increment(ref starts);
                if (Interlocked.Exchange(ref active[key], 1) != 0)
                {
                    violations.Enqueue($"key {key} handed to two workers at once");
                }

                InterlockedMax(ref lastStart[key], Interlocked.Increment(ref clock));
                if (scenario.Yields[key])
                {
                    await Task.Yield();
                }

                if (Interlocked.Decrement(ref requeuesLeft[key]) >= 0)
                {
                    // Re-added while processing: must come back exactly once after Done.
                    AddKey(key);
                    AddKey((key + 1) % Keys);
                }

                Volatile.Write(ref active[key], 0);
                queue.Done(key);
                CheckIdle();
            }
        }

        var workers = Enumerable.Range(0, scenario.Workers).Select(_ => Task.Run(WorkerAsync)).ToArray();
        foreach (var key in scenario.Adds)
        {
            AddKey(key);
            if (key % 3 == 0)
            {
                await Task.Yield();
            }
        }

        Volatile.Write(ref producerDone, 1);
        CheckIdle();
        await idle.Task.WaitAsync(TimeSpan.FromSeconds(10));
        queue.ShutDown();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Empty(violations);
        for (var key = 0; key < Keys; key++)
        {
            if (lastAdd[key] > 0)
            {
                Assert.True(lastStart[key] > lastAdd[key], $"key {key}: last add at {lastAdd[key]} but last processing started at {lastStart[key]}");
            }
            else
            {
                Assert.Equal(0, lastStart[key]);
            }
        }

        Assert.True(starts <= adds, $"{starts} processings for {adds} adds");
        Assert.Equal(0, queue.Len);
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private static IEnumerable<Scenario> Shrink(Scenario scenario)
    {
        if (scenario.Adds.Length > 0)
        {
            yield return scenario with { Adds = scenario.Adds[..(scenario.Adds.Length / 2)] };
            yield return scenario with { Adds = scenario.Adds[1..] };
        }

        if (scenario.Workers > 2)
        {
            yield return scenario with { Workers = scenario.Workers - 1 };
        }

        if (scenario.Requeues.Any(r => r > 0))
        {
            yield return scenario with { Requeues = new int[Keys] };
        }
    }

    private sealed record Scenario(int Workers, int[] Adds, int[] Requeues, bool[] Yields)
    {
        public override string ToString() =>
            $"workers={Workers} adds=[{string.Join(",", Adds)}] requeues=[{string.Join(",", Requeues)}] yields=[{string.Join(",", Yields)}]";
    }

    /// <summary>client-go's <c>Typed</c> state, written out directly.</summary>
    private sealed class Model
    {
        public List<int> Queue { get; } = [];

        public HashSet<int> Dirty { get; } = [];

        public HashSet<int> Processing { get; } = [];

        public void Add(int key)
        {
            if (!Dirty.Add(key) || Processing.Contains(key))
            {
                return;
            }

            Queue.Add(key);
        }

        public int? Get()
        {
            if (Queue.Count == 0)
            {
                return null;
            }

            var key = Queue[0];
            Queue.RemoveAt(0);
            Processing.Add(key);
            Dirty.Remove(key);
            return key;
        }

        public void Done(int key)
        {
            Processing.Remove(key);
            if (Dirty.Contains(key))
            {
                Queue.Add(key);
            }
        }
    }
}
