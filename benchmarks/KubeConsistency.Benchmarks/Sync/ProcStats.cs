using System.Globalization;

namespace KubeConsistency.Benchmarks.Sync;

/// <summary>Linux /proc readings: load average and per-thread CPU of this process, grouped by thread name.</summary>
internal static class ProcStats
{
    private const double TicksPerSecond = 100; // USER_HZ on Linux

    /// <summary>The 1-, 5- and 15-minute load averages, or null off Linux.</summary>
    public static double[]? LoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return [Parse(parts[0]), Parse(parts[1]), Parse(parts[2])];
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>CPU milliseconds (user + system) per live thread, keyed by thread id, with the thread's name.</summary>
    public static Dictionary<int, (string Name, double CpuMs)> Threads()
    {
        var result = new Dictionary<int, (string, double)>();
        if (!Directory.Exists("/proc/self/task"))
        {
            return result;
        }

        foreach (var dir in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                var tid = int.Parse(Path.GetFileName(dir), CultureInfo.InvariantCulture);
                var name = File.ReadAllText(Path.Combine(dir, "comm")).Trim();
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');

                // After "pid (comm) ": state is field 0, utime field 11, stime field 12.
                var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                result[tid] = (name, ticks * 1000 / TicksPerSecond);
            }
            catch (IOException)
            {
                // The thread ended meanwhile.
            }
            catch (FormatException)
            {
            }
        }

        return result;
    }

    /// <summary>CPU per thread-name group between two snapshots (threads that ended in between are lost; "(exited)" covers the gap).</summary>
    public static Dictionary<string, double> Delta(Dictionary<int, (string Name, double CpuMs)> before, Dictionary<int, (string Name, double CpuMs)> after)
    {
        var groups = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (tid, (name, cpu)) in after)
        {
            var start = before.TryGetValue(tid, out var b) ? b.CpuMs : 0;
            var delta = cpu - start;
            if (delta <= 0)
            {
                continue;
            }

            var group = Group(name);
            groups[group] = groups.GetValueOrDefault(group) + delta;
        }

        return groups;
    }

    private static string Group(string name) =>
        name.StartsWith(".NET TP Worker", StringComparison.Ordinal) ? "threadpool" :
        name.StartsWith(".NET BGC", StringComparison.Ordinal) ? "gc-background" :
        name.StartsWith(".NET Server GC", StringComparison.Ordinal) ? "gc-server" :
        name.StartsWith(".NET Tiered", StringComparison.Ordinal) ? "jit-tiering" :
        name.StartsWith(".NET SocketEng", StringComparison.Ordinal) ? "socket-engine" :
        name.StartsWith(".NET Long Runn", StringComparison.Ordinal) ? "long-running" :
        name.StartsWith(".NET Finalizer", StringComparison.Ordinal) ? "finalizer" :
        name.StartsWith(".NET", StringComparison.Ordinal) ? "runtime-other" :
        "main/other";

    private static double Parse(string s) => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
}
