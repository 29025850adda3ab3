using System.Collections;
using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using KubeConsistency.Benchmarks.Foundation;

namespace KubeConsistency.Benchmarks.Probes;

/// <summary>
/// Candidate item tables for the indexer, all with lock-free readers and writers serialised by the store lock:
/// today's ConcurrentDictionary (one node object per entry) against System.Collections.Hashtable, which is
/// documented as safe for many readers and one writer and keeps all entries in one bucket array.
/// </summary>
[MemoryDiagnoser]
[BenchmarkCategory("Probes")]
public class ProbeItemTableBenchmarks
{
    private const int N = 100_000;

    private static readonly int Concurrency = Math.Max(2, Environment.ProcessorCount);

    private readonly Lock _lock = new();
    private BenchPod[] _v1 = null!;
    private BenchPod[] _v2 = null!;
    private string[] _keys = null!;
    private string[] _freshKeys = null!;
    private ConcurrentDictionary<string, BenchPod> _cd = null!;
    private Hashtable _table = null!;
    private bool _second;
    private int _next;
    private object? _live;

    [GlobalSetup]
    public void Setup()
    {
        _v1 = BenchPods.Create(N);
        _v2 = BenchPods.NextVersions(_v1, N);
        _keys = BenchPods.Keys(_v1);
        _freshKeys = BenchPods.Keys(_v1);
        _cd = BuildCd(_v1);
        _table = BuildTable(_v1);
        BenchPods.Check(_table.Count == N && ReferenceEquals(_table[_freshKeys[5]], _v1[5]), "hashtable built");
    }

    private BenchPod[] NextList()
    {
        _second = !_second;
        return _second ? _v2 : _v1;
    }

    private int Next()
    {
        var i = _next;
        _next = i + 1 == N ? 0 : i + 1;
        return i;
    }

    [Benchmark(Baseline = true, Description = "build 100k: ConcurrentDictionary (today)")]
    public void BuildConcurrent() => _live = BuildCd(NextList());

    [Benchmark(Description = "build 100k: Hashtable (1 reader-safe array)")]
    public void BuildHashtable() => _live = BuildTable(NextList());

    [Benchmark(OperationsPerInvoke = N, Description = "enumerate 100k: ConcurrentDictionary")]
    public int EnumerateConcurrent()
    {
        var n = 0;
        foreach (var pair in _cd)
        {
            n += pair.Key.Length;
        }

        return n;
    }

    [Benchmark(OperationsPerInvoke = N, Description = "enumerate 100k: Hashtable")]
    public int EnumerateHashtable()
    {
        var n = 0;
        foreach (DictionaryEntry pair in _table)
        {
            n += ((string)pair.Key).Length;
        }

        return n;
    }

    [Benchmark(Description = "get same key: ConcurrentDictionary")]
    public BenchPod? GetConcurrent() => _cd.TryGetValue(_freshKeys[7], out var p) ? p : null;

    [Benchmark(Description = "get same key: Hashtable")]
    public BenchPod? GetHashtable() => (BenchPod?)_table[_freshKeys[7]];

    [Benchmark(Description = "update existing: CD TryGetValue + set (today)")]
    public void UpdateConcurrent()
    {
        var i = Next();
        var key = _freshKeys[i];
        lock (_lock)
        {
            if (_cd.TryGetValue(key, out _))
            {
                _cd[key] = _v2[i];
            }
        }
    }

    [Benchmark(Description = "update existing: Hashtable get + set")]
    public void UpdateHashtable()
    {
        var i = Next();
        var key = _freshKeys[i];
        lock (_lock)
        {
            if (_table[key] is not null)
            {
                _table[key] = _v2[i];
            }
        }
    }

    private ConcurrentDictionary<string, BenchPod> BuildCd(BenchPod[] list)
    {
        var cd = new ConcurrentDictionary<string, BenchPod>(Concurrency, Math.Max(64, list.Length), StringComparer.Ordinal);
        for (var i = 0; i < list.Length; i++)
        {
            cd[_keys[i]] = list[i];
        }

        return cd;
    }

    private Hashtable BuildTable(BenchPod[] list)
    {
        var table = new Hashtable(list.Length, StringComparer.Ordinal);
        for (var i = 0; i < list.Length; i++)
        {
            table[_keys[i]] = list[i];
        }

        return table;
    }
}
