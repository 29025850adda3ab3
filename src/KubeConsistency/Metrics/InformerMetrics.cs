using System.Runtime.CompilerServices;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace KubeConsistency.Metrics;

/// <summary>
/// Identifies an informer for metrics: a process-unique name plus the resource it informs about
/// (Go: <c>InformerNameAndResource</c>, §9.2).
/// </summary>
/// <param name="Name">The informer name (e.g. the controller's name).</param>
/// <param name="Resource">The group, version and resource.</param>
public readonly record struct InformerIdentity(string Name, GroupVersionResource Resource);

/// <summary>
/// The client-go informer metrics of one informer (upstream-semantics.md §9.2), tagged
/// <c>name</c>, <c>group</c>, <c>version</c>, <c>resource</c>:
/// <c>informer_store_resource_version</c> (gauge), <c>informer_queued_items</c> (gauge) and
/// <c>informer_processing_latency_seconds</c> (histogram).
/// </summary>
/// <remarks>
/// Identities are reserved per meter: as in client-go, a second registration of the same identity gets
/// disabled metrics (<see cref="IsEnabled"/> is <see langword="false"/>) until the first is disposed.
/// Share one instance between an informer's store and FIFO.
/// </remarks>
public sealed class InformerMetrics : IDisposable
{
    /// <summary>Instrument name of the store resource-version gauge.</summary>
    public const string StoreResourceVersionInstrument = "informer.store_resource_version";

    /// <summary>Instrument name of the queued-items gauge.</summary>
    public const string QueuedItemsInstrument = "informer.queued_items";

    /// <summary>Instrument name of the processing-latency histogram (unit <c>s</c>).</summary>
    public const string ProcessingLatencyInstrument = "informer.processing_latency";

    private static readonly ConditionalWeakTable<Meter, Instruments> s_instruments = new();

    private readonly Instruments? _instruments;
    private readonly KeyValuePair<string, object?>[] _tags;
    private long _storeResourceVersion;
    private long _queuedItems;
    private int _disposed;

    private InformerMetrics(InformerIdentity identity, Instruments? instruments)
    {
        Identity = identity;
        _instruments = instruments;
        _tags =
        [
            new("name", identity.Name),
            new("group", identity.Resource.Group),
            new("version", identity.Resource.Version),
            new("resource", identity.Resource.Resource),
        ];
    }

    /// <summary>The informer's identity.</summary>
    public InformerIdentity Identity { get; }

    /// <summary>Whether values are reported (false for a duplicate identity or after disposal).</summary>
    public bool IsEnabled => _instruments is not null && Volatile.Read(ref _disposed) == 0;

    /// <summary>
    /// Reserves <paramref name="identity"/> and returns its metrics.
    /// </summary>
    /// <param name="identity">The informer's identity.</param>
    /// <param name="meterFactory">The application's meter factory; <see langword="null"/> uses the static meter.</param>
    public static InformerMetrics Create(InformerIdentity identity, IMeterFactory? meterFactory = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(identity.Name, nameof(identity));
        var instruments = s_instruments.GetValue(KubeConsistencyMeter.Get(meterFactory), static m => new Instruments(m));
        var metrics = new InformerMetrics(identity, instruments);
        return instruments.Live.TryAdd(identity, metrics) ? metrics : new InformerMetrics(identity, null);
    }

    /// <summary>Releases the identity; this instance stops reporting.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && _instruments is not null)
        {
            _instruments.Live.TryRemove(new KeyValuePair<InformerIdentity, InformerMetrics>(Identity, this));
        }
    }

    internal void SetStoreResourceVersion(long value) => Volatile.Write(ref _storeResourceVersion, value);

    internal void SetQueuedItems(long count) => Volatile.Write(ref _queuedItems, count);

    internal void ObserveProcessingLatency(double seconds)
    {
        if (IsEnabled && _instruments!.ProcessingLatency.Enabled)
        {
            _instruments.ProcessingLatency.Record(seconds, _tags.AsSpan());
        }
    }

    private sealed class Instruments
    {
        public Instruments(Meter meter)
        {
            meter.CreateObservableGauge(StoreResourceVersionInstrument, () => Observe(static m => Volatile.Read(ref m._storeResourceVersion)), description: "Resource version of what the informer's store has applied (last 15 digits).");
            meter.CreateObservableGauge(QueuedItemsInstrument, () => Observe(static m => Volatile.Read(ref m._queuedItems)), unit: "{item}", description: "Number of deltas waiting in the informer's FIFO.");
            ProcessingLatency = meter.CreateHistogram(
                ProcessingLatencyInstrument,
                unit: "s",
                description: "Time spent processing one popped delta or batch.",
                advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        }

        public ConcurrentDictionary<InformerIdentity, InformerMetrics> Live { get; } = new();

        public Histogram<double> ProcessingLatency { get; }

        private IEnumerable<Measurement<long>> Observe(Func<InformerMetrics, long> read)
        {
            foreach (var m in Live.Values)
            {
                yield return new Measurement<long>(read(m), m._tags);
            }
        }
    }
}
