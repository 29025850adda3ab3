using System.Diagnostics;
using System.Globalization;
using KubeConsistency.Client;
using KubeConsistency.Consistency;
using KubeConsistency.Http;
using KubeConsistency.Informers;
using KubeConsistency.Testing;

namespace KubeConsistency.Benchmarks.Sync;

/// <summary>
/// <c>ryw-latency [--cycles 100] [--lags 0,100,500] [--timeout-ms 200] [--timeout-lag-ms 2000] [--timeout-cycles 20]</c>:
/// how long a read-your-writes <c>Get</c> waits after this process's own create, against the embedded API server over
/// loopback with the pod watch delayed by each lag; then the timeout path (a lag longer than the read's timeout). Prints
/// p50/p99 per lag.
/// </summary>
internal static class RywLatencyMode
{
    public static async Task<int> RunAsync(Args args)
    {
        var cycles = args.Int("cycles", 100);
        var lags = args.IntList("lags", 0);
        if (args.String("lags") is null)
        {
            lags = [0, 100, 500];
        }

        var timeoutMs = args.Int("timeout-ms", 200);
        var timeoutLagMs = args.Int("timeout-lag-ms", 2000);
        var timeoutCycles = args.Int("timeout-cycles", 20);
        args.RejectUnknown();

        await using var server = await EmbeddedApiServer.StartAsync();
        using var connection = KubernetesConnection.ForServer(server.BaseAddress);
        var pods = connection.Resource(new ResourceClientOptions<BenchPod> { Resource = GroupVersionResource.Pods, Kind = "Pod", Namespace = "default", TypeInfo = BenchJsonContext.Default.BenchPod });
        var informer = SharedIndexInformer.Create(pods, new SharedIndexInformerOptions<BenchPod> { Resource = GroupVersionResource.Pods, AtomicFifo = true });
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync();
        var reader = ReadYourWritesReader<BenchPod>.Create(informer, new ReadYourWritesOptions<BenchPod> { Resource = GroupResource.Pods, Namespace = "default" });
        var writer = reader.Writer(pods);

        Console.WriteLine("| watch lag | cycles | Get wait p50 ms | p99 ms | max ms | served from cache |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
        var n = 0;
        foreach (var lag in lags)
        {
            server.Faults.SetWatchDelay("", "pods", TimeSpan.FromMilliseconds(lag));
            var waits = new List<double>(cycles);
            var fromCache = 0;
            for (var i = 0; i < cycles; i++)
            {
                var name = string.Create(CultureInfo.InvariantCulture, $"ryw-{n++}");
                await writer.CreateAsync(NewPod(name));
                var started = Stopwatch.GetTimestamp();
                var read = await reader.GetAsync("default/" + name);
                waits.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                fromCache += read.Source == ReadSource.Cache && read.Found ? 1 : 0;
            }

            waits.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {lag} ms | {cycles} | {Percentile(waits, 0.50):0.0} | {Percentile(waits, 0.99):0.0} | {waits[^1]:0.0} | {fromCache} |"));
        }

        // The timeout path: the watch lags longer than the read may wait.
        server.Faults.SetWatchDelay("", "pods", TimeSpan.FromMilliseconds(timeoutLagMs));
        var timeouts = 0;
        var toTimeout = new List<double>();
        for (var i = 0; i < timeoutCycles; i++)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"ryw-{n++}");
            await writer.CreateAsync(NewPod(name));
            var started = Stopwatch.GetTimestamp();
            try
            {
                await reader.GetAsync("default/" + name, new ReadOptions { Timeout = TimeSpan.FromMilliseconds(timeoutMs) });
            }
            catch (ReadYourWritesTimeoutException)
            {
                timeouts++;
                toTimeout.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }

        toTimeout.Sort();
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"timeout path: watch lag {timeoutLagMs} ms, read timeout {timeoutMs} ms: {timeouts}/{timeoutCycles} reads ended in ReadYourWritesTimeoutException after p50 {Percentile(toTimeout, 0.5):0.0} ms, max {(toTimeout.Count > 0 ? toTimeout[^1] : 0):0.0} ms"));
        server.Faults.SetWatchDelay("", "pods", TimeSpan.Zero);
        await stop.CancelAsync();
        await run;
        return 0;
    }

    private static BenchPod NewPod(string name) => new()
    {
        ApiVersion = "v1",
        Kind = "Pod",
        Metadata = new BenchObjectMeta { Name = name, Namespace = "default" },
        Spec = new BenchPodSpec { Containers = [new BenchContainer { Name = "c", Image = "registry.k8s.io/pause:3.10" }] },
    };

    private static double Percentile(List<double> sorted, double p) => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
}
