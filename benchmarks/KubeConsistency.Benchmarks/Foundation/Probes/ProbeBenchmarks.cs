using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using KubeConsistency.Benchmarks.Foundation;
using KubeConsistency.Cache;

// Targeted micro-benchmarks of the pieces of the Foundation hot paths, used as evidence for optimisation
// proposals. Deliberately outside the Foundation namespace so that `--filter '*Foundation*'` does not run them;
// run them with `--filter '*Probe*'`.
namespace KubeConsistency.Benchmarks.Probes;

/// <summary>Key and index computation per object.</summary>
[MemoryDiagnoser]
[BenchmarkCategory("Probes")]
public class ProbeKeyIndexBenchmarks
{
    private readonly KeyFunc<BenchPod> _keyFunc = ObjectKeys.MetaNamespaceKeyFunc<BenchPod>();
    private readonly IndexFunc<BenchPod> _byNamespace = Indexes.ByNamespace<BenchPod>();
    private readonly ObjectMetadataAccessor<BenchPod> _accessor = ObjectMetadataAccessor<BenchPod>.Default;
    private readonly Func<BenchPod, string?> _singleValue = static p => p.Metadata?.NamespaceProperty ?? string.Empty;
    private BenchPod _pod = null!;
    private string _key = null!;

    [GlobalSetup]
    public void Setup()
    {
        _pod = BenchPods.Create(5000)[4242];
        _key = _keyFunc(_pod);
    }

    [Benchmark(Baseline = true, Description = "KeyFunc (default MetaNamespaceKeyFunc)")]
    public string KeyFuncDefault() => _keyFunc(_pod);

    [Benchmark(Description = "Key by direct property access + Concat")]
    public string KeyDirect() => string.Concat(_pod.Metadata!.NamespaceProperty, "/", _pod.Metadata.Name);

    [Benchmark(Description = "Accessor GetResourceVersion (HasMetadata + Get)")]
    public string? AccessorRv() => _accessor.HasMetadata(_pod) ? _accessor.GetResourceVersion(_pod) : null;

    [Benchmark(Description = "IndexFunc ByNamespace (list per call)")]
    public IReadOnlyList<string> IndexByNamespace() => _byNamespace(_pod);

    [Benchmark(Description = "Single-value index func (no list)")]
    public string? IndexSingleValue() => _singleValue(_pod);

    [Benchmark(Description = "string Ordinal hash of key (randomized)")]
    public int HashKey() => StringComparer.Ordinal.GetHashCode(_key);
}

/// <summary>Lookups and in-place updates at 100,000 entries: what the store and index do per Update.</summary>
[MemoryDiagnoser]
[BenchmarkCategory("Probes")]
public class ProbeDictionaryBenchmarks
{
    private const int N = 100_000;

    private readonly object _gate = new();
    private readonly Lock _lock = new();
    private ConcurrentDictionary<string, BenchPod> _concurrent = null!;
    private Dictionary<string, BenchPod> _plain = null!;
    private HashSet<string> _set = null!;
    private BenchPod[] _pods = null!;
    private string[] _keys = null!;
    private string[] _freshKeys = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _pods = BenchPods.Create(N);
        _keys = BenchPods.Keys(_pods);

        // Equal but distinct key strings, as a freshly computed key would be.
        _freshKeys = BenchPods.Keys(_pods);
        _concurrent = new ConcurrentDictionary<string, BenchPod>(Math.Max(2, Environment.ProcessorCount), 64, StringComparer.Ordinal);
        _plain = new Dictionary<string, BenchPod>(StringComparer.Ordinal);
        _set = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < N; i++)
        {
            _concurrent[_keys[i]] = _pods[i];
            _plain[_keys[i]] = _pods[i];
            _set.Add(_keys[i]);
        }
    }

    private int Next()
    {
        var i = _next;
        _next = i + 1 == N ? 0 : i + 1;
        return i;
    }

    [Benchmark(Description = "CD TryGetValue, same key")]
    public BenchPod? CdGetSame() => _concurrent.TryGetValue(_freshKeys[7], out var p) ? p : null;

    [Benchmark(Description = "Dictionary TryGetValue, same key")]
    public BenchPod? DictGetSame() => _plain.TryGetValue(_freshKeys[7], out var p) ? p : null;

    [Benchmark(Description = "CD TryGetValue + this[key]= (UpsertLocked today)")]
    public void CdUpsertTwoHashes()
    {
        var i = Next();
        var key = _freshKeys[i];
        lock (_lock)
        {
            if (_concurrent.TryGetValue(key, out _))
            {
                _concurrent[key] = _pods[i];
            }
        }
    }

    [Benchmark(Description = "CD TryGetValue + TryUpdate(old)")]
    public void CdTryUpdate()
    {
        var i = Next();
        var key = _freshKeys[i];
        lock (_lock)
        {
            if (_concurrent.TryGetValue(key, out var old))
            {
                _concurrent.TryUpdate(key, _pods[i], old);
            }
        }
    }

    [Benchmark(Description = "Dictionary GetValueRefOrAddDefault (one hash)")]
    public void DictUpsertOneHash()
    {
        var i = Next();
        lock (_lock)
        {
            ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_plain, _freshKeys[i], out _);
            slot = _pods[i];
        }
    }

    [Benchmark(Description = "HashSet Remove+Add (index move)")]
    public void SetRemoveAdd()
    {
        var key = _freshKeys[Next()];
        _set.Remove(key);
        _set.Add(key);
    }

    [Benchmark(Description = "Lock enter/exit (System.Threading.Lock)")]
    public void LockEnterExit()
    {
        lock (_lock)
        {
            _next++;
        }
    }

    [Benchmark(Description = "Monitor enter/exit (object)")]
    public void MonitorEnterExit()
    {
        lock (_gate)
        {
            _next++;
        }
    }

    [Benchmark(Description = "TimeProvider.System.GetTimestamp")]
    public long Timestamp() => TimeProvider.System.GetTimestamp();

    [Benchmark(Description = "Stopwatch.GetTimestamp")]
    public long StopwatchTimestamp() => Stopwatch.GetTimestamp();
}

/// <summary>The owner-map lookup behind EnsureReady (row 1): NamespacedName hashing and dictionary choice.</summary>
[MemoryDiagnoser]
[BenchmarkCategory("Probes")]
public class ProbeOwnerMapBenchmarks
{
    private ConcurrentDictionary<NamespacedName, object> _cdDefault = null!;
    private ConcurrentDictionary<NamespacedName, object> _cdNameHash = null!;
    private Dictionary<NamespacedName, object> _dict = null!;
    private NamespacedName _absent;
    private NamespacedName _present;

    [GlobalSetup]
    public void Setup()
    {
        _cdDefault = new();
        _cdNameHash = new(NameHashComparer.Instance);
        _dict = [];
        for (var i = 0; i < 1000; i++)
        {
            var nn = new NamespacedName("namespace-" + (i % 100), "other-rs-" + i);
            _cdDefault[nn] = nn;
            _cdNameHash[nn] = nn;
            _dict[nn] = nn;
        }

        _absent = new NamespacedName("namespace-42", "replicaset-424242");
        _present = new NamespacedName("namespace-7", "other-rs-7");
    }

    [Benchmark(Baseline = true, Description = "NamespacedName.GetHashCode (2 Marvin + Combine)")]
    public int HashDefault() => _absent.GetHashCode();

    [Benchmark(Description = "Name-only hash (1 Marvin)")]
    public int HashNameOnly() => NameHashComparer.Instance.GetHashCode(_absent);

    [Benchmark(Description = "CD<NN> TryGetValue miss (today)")]
    public object? CdMissDefault() => _cdDefault.TryGetValue(_absent, out var o) ? o : null;

    [Benchmark(Description = "CD<NN> TryGetValue miss, name-only hash")]
    public object? CdMissNameHash() => _cdNameHash.TryGetValue(_absent, out var o) ? o : null;

    [Benchmark(Description = "Dictionary<NN> TryGetValue miss")]
    public object? DictMiss() => _dict.TryGetValue(_absent, out var o) ? o : null;

    [Benchmark(Description = "CD<NN> TryGetValue hit (today)")]
    public object? CdHitDefault() => _cdDefault.TryGetValue(_present, out var o) ? o : null;

    [Benchmark(Description = "CD<NN> IsEmpty check")]
    public bool CdIsEmpty() => _cdDefault.IsEmpty;

    /// <summary>Hashes the name only (randomized) and mixes in the namespace length; equality is unchanged.</summary>
    public sealed class NameHashComparer : IEqualityComparer<NamespacedName>
    {
        public static readonly NameHashComparer Instance = new();

        public bool Equals(NamespacedName x, NamespacedName y) => x.Equals(y);

        public int GetHashCode(NamespacedName obj) => obj.Name.GetHashCode(StringComparison.Ordinal) ^ (obj.Namespace.Length * 16777619);
    }
}
