using BenchmarkDotNet.Attributes;
using KubeConsistency.Cache;

namespace KubeConsistency.Benchmarks.Foundation;

/// <summary>
/// Contended index reads: two reader threads call <c>ByIndex</c> on a 10,000-pod store (100 namespaces, 100 pods each)
/// while one writer thread updates pods, as an informer's consumer does under controllers that read the cache.
/// Reported per <c>ByIndex</c> call (both readers together), so lower is more read throughput.
/// </summary>
[MemoryDiagnoser]
[MinColumn]
[MedianColumn]
[BenchmarkCategory("Foundation", "Indexer", "Contention")]
public class FoundationIndexerContentionBenchmarks
{
    private const int N = 10_000;
    private const int ReadsPerReader = 20_000;

    private BenchPod[] _pods = null!;
    private BenchPod[] _updates = null!;
    private IIndexer<BenchPod> _store = null!;

    private static readonly string[] s_namespaces = [.. Enumerable.Range(0, BenchPods.Namespaces).Select(i => "namespace-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    private static string Namespace(int i) => s_namespaces[i];

    [GlobalSetup]
    public void Setup()
    {
        _pods = BenchPods.Create(N);
        _updates = BenchPods.NextVersions(_pods, N);
        _store = BenchPods.NewIndexer();
        foreach (var pod in _pods)
        {
            _store.Add(pod);
        }
    }

    /// <summary>2 readers × 20,000 <c>ByIndex</c> calls against 1 writer updating continuously.</summary>
    [Benchmark(Description = "ByIndex, 2 readers + 1 writer, 10k store", OperationsPerInvoke = 2 * ReadsPerReader)]
    public int ContendedByIndex()
    {
        using var stop = new CancellationTokenSource();
        var store = _store;
        var updates = _updates;
        var writer = Task.Factory.StartNew(
            () =>
            {
                var i = 0;
                while (!stop.IsCancellationRequested)
                {
                    store.Update(updates[i]);
                    i = (i + 1) % updates.Length;
                }
            },
            TaskCreationOptions.LongRunning);
        var readers = new Task<int>[2];
        for (var r = 0; r < readers.Length; r++)
        {
            var seed = r;
            readers[r] = Task.Factory.StartNew(
                () =>
                {
                    var seen = 0;
                    for (var i = 0; i < ReadsPerReader; i++)
                    {
                        seen += store.ByIndex(Indexes.Namespace, Namespace((i + seed) % BenchPods.Namespaces)).Count;
                    }

                    return seen;
                },
                TaskCreationOptions.LongRunning);
        }

        Task.WaitAll(readers);
        stop.Cancel();
        writer.Wait();
        var total = readers[0].Result + readers[1].Result;
        BenchPods.Check(total == 2 * ReadsPerReader * (N / BenchPods.Namespaces), "every ByIndex saw its namespace's 100 pods");
        return total;
    }
}
