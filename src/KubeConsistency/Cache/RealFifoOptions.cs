using KubeConsistency.Metrics;
using Microsoft.Extensions.Logging;

namespace KubeConsistency.Cache;

/// <summary>Options for <see cref="RealFifo.Create{T}"/> (Go: <c>RealFIFOOptions</c>, §2.2).</summary>
/// <typeparam name="T">The object type.</typeparam>
public sealed class RealFifoOptions<T>
    where T : class
{
    /// <summary>A name for logs.</summary>
    public string? Name { get; init; }

    /// <summary>Where to log; defaults to no logging.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Reads object metadata for the default key function.</summary>
    public ObjectMetadataAccessor<T>? MetadataAccessor { get; init; }

    /// <summary>Computes keys; defaults to <c>namespace/name</c>.</summary>
    public KeyFunc<T>? KeyFunction { get; init; }

    /// <summary>
    /// The cache's current content, for the legacy non-atomic mode only (deletion detection on relist and
    /// resync). Must be <see langword="null"/> when <see cref="AtomicEvents"/> is on.
    /// </summary>
    public IKeyListerGetter<T>? KnownObjects { get; init; }

    /// <summary>Applied to every object entering the queue (not to tombstones or resync copies).</summary>
    public Func<T, T>? Transformer { get; init; }

    /// <summary>
    /// Atomic mode (the <c>AtomicFIFO</c> gate): relists become one <see cref="DeltaType.ReplacedAll"/>, resyncs
    /// one <see cref="DeltaType.SyncAll"/>. Default on.
    /// </summary>
    public bool AtomicEvents { get; init; } = true;

    /// <summary>
    /// Release the queue lock while a popped delta is processed (the <c>UnlockWhileProcessingFIFO</c> gate);
    /// honoured only while fewer than 2 × <see cref="RealFifo.BatchSize"/> deltas remain. Requires atomic mode.
    /// </summary>
    public bool UnlockWhileProcessing { get; init; }

    /// <summary>Queue <see cref="DeltaType.Bookmark"/> deltas (informers set this in atomic mode). Requires atomic mode.</summary>
    public bool EmitDeltaTypeBookmark { get; init; }

    /// <summary>Where to emit <c>informer_queued_items</c> and <c>informer_processing_latency_seconds</c>.</summary>
    public InformerMetrics? Metrics { get; init; }

    /// <summary>The clock for processing latency; defaults to <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider? TimeProvider { get; init; }
}
