using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace KubeConsistency.Tests.Controllers.WorkQueue;

/// <summary>Records every measurement of the instruments created through one <see cref="TestMeterFactory"/>.</summary>
internal sealed class MetricCollector : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<Recorded> _measurements = new();
    private readonly ConcurrentQueue<Recorded> _observed = new();
    private readonly ConcurrentDictionary<string, Instrument> _instruments = new();

    public MetricCollector(IMeterFactory factory)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, factory))
            {
                _instruments[instrument.Name] = instrument;
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Store(i).Enqueue(new Recorded(i.Name, v, Tags(tags))));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Store(i).Enqueue(new Recorded(i.Name, v, Tags(tags))));
        _listener.Start();
    }

    public IReadOnlyDictionary<string, Instrument> Instruments => _instruments;

    /// <summary>Everything recorded: pushed measurements, and the observable ones of the last <see cref="Observe"/>.</summary>
    public IReadOnlyList<Recorded> All => [.. _measurements, .. _observed];

    public IReadOnlyList<Recorded> Of(string instrument) => [.. All.Where(m => m.Instrument == instrument)];

    public double Sum(string instrument, string queueName) =>
        _measurements.Where(m => m.Instrument == instrument && m.Tags.GetValueOrDefault("name") as string == queueName).Sum(m => m.Value);

    /// <summary>Reads the observable gauges now and returns the value for <paramref name="queueName"/>.</summary>
    public double? Observe(string instrument, string queueName)
    {
        while (_observed.TryDequeue(out _))
        {
        }

        _listener.RecordObservableInstruments();
        var values = _observed.Where(m => m.Instrument == instrument).Where(m => m.Tags.GetValueOrDefault("name") as string == queueName).ToList();
        return values.Count == 0 ? null : values.Single().Value;
    }

    public void Clear()
    {
        while (_measurements.TryDequeue(out _))
        {
        }
    }

    public void Dispose() => _listener.Dispose();

    private ConcurrentQueue<Recorded> Store(Instrument instrument) => instrument.IsObservable ? _observed : _measurements;

    private static Dictionary<string, object?> Tags(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var result = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            result[tag.Key] = tag.Value;
        }

        return result;
    }

    internal sealed record Recorded(string Instrument, double Value, Dictionary<string, object?> Tags);
}
