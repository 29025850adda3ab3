using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;

namespace KubeConsistency.Benchmarks.Sync;

/// <summary>
/// <c>alloc-report --trace FILE.nettrace [--top 20]</c>: where a client process allocated, from the runtime's sampled
/// <c>GCAllocationTick</c> events (one per ~100 KB allocated, with its stack), and how often and how long it collected.
/// The trace comes from a run with the <c>alloctrace</c> variant, which turns EventPipe on in the client process.
/// </summary>
internal static class AllocationReportMode
{
    /// <summary>The client environment of the <c>alloctrace</c> variant: GC events at verbose level, to a file.</summary>
    public static Dictionary<string, string> Environment(string outputPath) => new()
    {
        ["DOTNET_EnableEventPipe"] = "1",
        ["DOTNET_EventPipeOutputPath"] = outputPath,
        ["DOTNET_EventPipeConfig"] = "Microsoft-Windows-DotNETRuntime:0x1:5",
    };

    public static int Run(Args args)
    {
        var path = args.String("trace") ?? throw new ArgumentException("alloc-report needs --trace FILE.nettrace");
        var top = args.Int("top", 20);
        args.RejectUnknown();

        var etlx = TraceLog.CreateFromEventPipeDataFile(path);
        using var log = new TraceLog(etlx);
        using var source = log.Events.GetSource();

        var byType = new Dictionary<string, long>(StringComparer.Ordinal);
        var byMethod = new Dictionary<string, long>(StringComparer.Ordinal);
        var byCaller = new Dictionary<string, long>(StringComparer.Ordinal);
        long total = 0;
        var collections = new int[3];
        double pauseMs = 0, suspendedAt = -1;

        source.Clr.GCAllocationTick += e =>
        {
            var amount = e.AllocationAmount64;
            total += amount;
            Add(byType, e.TypeName ?? "?", amount);
            var frame = e.CallStack();
            Add(byMethod, frame?.CodeAddress.FullMethodName is { Length: > 0 } m ? m : "?", amount);
            Add(byCaller, FirstOwnFrame(frame) ?? "?", amount);
        };
        source.Clr.GCStart += e => collections[Math.Min(e.Depth, 2)]++;
        source.Clr.GCSuspendEEStart += e => suspendedAt = e.TimeStampRelativeMSec;
        source.Clr.GCRestartEEStop += e =>
        {
            if (suspendedAt >= 0)
            {
                pauseMs += e.TimeStampRelativeMSec - suspendedAt;
                suspendedAt = -1;
            }
        };
        source.Process();

        Console.WriteLine($"sampled allocation: {total / 1048576.0:F0} MiB; GCs gen0/gen1/gen2 {collections[0]}/{collections[1]}/{collections[2]}, pause {pauseMs:F0} ms");
        Print("type", byType, total, top);
        Print("allocating method", byMethod, total, top);
        Print("first KubeConsistency / k8s / benchmark frame", byCaller, total, top);
        return 0;
    }

    // The nearest frame of our code or of KubernetesClient: who asked for the allocation, below the BCL's helpers.
    private static string? FirstOwnFrame(TraceCallStack? frame)
    {
        for (; frame is not null; frame = frame.Caller)
        {
            var name = frame.CodeAddress.FullMethodName;
            if (name.StartsWith("KubeConsistency.", StringComparison.Ordinal) || name.StartsWith("k8s.", StringComparison.Ordinal))
            {
                return name;
            }
        }

        return null;
    }

    private static void Add(Dictionary<string, long> table, string key, long amount) =>
        table[key] = table.GetValueOrDefault(key) + amount;

    private static void Print(string title, Dictionary<string, long> table, long total, int top)
    {
        Console.WriteLine();
        Console.WriteLine($"| {title} | MiB | share |");
        Console.WriteLine("|---|---:|---:|");
        foreach (var (key, amount) in table.OrderByDescending(static kv => kv.Value).Take(top))
        {
            var name = key.Length > 140 ? key[..140] + "…" : key;
            Console.WriteLine($"| {name.Replace('|', '/')} | {amount / 1048576.0:F1} | {100.0 * amount / Math.Max(total, 1):F1} % |");
        }
    }
}
