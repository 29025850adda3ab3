using BenchmarkDotNet.Attributes;
using KubeConsistency.Cache.Advanced;
using KubeConsistency.Cache;

namespace KubeConsistency.Benchmarks.Foundation;

/// <summary>A handler that only counts (so the benchmarks can verify what was delivered).</summary>
public sealed class CountingHandler : IResourceEventHandler<BenchPod>
{
    public long Adds { get; private set; }

    public long Updates { get; private set; }

    public long Deletes { get; private set; }

    public void OnAdd(BenchPod obj, bool isInInitialList) => Adds++;

    public void OnUpdate(BenchPod oldObj, BenchPod newObj) => Updates++;

    public void OnDelete(object obj) => Deletes++;

    public void Reset() => Adds = Updates = Deletes = 0;
}

/// <summary>Informer-style wiring: an atomic RealFIFO feeding DeltaProcessor.Process into an indexer.</summary>
public abstract class FifoFixture
{
    protected IIndexer<BenchPod> Store { get; set; } = null!;

    protected IDeltaQueue<BenchPod> Fifo { get; set; } = null!;

    protected CountingHandler Handler { get; } = new();

    protected PopProcessor<BenchPod> Process { get; private set; } = null!;

    protected void Wire()
    {
        Store = BenchPods.NewIndexer();

        // What an informer builds with AtomicFIFO on (§2.2): atomic events, bookmarks, unlock-while-processing per gate.
        Fifo = RealFifo.Create(new RealFifoOptions<BenchPod>
        {
            AtomicEvents = true,
            EmitDeltaTypeBookmark = true,
            UnlockWhileProcessing = FeatureGates.UnlockWhileProcessingFifo,
        });
        Process ??= (delta, isInInitialList) => DeltaProcessor.Process(Store, Handler, delta, isInInitialList);
    }

    /// <summary>Pops one delta, which must already be queued (so the pop completes synchronously).</summary>
    protected void PopOne()
    {
        var pop = Fifo.PopAsync(Process);
        if (!pop.IsCompletedSuccessfully || !pop.Result)
        {
            throw new InvalidOperationException("the queued delta was not popped synchronously");
        }
    }
}

/// <summary>
/// Rows 9 and 10: an atomic relist of 100,000 pods, <c>Replace</c> into the FIFO, <c>PopAsync</c> and apply with
/// <c>DeltaProcessor.Process</c> (one ReplacedAll: diff, one store Replace, 100,000 handler calls).
/// </summary>
/// <remarks>
/// Row 9 needs an empty store per invocation: <c>[IterationSetup]</c> creates a fresh store and FIFO (one invocation
/// per iteration; each takes tens of ms). Row 10 keeps the same store: every relist leaves it holding the same
/// 100,000 keys, and the list alternates between two pre-built versions (new objects, new RVs).
/// </remarks>
[MemoryDiagnoser]
[MinColumn]
[MedianColumn]
[BenchmarkCategory("Foundation", "Fifo")]
public class FoundationFifoRelistBenchmarks : FifoFixture
{
    private const int N = 100_000;

    private BenchPod[] _v1 = null!;
    private BenchPod[] _v2 = null!;
    private bool _second;
    private long _relists;
    private bool _filled;

    [GlobalSetup]
    public void Setup()
    {
        _v1 = BenchPods.Create(N);
        _v2 = BenchPods.NextVersions(_v1, N);

        // Both paths share ProcessReplacedAll and Replace; warm them (empty and filled store) before measuring.
        BenchPods.WarmUp(
            () =>
            {
                NewEmptyStore();
                RelistIntoEmptyStore();
                VerifyEmptyStoreRelist();
                RelistOverSameKeys();
            },
            3000);
        _filled = false;
        _second = false;
    }

    [IterationSetup(Target = nameof(RelistIntoEmptyStore))]
    public void NewEmptyStore()
    {
        Wire();
        Handler.Reset();
    }

    [IterationCleanup(Target = nameof(RelistIntoEmptyStore))]
    public void VerifyEmptyStoreRelist()
    {
        BenchPods.Check(Store.Count == N, "store holds the 100,000 listed pods");
        BenchPods.Check(Store.LastStoreSyncResourceVersion == "5000000", "store RV = list RV");
        BenchPods.Check(Handler.Adds == N && Handler.Updates == 0 && Handler.Deletes == 0, "100,000 OnAdd");
        BenchPods.Check(Fifo.Count == 0 && Fifo.HasSynced, "queue drained and synced");
    }

    [IterationSetup(Target = nameof(RelistOverSameKeys))]
    public void EnsureFilledStore()
    {
        if (!_filled)
        {
            _filled = true;
            Wire();
            Fifo.Replace(_v1, "5000000");
            PopOne();
        }

        Handler.Reset();
        _relists = 0;
    }

    [IterationCleanup(Target = nameof(RelistOverSameKeys))]
    public void VerifyRelistOverSameKeys()
    {
        BenchPods.Check(Store.Count == N, "store holds 100,000");
        BenchPods.Check(Store.LastStoreSyncResourceVersion == (_second ? "5000002" : "5000001"), "store RV = list RV");
        BenchPods.Check(Handler.Adds == 0 && Handler.Updates == N * _relists && Handler.Deletes == 0, "100,000 OnUpdate per relist");
        BenchPods.Check(Store.TryGetByKey(BenchPods.Keys(_v1)[123], out var p) && ReferenceEquals(p, (_second ? _v2 : _v1)[123]), "new objects stored");
        BenchPods.Check(Fifo.Count == 0, "queue drained");
    }

    /// <summary>Row 9: relist of 100,000 into an empty store. Target ≤ 55 ms.</summary>
    [Benchmark(Description = "Row9 FIFO Replace+Pop, 100k into empty store")]
    public void RelistIntoEmptyStore()
    {
        Fifo.Replace(_v1, "5000000");
        PopOne();
    }

    /// <summary>Row 10: relist of 100,000 over a store holding the same keys. Target ≤ 67 ms.</summary>
    [Benchmark(Description = "Row10 FIFO Replace+Pop, 100k over same keys")]
    public void RelistOverSameKeys()
    {
        _second = !_second;
        if (_second)
        {
            Fifo.Replace(_v2, "5000002");
        }
        else
        {
            Fifo.Replace(_v1, "5000001");
        }

        PopOne();
        _relists++;
    }
}

/// <summary>
/// Row 11: one watch event through the informer path: <c>Fifo.Update</c>, <c>PopAsync</c>, then
/// <c>DeltaProcessor.Process</c> (store lookup, store Update, handler OnUpdate), against a store holding 100,000 pods.
/// </summary>
[MemoryDiagnoser]
[MinColumn]
[MedianColumn]
[BenchmarkCategory("Foundation", "Fifo")]
public class FoundationFifoWatchEventBenchmarks : FifoFixture
{
    private const int N = 100_000;

    private BenchPod[] _v1 = null!;
    private BenchPod[] _v2 = null!;
    private int _next;
    private bool _second;

    [GlobalSetup]
    public void Setup()
    {
        // Pre-built MODIFIED versions alternate (v2 = v1 + 100,000 RVs), cycling over every key.
        _v1 = BenchPods.Create(N);
        _v2 = BenchPods.NextVersions(_v1, N);
        Wire();
        Fifo.Replace(_v1, "1");
        PopOne();
        Handler.Reset();

        WatchEvent();
        BenchPods.Check(Handler.Updates == 1 && Handler.Adds == 0, "one OnUpdate");
        BenchPods.Check(Store.TryGetByKey(BenchPods.Keys(_v2)[0], out var p) && ReferenceEquals(p, _v2[0]), "store updated");
        BenchPods.Check(Store.LastStoreSyncResourceVersion == _v2[0].Metadata!.ResourceVersion, "store RV = event RV");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        BenchPods.Check(Fifo.Count == 0, "queue drained");
        BenchPods.Check(Store.Count == N, "no key added or lost");
        BenchPods.Check(Handler.Adds == 0 && Handler.Deletes == 0 && Handler.Updates > 0, "only updates delivered");
    }

    /// <summary>Row 11. Target ≤ 550 ns.</summary>
    [Benchmark(Description = "Row11 FIFO Update+Pop+apply, one watch event")]
    public void WatchEvent()
    {
        var i = _next;
        Fifo.Update(_second ? _v1[i] : _v2[i]);
        PopOne();
        if (++i == N)
        {
            i = 0;
            _second = !_second;
        }

        _next = i;
    }
}
