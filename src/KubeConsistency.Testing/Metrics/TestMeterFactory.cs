using System.Diagnostics.Metrics;

namespace KubeConsistency.Testing;

/// <summary>
/// A minimal <see cref="IMeterFactory"/> (what <c>services.AddMetrics()</c> provides in a hosted app): one meter per
/// name and version, scoped to this factory. Give each test or scenario its own, and a <see cref="MeterListener"/>
/// that filters on <see cref="Meter.Scope"/> sees only that test's instruments even when tests run in parallel.
/// </summary>
public sealed class TestMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    /// <summary>Returns this factory's meter of the given name and version, creating it on first use.</summary>
    /// <param name="options">The meter's name, version and tags.</param>
    /// <returns>The meter, whose <see cref="Meter.Scope"/> is this factory.</returns>
    public Meter Create(MeterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        lock (_meters)
        {
            var existing = _meters.Find(m => m.Name == options.Name && m.Version == options.Version);
            if (existing is not null)
            {
                return existing;
            }

            var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
            _meters.Add(meter);
            return meter;
        }
    }

    /// <summary>Disposes every meter this factory created.</summary>
    public void Dispose()
    {
        lock (_meters)
        {
            _meters.ForEach(static m => m.Dispose());
            _meters.Clear();
        }
    }
}
