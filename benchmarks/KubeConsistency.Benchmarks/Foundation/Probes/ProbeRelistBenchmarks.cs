using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using KubeConsistency.Benchmarks.Foundation;
using KubeConsistency.Cache.Advanced;
using KubeConsistency.Cache;

namespace KubeConsistency.Benchmarks.Probes;

/// <summary>
/// Where a 100,000-object relist spends its time: the real <c>Replace</c> against prototypes that build the same
/// content (a ConcurrentDictionary of items plus a namespace index of HashSets) with the proposed changes, and the
/// pieces of <c>ProcessReplacedAll</c> that run before <c>Replace</c>.
/// </summary>
[MemoryDiagnoser]
[BenchmarkCategory("Probes")]
public class ProbeRelistBenchmarks
{
    private const int N = 100_000;

    private static readonly int Concurrency = Math.Max(2, Environment.ProcessorCount);

    private readonly KeyFunc<BenchPod> _keyFunc = ObjectKeys.MetaNamespaceKeyFunc<BenchPod>();
    private readonly IndexFunc<BenchPod> _byNamespace = Indexes.ByNamespace<BenchPod>();
    private BenchPod[] _v1 = null!;
    private BenchPod[] _v2 = null!;
    private string[] _keys = null!;
    private IIndexer<BenchPod> _store = null!;
    private bool _second;

    // Keeps the prototype's result alive until the next call, as the store keeps its content (same GC picture).
    private object? _live;

    [GlobalSetup]
    public void Setup()
    {
        _v1 = BenchPods.Create(N);
        _v2 = BenchPods.NextVersions(_v1, N);
        _keys = BenchPods.Keys(_v1);
        _store = BenchPods.NewIndexer();
        _store.Replace(_v1, "1");
        var proto = ProtoReplace(_v1, _keys, singleValueIndex: true);
        BenchPods.Check(proto.Items.Count == N && proto.Index.Count == BenchPods.Namespaces && proto.Index["namespace-5"].Count == N / BenchPods.Namespaces, "prototype builds the same content");
    }

    private BenchPod[] NextList()
    {
        _second = !_second;
        return _second ? _v2 : _v1;
    }

    [Benchmark(Baseline = true, Description = "store.Replace(100k) today")]
    public void ReplaceToday() => _store.Replace(NextList(), "2");

    [Benchmark(Description = "proto: keys passed in, index built from arrays")]
    public void ReplaceKeysPassed() => _live = ProtoReplace(NextList(), _keys, singleValueIndex: false);

    [Benchmark(Description = "proto: + single-value index func")]
    public void ReplaceKeysPassedSingleValue() => _live = ProtoReplace(NextList(), _keys, singleValueIndex: true);

    [Benchmark(Description = "ProcessReplacedAll pre-work: keys+HashSet+TryGetByKey")]
    public int DiffLookups()
    {
        var list = NextList();
        var newKeys = new HashSet<string>(list.Length, StringComparer.Ordinal);
        var olds = new BenchPod?[list.Length];
        for (var i = 0; i < list.Length; i++)
        {
            var key = _keyFunc(list[i]);
            newKeys.Add(key);
            olds[i] = _store.TryGetByKey(key, out var old) ? old : null;
        }

        _live = olds;
        return newKeys.Count;
    }

    [Benchmark(Description = "ProcessReplacedAll deletion scan: ListKeys+Contains")]
    public int DeletionScan()
    {
        var newKeys = new HashSet<string>(_keys, StringComparer.Ordinal);
        var deletions = 0;
        foreach (var key in _store.ListKeys())
        {
            if (!newKeys.Contains(key))
            {
                deletions++;
            }
        }

        return deletions;
    }

    [Benchmark(Description = "HashSet build only (baseline for the scan)")]
    public int HashSetOnly() => new HashSet<string>(_keys, StringComparer.Ordinal).Count;

    [Benchmark(Description = "FIFO atomic Replace copy (100k array)")]
    public object FifoCopy()
    {
        var list = NextList();
        var objects = new BenchPod[list.Length];
        for (var i = 0; i < objects.Length; i++)
        {
            objects[i] = list[i];
        }

        return objects;
    }

    private (ConcurrentDictionary<string, BenchPod> Items, Dictionary<string, HashSet<string>> Index) ProtoReplace(BenchPod[] items, string[] keys, bool singleValueIndex)
    {
        var next = new ConcurrentDictionary<string, BenchPod>(Concurrency, Math.Max(64, items.Length), StringComparer.Ordinal);
        for (var i = 0; i < items.Length; i++)
        {
            next[keys[i]] = items[i];
        }

        // No duplicate keys (Count == length): index straight from the arrays instead of enumerating the dictionary.
        BenchPods.Check(next.Count == items.Length, "no duplicates");
        var index = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        for (var i = 0; i < items.Length; i++)
        {
            if (singleValueIndex)
            {
                Add(index, items[i].Metadata?.NamespaceProperty ?? string.Empty, keys[i]);
            }
            else
            {
                var values = _byNamespace(items[i]);
                for (var v = 0; v < values.Count; v++)
                {
                    Add(index, values[v], keys[i]);
                }
            }
        }

        return (next, index);
    }

    private static void Add(Dictionary<string, HashSet<string>> index, string value, string key)
    {
        if (!index.TryGetValue(value, out var set))
        {
            set = new HashSet<string>(StringComparer.Ordinal);
            index[value] = set;
        }

        set.Add(key);
    }
}

/// <summary>Splits row 11 (one watch event) into the FIFO part and the apply part.</summary>
[MemoryDiagnoser]
[BenchmarkCategory("Probes")]
public class ProbeWatchEventBenchmarks
{
    private const int N = 100_000;

    private BenchPod[] _v1 = null!;
    private BenchPod[] _v2 = null!;
    private IIndexer<BenchPod> _store = null!;
    private IDeltaQueue<BenchPod> _fifo = null!;
    private CountingHandler _handler = null!;
    private PopProcessor<BenchPod> _noop = null!;
    private int _next;
    private bool _second;

    [GlobalSetup]
    public void Setup()
    {
        _v1 = BenchPods.Create(N);
        _v2 = BenchPods.NextVersions(_v1, N);
        _store = BenchPods.NewIndexer();
        _store.Replace(_v1, "1");
        _handler = new CountingHandler();
        _fifo = RealFifo.Create(new RealFifoOptions<BenchPod> { AtomicEvents = true, EmitDeltaTypeBookmark = true, UnlockWhileProcessing = true });
        _noop = static (_, _) => { };
    }

    private BenchPod NextPod()
    {
        var i = _next;
        var pod = _second ? _v1[i] : _v2[i];
        if (++i == N)
        {
            i = 0;
            _second = !_second;
        }

        _next = i;
        return pod;
    }

    [Benchmark(Description = "FIFO Update + PopAsync, no-op processor")]
    public void FifoOnly()
    {
        _fifo.Update(NextPod());
        var pop = _fifo.PopAsync(_noop);
        if (!pop.IsCompletedSuccessfully || !pop.Result)
        {
            throw new InvalidOperationException("not popped");
        }
    }

    [Benchmark(Description = "DeltaProcessor.Process(Updated) only")]
    public void ApplyOnly() => DeltaProcessor.Process(_store, _handler, new Delta<BenchPod>(DeltaType.Updated, NextPod()), false);

    [Benchmark(Description = "store.Update only")]
    public void StoreUpdateOnly() => _store.Update(NextPod());

    [Benchmark(Description = "store.TryGet(obj) only")]
    public bool StoreTryGetOnly() => _store.TryGet(NextPod(), out _);
}
