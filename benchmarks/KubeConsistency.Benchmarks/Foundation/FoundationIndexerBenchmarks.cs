using BenchmarkDotNet.Attributes;
using KubeConsistency.Cache;

namespace KubeConsistency.Benchmarks.Foundation;

/// <summary>
/// Row 5: <c>Add</c> of 100,000 pods into an empty indexer (namespace index, 100 namespaces), reported per object.
/// </summary>
/// <remarks>
/// The empty store is created in <c>[IterationSetup]</c> (one invocation per iteration; each is ~30-60 ms, so this is a
/// macro-benchmark where that is appropriate); the dictionary and index growth, and the GC work the adds cause,
/// are part of the measurement, as in upstream's "N adds into an empty store".
/// </remarks>
[MemoryDiagnoser]
[MinColumn]
[MedianColumn]
[BenchmarkCategory("Foundation", "Indexer")]
public class FoundationIndexerAddBenchmarks
{
    private const int N = 100_000;

    private BenchPod[] _pods = null!;
    private IIndexer<BenchPod> _store = null!;

    [GlobalSetup]
    public void Setup()
    {
        _pods = BenchPods.Create(N);
        BenchPods.WarmUp(
            () =>
            {
                NewEmptyStore();
                Add();
                Verify();
            },
            3000);
    }

    [IterationSetup]
    public void NewEmptyStore() => _store = BenchPods.NewIndexer();

    [IterationCleanup]
    public void Verify()
    {
        BenchPods.Check(_store.Count == N, "100,000 objects stored");
        BenchPods.Check(_store.ListIndexFuncValues(Indexes.Namespace).Count == BenchPods.Namespaces, "100 namespaces indexed");
        BenchPods.Check(_store.ByIndex(Indexes.Namespace, "namespace-7").Count == N / BenchPods.Namespaces, "1,000 pods per namespace");
        BenchPods.Check(_store.LastStoreSyncResourceVersion == _pods[^1].Metadata!.ResourceVersion, "store RV = last added RV");
    }

    /// <summary>Row 5. Target ≤ 285 ns per object.</summary>
    [Benchmark(Description = "Row5 Indexer Add, 100k into empty", OperationsPerInvoke = N)]
    public void Add()
    {
        var store = _store;
        var pods = _pods;
        for (var i = 0; i < pods.Length; i++)
        {
            store.Add(pods[i]);
        }
    }
}

/// <summary>
/// Rows 6 and 7: <c>Update</c> of an existing key and <c>TryGetByKey</c>, both against an indexer holding 100,000 pods.
/// </summary>
[MemoryDiagnoser]
[MinColumn]
[MedianColumn]
[BenchmarkCategory("Foundation", "Indexer")]
public class FoundationIndexerBenchmarks
{
    private const int N = 100_000;

    private BenchPod[] _v1 = null!;
    private BenchPod[] _v2 = null!;
    private string[] _keys = null!;
    private string[] _shuffledKeys = null!;
    private string _hotKey = null!;
    private IIndexer<BenchPod> _store = null!;
    private int _next;
    private bool _second;
    private long _updatePasses;

    [GlobalSetup]
    public void Setup()
    {
        // Two pre-built versions of every pod; updates alternate between them so each Update carries a new
        // object with a different RV (v2 = v1 + 100,000), and the namespace stays the same (upstream's fast path).
        _v1 = BenchPods.Create(N);
        _v2 = BenchPods.NextVersions(_v1, N);
        _keys = BenchPods.Keys(_v1);
        _shuffledKeys = (string[])_keys.Clone();
        new Random(42).Shuffle(_shuffledKeys);
        _hotKey = _keys[N / 2];
        _store = BenchPods.NewIndexer();
        foreach (var pod in _v1)
        {
            _store.Add(pod);
        }

        BenchPods.Check(_store.Count == N, "store holds 100,000");
        BenchPods.Check(_store.TryGetByKey(_hotKey, out var hot) && ReferenceEquals(hot, _v1[N / 2]), "hot key found");
        BenchPods.Check(_keys.All(k => _store.TryGetByKey(k, out _)), "every key found");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        BenchPods.Check(_store.Count == N, "no key added or lost");
        BenchPods.Check(_store.ByIndex(Indexes.Namespace, "namespace-3").Count == N / BenchPods.Namespaces, "namespace index intact");
        if (_updatePasses > 0)
        {
            // Invert Update's cursor step to find the last object written.
            var (index, first) = _next == 0 ? (N - 1, !_second) : (_next - 1, _second);
            var expected = first ? _v1[index] : _v2[index];
            BenchPods.Check(_store.TryGetByKey(_keys[index], out var stored) && ReferenceEquals(stored, expected), "last update applied");
            BenchPods.Check(_store.LastStoreSyncResourceVersion == expected.Metadata!.ResourceVersion, "store RV = last update's RV");
        }
    }

    /// <summary>Row 6: Update of an existing key (new object, new RV, same namespace). Target ≤ 300 ns.</summary>
    [Benchmark(Description = "Row6 Indexer Update, existing key @100k")]
    public void Update()
    {
        var i = _next;
        _store.Update(_second ? _v1[i] : _v2[i]);
        if (++i == N)
        {
            i = 0;
            _second = !_second;
            _updatePasses++;
        }

        _next = i;
    }

    /// <summary>Row 7: TryGetByKey of one existing key, repeatedly (cache-hot). Target ≤ 27 ns, 0 B.</summary>
    [Benchmark(Description = "Row7 Indexer TryGetByKey @100k, same key")]
    public BenchPod? GetByKey_SameKey() => _store.TryGetByKey(_hotKey, out var pod) ? pod : null;

    /// <summary>Row 7 variant: TryGetByKey cycling over all 100,000 keys in random order (cache-cold).</summary>
    [Benchmark(Description = "Row7b Indexer TryGetByKey @100k, random keys")]
    public BenchPod? GetByKey_RandomKeys()
    {
        var i = _next;
        var key = _shuffledKeys[i];
        _next = ++i == N ? 0 : i;
        return _store.TryGetByKey(key, out var pod) ? pod : null;
    }
}

/// <summary>
/// Row 8: <c>Replace</c> of the whole content (10,000 and 100,000 pods) on a store that already holds the same keys.
/// </summary>
[MemoryDiagnoser]
[MinColumn]
[MedianColumn]
[BenchmarkCategory("Foundation", "Indexer")]
public class FoundationIndexerReplaceBenchmarks
{
    private BenchPod[] _v1 = null!;
    private BenchPod[] _v2 = null!;
    private IIndexer<BenchPod> _store = null!;
    private bool _second;

    [Params(10_000, 100_000)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _v1 = BenchPods.Create(N);
        _v2 = BenchPods.NextVersions(_v1, N);
        _store = BenchPods.NewIndexer();
        _store.Replace(_v1, "1");
        BenchPods.Check(_store.Count == N, "store filled");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        BenchPods.Check(_store.Count == N, "Replace kept N objects");
        BenchPods.Check(_store.ByIndex(Indexes.Namespace, "namespace-0").Count == N / BenchPods.Namespaces, "index rebuilt");
        BenchPods.Check(_store.LastStoreSyncResourceVersion is "2" or "3", "store RV = list RV");
    }

    /// <summary>Row 8: the list alternates between two pre-built versions. Target ≤ 46 ms at 100,000.</summary>
    [Benchmark(Description = "Row8 Indexer Replace")]
    public void Replace()
    {
        _second = !_second;
        if (_second)
        {
            _store.Replace(_v2, "3");
        }
        else
        {
            _store.Replace(_v1, "2");
        }
    }
}
