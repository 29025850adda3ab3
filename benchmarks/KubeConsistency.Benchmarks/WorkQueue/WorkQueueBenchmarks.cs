using BenchmarkDotNet.Attributes;
using KubeConsistency.Controllers;

namespace KubeConsistency.Benchmarks.WorkQueue;

/// <summary>
/// Add → Get → Done on one thread: the cost of the queue's bookkeeping alone, with and without a metrics name
/// (no listener attached, so named queues only pay the <c>Enabled</c> checks).
/// </summary>
[MemoryDiagnoser]
public class WorkQueueSingleThreadBenchmarks
{
    private const int Items = 10_000;
    private readonly string[] _keys = Enumerable.Range(0, Items).Select(i => $"default/object-{i}").ToArray();
    private IWorkQueue<string> _queue = null!;

    [Params(false, true)]
    public bool Named { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _queue = Controllers.WorkQueue.Create(new WorkQueueOptions<string> { Name = Named ? "bench" : null });

        WorkQueuePriming.GrowOnce(_queue, _keys);
    }

    [GlobalCleanup]
    public void Cleanup() => _queue.ShutDown();

    /// <summary>Add all keys, then take and finish them all.</summary>
    [Benchmark(OperationsPerInvoke = Items)]
    public int AddThenDrain()
    {
        foreach (var key in _keys)
        {
            _queue.Add(key);
        }

        var count = 0;
        while (_queue.TryGet(out var key))
        {
            _queue.Done(key);
            count++;
        }

        return count;
    }

    /// <summary>One key at a time: Add, GetAsync (completes synchronously), Done.</summary>
    [Benchmark(OperationsPerInvoke = Items)]
    public async Task<int> AddGetAsyncDone()
    {
        var count = 0;
        foreach (var key in _keys)
        {
            _queue.Add(key);
            var (item, _) = await _queue.GetAsync();
            _queue.Done(item);
            count++;
        }

        return count;
    }
}

/// <summary>
/// A producer adding distinct keys while 1 or 4 workers loop <c>GetAsync</c> → <c>Done</c>: end-to-end throughput
/// including parking and waking workers. One operation is one key added, handed out and finished.
/// </summary>
[MemoryDiagnoser]
public class WorkQueueWorkerBenchmarks
{
    private const int Items = 20_000;
    private readonly string[] _keys = Enumerable.Range(0, Items).Select(i => $"default/object-{i}").ToArray();
    private string[] _stops = [];
    private IWorkQueue<string> _queue = null!;

    [Params(1, 4)]
    public int Workers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _stops = Enumerable.Range(0, Workers).Select(i => $"stop/{i}").ToArray();
        _queue = Controllers.WorkQueue.Create<string>();
        WorkQueuePriming.GrowOnce(_queue, _keys);
    }

    [GlobalCleanup]
    public void Cleanup() => _queue.ShutDown();

    [Benchmark(OperationsPerInvoke = Items)]
    public async Task<int> ProduceAndConsume()
    {
        var workers = new Task<int>[Workers];
        for (var w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Run(WorkerAsync);
        }

        foreach (var key in _keys)
        {
            _queue.Add(key);
        }

        foreach (var stop in _stops)
        {
            _queue.Add(stop);
        }

        var processed = 0;
        foreach (var worker in workers)
        {
            processed += await worker;
        }

        return processed;
    }

    private async Task<int> WorkerAsync()
    {
        var processed = 0;
        while (true)
        {
            var (key, _) = await _queue.GetAsync();
            _queue.Done(key);
            if (key.StartsWith("stop/", StringComparison.Ordinal))
            {
                return processed;
            }

            processed++;
        }
    }
}

/// <summary>Grows a queue's dictionary and FIFO once, so measured runs only reuse capacity.</summary>
internal static class WorkQueuePriming
{
    public static void GrowOnce(IWorkQueue<string> queue, string[] keys)
    {
        foreach (var key in keys)
        {
            queue.Add(key);
        }

        while (queue.TryGet(out var key))
        {
            queue.Done(key);
        }
    }
}
