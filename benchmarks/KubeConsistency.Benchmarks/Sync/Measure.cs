using System.Diagnostics;
using System.Runtime;
using System.Text.Json.Nodes;

namespace KubeConsistency.Benchmarks.Sync;

/// <summary>A point-in-time reading of this process's clocks, CPU, GC and JIT counters.</summary>
internal sealed class Snapshot
{
    private Snapshot()
    {
    }

    public long Timestamp { get; private init; }

    public TimeSpan Cpu { get; private init; }

    public TimeSpan User { get; private init; }

    public TimeSpan System { get; private init; }

    public long Allocated { get; private init; }

    public int Gen0 { get; private init; }

    public int Gen1 { get; private init; }

    public int Gen2 { get; private init; }

    public TimeSpan GcPause { get; private init; }

    public TimeSpan Jit { get; private init; }

    public long JitMethods { get; private init; }

    public long ThreadPoolWorkItems { get; private init; }

    public Dictionary<int, (string Name, double CpuMs)> Threads { get; private init; } = [];

    public static Snapshot Take(bool threads = true)
    {
        using var p = Process.GetCurrentProcess();
        return new Snapshot
        {
            Timestamp = Stopwatch.GetTimestamp(),
            Cpu = p.TotalProcessorTime,
            User = p.UserProcessorTime,
            System = p.PrivilegedProcessorTime,
            Allocated = GC.GetTotalAllocatedBytes(precise: true),
            Gen0 = GC.CollectionCount(0),
            Gen1 = GC.CollectionCount(1),
            Gen2 = GC.CollectionCount(2),
            GcPause = GC.GetTotalPauseDuration(),
            Jit = JitInfo.GetCompilationTime(),
            JitMethods = JitInfo.GetCompiledMethodCount(),
            ThreadPoolWorkItems = ThreadPool.CompletedWorkItemCount,
            Threads = threads ? ProcStats.Threads() : [],
        };
    }

    /// <summary>The difference <c>this - start</c> as JSON (milliseconds, bytes, counts).</summary>
    public JsonObject Since(Snapshot start)
    {
        var o = new JsonObject
        {
            ["wallMs"] = Ms(Stopwatch.GetElapsedTime(start.Timestamp, Timestamp)),
            ["cpuMs"] = Ms(Cpu - start.Cpu),
            ["userMs"] = Ms(User - start.User),
            ["sysMs"] = Ms(System - start.System),
            ["allocatedBytes"] = Allocated - start.Allocated,
            ["gen0"] = Gen0 - start.Gen0,
            ["gen1"] = Gen1 - start.Gen1,
            ["gen2"] = Gen2 - start.Gen2,
            ["gcPauseMs"] = Ms(GcPause - start.GcPause),
            ["jitMs"] = Ms(Jit - start.Jit),
            ["jitMethods"] = JitMethods - start.JitMethods,
            ["threadPoolWorkItems"] = ThreadPoolWorkItems - start.ThreadPoolWorkItems,
        };
        if (Threads.Count > 0)
        {
            var threads = new JsonObject();
            foreach (var (name, ms) in ProcStats.Delta(start.Threads, Threads).OrderByDescending(kv => kv.Value))
            {
                threads[name] = Math.Round(ms);
            }

            o["threadCpuMs"] = threads;
        }

        return o;
    }

    public static double Ms(TimeSpan t) => Math.Round(t.TotalMilliseconds, 1);
}

/// <summary>Runtime configuration as the process actually sees it.</summary>
internal static class RuntimeInfo
{
    public static JsonObject Describe()
    {
        var env = new JsonObject();
        foreach (var key in Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(k => k.StartsWith("DOTNET_", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            env[key] = Environment.GetEnvironmentVariable(key);
        }

        return new JsonObject
        {
            ["runtime"] = Environment.Version.ToString(),
            ["serverGC"] = GCSettings.IsServerGC,
            ["latencyMode"] = GCSettings.LatencyMode.ToString(),
            ["concurrentGC"] = AppContext.GetData("System.GC.Concurrent")?.ToString(),
            ["tieredPGO"] = AppContext.GetData("System.Runtime.TieredPGO")?.ToString(),
            ["processors"] = Environment.ProcessorCount,
            ["dotnetEnv"] = env,
        };
    }
}
