using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace KubeConsistency.Controllers;

/// <summary>
/// The client-go work queue metrics (<c>k8s.io/component-base/metrics/prometheus/workqueue</c>), one set per meter,
/// tagged <c>name</c> with the queue's name. Instrument names turn into upstream's Prometheus names under the
/// OpenTelemetry exporter rules (ecosystem.md §8).
/// </summary>
internal sealed class WorkQueueInstruments
{
    /// <summary><c>workqueue_depth</c> (gauge): keys waiting to be handed out, including those re-added while processed.</summary>
    public const string DepthName = "workqueue.depth";

    /// <summary><c>workqueue_adds_total</c> (counter).</summary>
    public const string AddsName = "workqueue.adds";

    /// <summary><c>workqueue_queue_duration_seconds</c> (histogram): how long a key waited before it was handed out.</summary>
    public const string QueueDurationName = "workqueue.queue_duration";

    /// <summary><c>workqueue_work_duration_seconds</c> (histogram): how long processing a key took.</summary>
    public const string WorkDurationName = "workqueue.work_duration";

    /// <summary><c>workqueue_unfinished_work_seconds</c> (gauge): the summed age of all work in progress.</summary>
    public const string UnfinishedWorkName = "workqueue.unfinished_work";

    /// <summary><c>workqueue_longest_running_processor_seconds</c> (gauge): the age of the oldest work in progress.</summary>
    public const string LongestRunningProcessorName = "workqueue.longest_running_processor";

    /// <summary><c>workqueue_retries_total</c> (counter): calls of <c>AddAfter</c> (and so <c>AddRateLimited</c>).</summary>
    public const string RetriesName = "workqueue.retries";

    /// <summary>The tag key carrying the queue name.</summary>
    public const string NameTag = "name";

    private static readonly ConditionalWeakTable<Meter, WorkQueueInstruments> s_byMeter = new();

    // Live named queues; weak, so a queue that is never shut down does not leak through its meter.
    private readonly ConditionalWeakTable<ISource, string> _queues = new();

    private WorkQueueInstruments(Meter meter)
    {
        Adds = meter.CreateCounter<long>(AddsName, unit: "{item}", description: "Total number of adds handled by workqueue");
        Retries = meter.CreateCounter<long>(RetriesName, unit: "{retry}", description: "Total number of retries handled by workqueue");
        var advice = new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets };
        QueueDuration = meter.CreateHistogram(QueueDurationName, unit: "s", description: "How long in seconds an item stays in workqueue before being requested.", advice: advice);
        WorkDuration = meter.CreateHistogram(WorkDurationName, unit: "s", description: "How long in seconds processing an item from workqueue takes.", advice: advice);
        Depth = meter.CreateObservableGauge(DepthName, ObserveDepth, unit: "{item}", description: "Current depth of workqueue");
        UnfinishedWork = meter.CreateObservableGauge(
            UnfinishedWorkName,
            ObserveUnfinishedWork,
            unit: "s",
            description: "How many seconds of work has done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.");
        LongestRunningProcessor = meter.CreateObservableGauge(
            LongestRunningProcessorName,
            ObserveLongestRunningProcessor,
            unit: "s",
            description: "How many seconds has the longest running processor for workqueue been running.");
    }

    /// <summary>A queue whose gauges are read at collection time.</summary>
    public interface ISource
    {
        /// <summary>Reads the gauges under the queue's lock.</summary>
        (string Name, long Depth, double UnfinishedSeconds, double LongestSeconds) Observe();
    }

    /// <summary>
    /// Upstream's buckets, <c>ExponentialBuckets(10e-9, 10, 10)</c>: 10 ns to 10 s, each bound the previous times
    /// ten in floating point, exactly as Prometheus' Go client computes them.
    /// </summary>
    public static IReadOnlyList<double> DurationBuckets { get; } = ExponentialBuckets(10e-9, 10, 10);

    public Counter<long> Adds { get; }

    public Counter<long> Retries { get; }

    public Histogram<double> QueueDuration { get; }

    public Histogram<double> WorkDuration { get; }

    public ObservableGauge<long> Depth { get; }

    public ObservableGauge<double> UnfinishedWork { get; }

    public ObservableGauge<double> LongestRunningProcessor { get; }

    /// <summary>Whether anything listens to the per-key processing start times.</summary>
    public bool TracksProcessing => WorkDuration.Enabled || UnfinishedWork.Enabled || LongestRunningProcessor.Enabled;

    public static WorkQueueInstruments For(Meter meter) => s_byMeter.GetValue(meter, static m => new WorkQueueInstruments(m));

    public void Register(ISource source, string name) => _queues.AddOrUpdate(source, name);

    public void Unregister(ISource source) => _queues.Remove(source);

    internal static double[] ExponentialBuckets(double start, double factor, int count)
    {
        var buckets = new double[count];
        for (var i = 0; i < count; i++)
        {
            buckets[i] = start;
            start *= factor;
        }

        return buckets;
    }

    private Dictionary<string, (long Depth, double Unfinished, double Longest)> Snapshot()
    {
        // Queues sharing a name share one series, as they do in client-go: depths and unfinished work add up,
        // the longest-running processor is the oldest of all.
        var byName = new Dictionary<string, (long Depth, double Unfinished, double Longest)>(StringComparer.Ordinal);
        foreach (var (source, _) in _queues)
        {
            var (name, depth, unfinished, longest) = source.Observe();
            byName[name] = byName.TryGetValue(name, out var sum)
                ? (sum.Depth + depth, sum.Unfinished + unfinished, Math.Max(sum.Longest, longest))
                : (depth, unfinished, longest);
        }

        return byName;
    }

    private IEnumerable<Measurement<long>> ObserveDepth()
    {
        foreach (var (name, values) in Snapshot())
        {
            yield return new Measurement<long>(values.Depth, new KeyValuePair<string, object?>(NameTag, name));
        }
    }

    private IEnumerable<Measurement<double>> ObserveUnfinishedWork()
    {
        foreach (var (name, values) in Snapshot())
        {
            yield return new Measurement<double>(values.Unfinished, new KeyValuePair<string, object?>(NameTag, name));
        }
    }

    private IEnumerable<Measurement<double>> ObserveLongestRunningProcessor()
    {
        foreach (var (name, values) in Snapshot())
        {
            yield return new Measurement<double>(values.Longest, new KeyValuePair<string, object?>(NameTag, name));
        }
    }
}
