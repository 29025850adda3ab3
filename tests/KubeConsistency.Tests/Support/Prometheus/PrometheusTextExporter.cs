using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace KubeConsistency.Metrics;

/// <summary>Options for <see cref="PrometheusTextExporter.Create"/>.</summary>
public sealed class PrometheusTextExporterOptions
{
    /// <summary>The meters whose instruments are exported; by default only <see cref="KubeConsistencyMeter.Name"/>.</summary>
    public ICollection<string> MeterNames { get; init; } = [KubeConsistencyMeter.Name];

    /// <summary>
    /// When set, only meters created by this factory (<see cref="Meter.Scope"/>) are exported, e.g. the application's
    /// <see cref="IMeterFactory"/> that was also given to KubeConsistency's components.
    /// </summary>
    public IMeterFactory? MeterFactory { get; init; }

    /// <summary>Do not append <c>_total</c> to counter names (the OpenTelemetry exporter's option of the same name).</summary>
    public bool DisableTotalNameSuffixForCounters { get; init; }
}

/// <summary>
/// Renders instruments in the Prometheus text exposition format 0.0.4 with OpenTelemetry's naming rules (ecosystem.md §8),
/// so names equal kube-controller-manager's and client-go's: <c>replicaset_controller_stale_sync_skips_total{group,resource}</c>,
/// <c>informer_store_resource_version{name,group,version,resource}</c>, <c>workqueue_depth{name}</c>,
/// <c>workqueue_queue_duration_seconds_bucket{name,le}</c>. A small <see cref="MeterListener"/>-based stand-in for the
/// OpenTelemetry Prometheus exporter; serve <see cref="WriteAsync"/> from any HTTP endpoint with <see cref="ContentType"/>.
/// </summary>
/// <remarks>
/// Counters (and observable counters) become <c>counter</c>s, up-down counters and gauges become <c>gauge</c>s, histograms
/// become <c>_bucket</c>/<c>_sum</c>/<c>_count</c> series with the instrument's advised bucket boundaries (OpenTelemetry's
/// defaults otherwise). Values are cumulative from the moment the exporter was created. Observable instruments are read
/// at every scrape; their series disappear when they stop reporting them. Label keys are tag keys (sanitized), in
/// alphabetical order; no <c>otel_scope_*</c> labels are added, so label sets equal upstream's. Thread-safe.
/// </remarks>
public sealed class PrometheusTextExporter : IDisposable
{
    /// <summary>The <c>Content-Type</c> of the text format 0.0.4.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly double[] s_defaultBuckets = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, InstrumentState> _instruments = new();
    private readonly Lock _collectLock = new();
    private readonly HashSet<string> _meterNames;
    private readonly IMeterFactory? _meterFactory;
    private readonly bool _appendTotal;
    private int _disposed;

    private PrometheusTextExporter(PrometheusTextExporterOptions options)
    {
        _meterNames = new HashSet<string>(options.MeterNames ?? [], StringComparer.Ordinal);
        _meterFactory = options.MeterFactory;
        _appendTotal = !options.DisableTotalNameSuffixForCounters;
        _listener.InstrumentPublished = OnInstrumentPublished;
        _listener.MeasurementsCompleted = (instrument, _) => _instruments.TryRemove(instrument, out InstrumentState? _);
        _listener.SetMeasurementEventCallback(Callback<byte>());
        _listener.SetMeasurementEventCallback(Callback<short>());
        _listener.SetMeasurementEventCallback(Callback<int>());
        _listener.SetMeasurementEventCallback(Callback<long>());
        _listener.SetMeasurementEventCallback(Callback<float>());
        _listener.SetMeasurementEventCallback(Callback<double>());
        _listener.SetMeasurementEventCallback(Callback<decimal>());
        _listener.Start();
    }

    private enum Aggregation
    {
        Sum,
        LastValue,
        Histogram,
    }

    /// <summary>Creates an exporter; it starts listening at once.</summary>
    /// <param name="options">Options; <see langword="null"/> exports the <c>KubeConsistency</c> meter.</param>
    public static PrometheusTextExporter Create(PrometheusTextExporterOptions? options = null) => new(options ?? new PrometheusTextExporterOptions());

    /// <summary>Collects (reading observable instruments) and renders every metric.</summary>
    /// <returns>The exposition text, one metric family after another, sorted by name.</returns>
    public string Collect()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        lock (_collectLock)
        {
            foreach (var state in _instruments.Values)
            {
                if (state.Instrument.IsObservable)
                {
                    state.Series.Clear();
                }
            }

            _listener.RecordObservableInstruments();
            return Render();
        }
    }

    /// <summary>Collects and writes the exposition text to <paramref name="writer"/>.</summary>
    /// <param name="writer">The destination.</param>
    public void Write(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Collect());
    }

    /// <summary>Collects and writes the exposition text as UTF-8 to <paramref name="stream"/> (e.g. an HTTP response body).</summary>
    /// <param name="stream">The destination.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public async Task WriteAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var bytes = Encoding.UTF8.GetBytes(Collect());
        await stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops listening.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _listener.Dispose();
        }
    }

    private static MeasurementCallback<T> Callback<T>()
        where T : struct, INumberBase<T> =>
        static (instrument, value, tags, state) => (state as InstrumentState)?.Record(double.CreateSaturating(value), tags);

    private static (Aggregation Aggregation, string Type, bool Monotonic)? Classify(Instrument instrument)
    {
        var type = instrument.GetType();
        if (!type.IsGenericType)
        {
            return null;
        }

        var definition = type.GetGenericTypeDefinition();
        if (definition == typeof(Counter<>))
        {
            return (Aggregation.Sum, "counter", true);
        }

        if (definition == typeof(ObservableCounter<>))
        {
            return (Aggregation.LastValue, "counter", true);
        }

        if (definition == typeof(UpDownCounter<>))
        {
            return (Aggregation.Sum, "gauge", false);
        }

        if (definition == typeof(ObservableUpDownCounter<>) || definition == typeof(ObservableGauge<>) || definition == typeof(Gauge<>))
        {
            return (Aggregation.LastValue, "gauge", false);
        }

        return definition == typeof(Histogram<>) ? (Aggregation.Histogram, "histogram", false) : null;
    }

    private static double[] BucketBounds(Instrument instrument)
    {
        IReadOnlyList<double>? advised = instrument switch
        {
            Histogram<double> h => h.Advice?.HistogramBucketBoundaries,
            Histogram<float> h => h.Advice?.HistogramBucketBoundaries?.Select(static b => (double)b).ToList(),
            Histogram<long> h => h.Advice?.HistogramBucketBoundaries?.Select(static b => (double)b).ToList(),
            Histogram<int> h => h.Advice?.HistogramBucketBoundaries?.Select(static b => (double)b).ToList(),
            Histogram<short> h => h.Advice?.HistogramBucketBoundaries?.Select(static b => (double)b).ToList(),
            Histogram<byte> h => h.Advice?.HistogramBucketBoundaries?.Select(static b => (double)b).ToList(),
            Histogram<decimal> h => h.Advice?.HistogramBucketBoundaries?.Select(static b => (double)b).ToList(),
            _ => null,
        };
        if (advised is null || advised.Count == 0)
        {
            return s_defaultBuckets;
        }

        double[] bounds = [.. advised.Where(static b => !double.IsNaN(b) && !double.IsInfinity(b)).Distinct().Order()];
        return bounds.Length == 0 ? s_defaultBuckets : bounds;
    }

    private static string LabelString(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0)
        {
            return string.Empty;
        }

        var pairs = new (string Key, string Value)[tags.Length];
        for (var i = 0; i < tags.Length; i++)
        {
            var value = tags[i].Value switch
            {
                null => string.Empty,
                bool b => b ? "true" : "false",
                var v => Convert.ToString(v, CultureInfo.InvariantCulture) ?? string.Empty,
            };
            pairs[i] = (PrometheusNaming.SanitizeLabelName(tags[i].Key), value);
        }

        Array.Sort(pairs, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        var sb = new StringBuilder();
        for (var i = 0; i < pairs.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }

            sb.Append(pairs[i].Key).Append("=\"");
            PrometheusNaming.AppendLabelValue(sb, pairs[i].Value);
            sb.Append('"');
        }

        return sb.ToString();
    }

    private static void AppendSample(StringBuilder sb, string name, string suffix, string labels, string? extraLabel, string value)
    {
        sb.Append(name).Append(suffix);
        if (labels.Length > 0 || extraLabel is not null)
        {
            sb.Append('{').Append(labels);
            if (extraLabel is not null)
            {
                if (labels.Length > 0)
                {
                    sb.Append(',');
                }

                sb.Append(extraLabel);
            }

            sb.Append('}');
        }

        sb.Append(' ').Append(value).Append('\n');
    }

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        var meter = instrument.Meter;
        if (!_meterNames.Contains(meter.Name) || (_meterFactory is not null && !ReferenceEquals(meter.Scope, _meterFactory)))
        {
            return;
        }

        if (Classify(instrument) is not { } kind)
        {
            return;
        }

        var state = new InstrumentState(
            instrument,
            PrometheusNaming.PrometheusName(instrument.Name, instrument.Unit, kind.Monotonic, _appendTotal),
            kind.Type,
            kind.Aggregation,
            kind.Aggregation == Aggregation.Histogram ? BucketBounds(instrument) : null);
        _instruments[instrument] = state;
        listener.EnableMeasurementEvents(instrument, state);
    }

    private string Render()
    {
        var sb = new StringBuilder();

        // Instruments that map to one name (e.g. the same instrument on two meters) form one family: one HELP/TYPE.
        foreach (var family in _instruments.Values.GroupBy(static s => s.Name, StringComparer.Ordinal).OrderBy(static g => g.Key, StringComparer.Ordinal))
        {
            var first = family.First();

            // Series with equal labels from different instruments of one family (the same instrument on two meters, e.g.
            // the static meter and a factory's) are added up: a scrape must not repeat a series.
            var series = family.Where(s => s.Type == first.Type && SameBuckets(s, first))
                .SelectMany(static s => s.Series.Values)
                .Select(static s => s.Snapshot())
                .GroupBy(static s => s.Labels, StringComparer.Ordinal)
                .OrderBy(static g => g.Key, StringComparer.Ordinal)
                .Select(static g => g.Aggregate(static (a, b) => a.Merge(b)))
                .ToList();
            if (series.Count == 0)
            {
                continue;
            }

            if (!string.IsNullOrEmpty(first.Instrument.Description))
            {
                sb.Append("# HELP ").Append(first.Name).Append(' ');
                PrometheusNaming.AppendHelp(sb, first.Instrument.Description);
                sb.Append('\n');
            }

            sb.Append("# TYPE ").Append(first.Name).Append(' ').Append(first.Type).Append('\n');
            foreach (var s in series)
            {
                s.AppendTo(sb, first.Name, first.Bounds);
            }
        }

        return sb.ToString();
    }

    private static bool SameBuckets(InstrumentState a, InstrumentState b) =>
        a.Bounds is null ? b.Bounds is null : b.Bounds is not null && a.Bounds.AsSpan().SequenceEqual(b.Bounds);

    /// <summary>The series of one instrument.</summary>
    private sealed class InstrumentState(Instrument instrument, string name, string type, Aggregation aggregation, double[]? bounds)
    {
        public Instrument Instrument { get; } = instrument;

        public string Name { get; } = name;

        public string Type { get; } = type;

        public double[]? Bounds { get; } = bounds;

        public ConcurrentDictionary<string, Series> Series { get; } = new(StringComparer.Ordinal);

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var labels = LabelString(tags);
            if (!Series.TryGetValue(labels, out var series))
            {
                series = Series.GetOrAdd(labels, static (l, state) => new Series(l, state.aggregation, state.Bounds), (aggregation, Bounds));
            }

            series.Record(value);
        }
    }

    /// <summary>One label set's aggregate.</summary>
    private sealed class Series(string labels, Aggregation aggregation, double[]? bounds)
    {
        private readonly Lock _lock = new();
        private readonly long[]? _buckets = bounds is null ? null : new long[bounds.Length + 1];
        private double _value;
        private long _count;

        public string Labels { get; } = labels;

        public void Record(double value)
        {
            lock (_lock)
            {
                switch (aggregation)
                {
                    case Aggregation.Sum:
                        _value += value;
                        break;
                    case Aggregation.LastValue:
                        _value = value;
                        break;
                    default:
                        // Bucket i counts values in (bounds[i-1], bounds[i]]; the last one is +Inf.
                        var i = Array.BinarySearch(bounds!, value);
                        _buckets![i >= 0 ? i : ~i]++;
                        _value += value;
                        _count++;
                        break;
                }
            }
        }

        public SeriesSnapshot Snapshot()
        {
            lock (_lock)
            {
                return new SeriesSnapshot(Labels, aggregation == Aggregation.Histogram, _value, _buckets is null ? null : [.. _buckets], _count);
            }
        }
    }

    /// <summary>A consistent copy of one series, for rendering.</summary>
    private readonly record struct SeriesSnapshot(string Labels, bool IsHistogram, double Value, long[]? Buckets, long Count)
    {
        public SeriesSnapshot Merge(SeriesSnapshot other)
        {
            long[]? buckets = null;
            if (Buckets is not null && other.Buckets is not null)
            {
                buckets = new long[Buckets.Length];
                for (var i = 0; i < buckets.Length; i++)
                {
                    buckets[i] = Buckets[i] + other.Buckets[i];
                }
            }

            return this with { Value = Value + other.Value, Buckets = buckets ?? Buckets, Count = Count + other.Count };
        }

        public void AppendTo(StringBuilder sb, string name, double[]? bounds)
        {
            if (!IsHistogram || Buckets is null || bounds is null)
            {
                AppendSample(sb, name, string.Empty, Labels, null, PrometheusNaming.FormatValue(Value));
                return;
            }

            long cumulative = 0;
            for (var i = 0; i < Buckets.Length; i++)
            {
                cumulative += Buckets[i];
                var le = i < bounds.Length ? PrometheusNaming.FormatValue(bounds[i]) : "+Inf";
                AppendSample(sb, name, "_bucket", Labels, "le=\"" + le + "\"", cumulative.ToString(CultureInfo.InvariantCulture));
            }

            AppendSample(sb, name, "_sum", Labels, null, PrometheusNaming.FormatValue(Value));
            AppendSample(sb, name, "_count", Labels, null, Count.ToString(CultureInfo.InvariantCulture));
        }
    }
}
