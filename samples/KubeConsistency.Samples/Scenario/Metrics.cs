using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using KubeConsistency.Controllers;

namespace KubeConsistency.Samples.Scenario;

/// <summary>
/// Counts the staleness gates' skips (<c>&lt;controller&gt;.stale_sync_skips</c>, exported as
/// <c>&lt;controller&gt;_stale_sync_skips_total{group,resource}</c>) through a <see cref="MeterListener"/>, for the meters
/// of one <see cref="IMeterFactory"/>.
/// </summary>
public sealed class StaleSkipCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<(string Controller, string Group, string Resource), long> _counts = new();

    /// <summary>Starts listening to the skip counters of meters created by <paramref name="meterFactory"/>.</summary>
    public StaleSkipCounter(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, meterFactory) && instrument.Name.EndsWith("." + StalenessGate.SkipsInstrumentSuffix, StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string group = "", resource = "";
            foreach (var tag in tags)
            {
                if (tag.Key == "group")
                {
                    group = tag.Value as string ?? "";
                }
                else if (tag.Key == "resource")
                {
                    resource = tag.Value as string ?? "";
                }
            }

            var controller = instrument.Name[..^(StalenessGate.SkipsInstrumentSuffix.Length + 1)];
            _counts.AddOrUpdate((controller, group, resource), value, (_, n) => n + value);
        });
        _listener.Start();
    }

    /// <summary>Skips per <c>"&lt;group&gt;/&lt;resource&gt;"</c> (core group as <c>""</c>, e.g. <c>"/pods"</c>), over all controllers.</summary>
    public IReadOnlyDictionary<string, long> ByResource() =>
        _counts.GroupBy(static e => e.Key.Group + "/" + e.Key.Resource, StringComparer.Ordinal)
            .OrderBy(static g => g.Key, StringComparer.Ordinal)
            .ToDictionary(static g => g.Key, static g => g.Sum(static e => e.Value), StringComparer.Ordinal);

    /// <summary>Skips per controller subsystem (e.g. <c>replicaset_controller</c>) and <c>"&lt;group&gt;/&lt;resource&gt;"</c>.</summary>
    public IReadOnlyList<(string Controller, string Resource, long Count)> ByController() =>
        [.. _counts.Select(static e => (e.Key.Controller, e.Key.Group + "/" + e.Key.Resource, e.Value)).OrderBy(static e => e.Controller, StringComparer.Ordinal).ThenBy(static e => e.Item2, StringComparer.Ordinal)];

    /// <summary>All skips.</summary>
    public long Total => _counts.Values.Sum();

    /// <inheritdoc/>
    public void Dispose() => _listener.Dispose();
}
