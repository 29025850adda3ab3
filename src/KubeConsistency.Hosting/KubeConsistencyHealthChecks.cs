using System.Collections.Concurrent;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace KubeConsistency.Hosting;

/// <summary>Readiness: every informer's cache has synced; the data says whether this replica leads.</summary>
internal sealed class CachesSyncedHealthCheck(InformerHandles informers, ILeadership leadership) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var handles = informers.All;
        var pending = handles.Where(h => !h.HasSynced).Select(h => h.Name).ToList();
        var data = new Dictionary<string, object> { ["leader"] = leadership.IsLeader, ["identity"] = leadership.Identity };
        return Task.FromResult(pending.Count == 0
            ? HealthCheckResult.Healthy($"{handles.Count} cache(s) synced", data)
            : HealthCheckResult.Unhealthy($"not synced yet: {string.Join(", ", pending)}", data: data));
    }
}

/// <summary>
/// Liveness: every informer's reflector has made progress (an event, a bookmark, a list) within
/// <see cref="KubeConsistencyOptions.WatchProgressBound"/>: a silent watch is unhealthy, not invisible.
/// </summary>
internal sealed class WatchProgressHealthCheck(InformerHandles informers, IOptions<KubeConsistencyOptions> options, TimeProvider time) : IHealthCheck
{
    private readonly ConcurrentDictionary<string, (long Progress, DateTimeOffset At)> _seen = new(StringComparer.Ordinal);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var bound = options.Value.WatchProgressBound;
        var silent = new List<string>();
        var data = new Dictionary<string, object>();
        foreach (var handle in informers.All)
        {
            var s = handle.Statistics;
            var progress = s.Events + s.Lists + s.WatchLists;
            var (last, at) = _seen.AddOrUpdate(handle.Name, (progress, now), (_, old) => old.Progress == progress ? old : (progress, now));
            var quietFor = now - at;
            data[handle.Name] = $"{progress} (last progress {quietFor.TotalSeconds:0.#} s ago)";
            if (quietFor > bound)
            {
                silent.Add($"{handle.Name} ({quietFor.TotalSeconds:0.#} s)");
            }
        }

        return Task.FromResult(silent.Count == 0
            ? HealthCheckResult.Healthy("every watch made progress", data)
            : HealthCheckResult.Unhealthy($"no watch progress within {bound.TotalSeconds:0.#} s: {string.Join(", ", silent)}", data: data));
    }
}
