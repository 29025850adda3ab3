using System.Diagnostics.Metrics;
using System.Text;
using KubeConsistency.Controllers;
using KubeConsistency.Testing;

namespace KubeConsistency.Tests.Controllers.WorkQueue;

/// <summary>
/// The workqueue metrics (client-go metrics.go, metrics_test.go; component-base workqueue provider) and their
/// Prometheus names under the exporter rules of ecosystem.md §8.
/// </summary>
public sealed class WorkQueueMetricsTests : IDisposable
{
    private readonly ManualTimeProvider _time = new();
    private readonly TestMeterFactory _meterFactory = new();
    private readonly MetricCollector _metrics;

    public WorkQueueMetricsTests() => _metrics = new MetricCollector(_meterFactory);

    public void Dispose()
    {
        _metrics.Dispose();
        _meterFactory.Dispose();
    }

    [Fact]
    public void Metrics_follow_client_go_TestMetrics()
    {
        using var queue = Create("test");

        queue.Add("foo");
        Assert.Equal(1, _metrics.Sum("workqueue.adds", "test"));
        Assert.Equal(1, _metrics.Observe("workqueue.depth", "test"));

        _time.Advance(TimeSpan.FromMicroseconds(50));
        Assert.True(queue.TryGet(out var item));
        Assert.Equal(5e-05, Assert.Single(_metrics.Of("workqueue.queue_duration")).Value);

        // Re-added while processing: counted once, and it is one key deep again.
        for (var i = 0; i < 5; i++)
        {
            queue.Add(item);
        }

        Assert.Equal(2, _metrics.Sum("workqueue.adds", "test"));
        Assert.Equal(1, _metrics.Observe("workqueue.depth", "test"));

        _time.Advance(TimeSpan.FromMicroseconds(25));
        _metrics.Clear();
        queue.Done(item);
        Assert.Equal(2.5e-05, Assert.Single(_metrics.Of("workqueue.work_duration")).Value);
        Assert.Equal(1, _metrics.Observe("workqueue.depth", "test"));

        // Back on the queue: its queue time counts from the re-add.
        _metrics.Clear();
        Assert.True(queue.TryGet(out item));
        Assert.Equal(2.5e-05, Assert.Single(_metrics.Of("workqueue.queue_duration")).Value);
        Assert.Equal(0, _metrics.Observe("workqueue.depth", "test"));

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(0.001, _metrics.Observe("workqueue.unfinished_work", "test"));
        Assert.Equal(0.001, _metrics.Observe("workqueue.longest_running_processor", "test"));

        _metrics.Clear();
        queue.Done(item);
        Assert.Equal(0.001, Assert.Single(_metrics.Of("workqueue.work_duration")).Value);
        Assert.Equal(0, _metrics.Observe("workqueue.unfinished_work", "test"));
        Assert.Equal(0, _metrics.Observe("workqueue.longest_running_processor", "test"));
    }

    [Fact]
    public void Unfinished_work_sums_all_processing_keys_and_longest_is_the_oldest()
    {
        using var queue = Create("busy");
        queue.Add("a");
        queue.Add("b");
        queue.Add("c");
        Assert.True(queue.TryGet(out _));
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.True(queue.TryGet(out _));
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(4, _metrics.Observe("workqueue.unfinished_work", "busy")); // 3 s + 1 s
        Assert.Equal(3, _metrics.Observe("workqueue.longest_running_processor", "busy"));
        Assert.Equal(1, _metrics.Observe("workqueue.depth", "busy"));
    }

    [Fact]
    public void Retries_count_AddAfter_and_AddRateLimited_until_shutdown()
    {
        using var queue = Create("retrying");
        queue.AddAfter("a", TimeSpan.FromSeconds(1));
        queue.AddAfter("b", TimeSpan.Zero);
        queue.AddRateLimited("c");
        Assert.Equal(3, _metrics.Sum("workqueue.retries", "retrying"));
        Assert.Equal(1, _metrics.Sum("workqueue.adds", "retrying"));

        queue.ShutDown();
        queue.AddAfter("d", TimeSpan.FromSeconds(1));
        queue.AddRateLimited("e");
        Assert.Equal(3, _metrics.Sum("workqueue.retries", "retrying"));

        // A shut-down queue no longer reports gauges.
        Assert.Null(_metrics.Observe("workqueue.depth", "retrying"));
    }

    [Fact]
    public void Every_measurement_is_tagged_with_the_queue_name_only()
    {
        using var one = Create("one");
        using var two = Create("two");
        one.Add("x");
        two.Add("x");
        two.Add("y");
        Assert.True(one.TryGet(out var item));
        one.Done(item);
        two.AddAfter("z", TimeSpan.Zero);
        _metrics.Observe("workqueue.depth", "one");

        Assert.NotEmpty(_metrics.All);
        Assert.All(_metrics.All, m => Assert.Equal(["name"], m.Tags.Keys));
        Assert.Equal(1, _metrics.Sum("workqueue.adds", "one"));
        Assert.Equal(3, _metrics.Sum("workqueue.adds", "two"));
        Assert.Equal(0, _metrics.Observe("workqueue.depth", "one"));
        Assert.Equal(3, _metrics.Observe("workqueue.depth", "two"));
    }

    [Fact]
    public void Queues_sharing_a_name_share_one_series()
    {
        using var first = Create("shared");
        using var second = Create("shared");
        first.Add("a");
        second.Add("a");
        second.Add("b");
        Assert.Equal(3, _metrics.Observe("workqueue.depth", "shared"));
    }

    [Fact]
    public void An_unnamed_queue_emits_nothing()
    {
        using var factory = new TestMeterFactory();
        using var collector = new MetricCollector(factory);
        using var queue = KubeConsistency.Controllers.WorkQueue.CreateRateLimiting(new WorkQueueOptions<string> { TimeProvider = _time, MeterFactory = factory });
        queue.Add("a");
        Assert.True(queue.TryGet(out var item));
        queue.AddRateLimited(item);
        queue.Done(item);
        collector.Observe("workqueue.depth", string.Empty);

        Assert.Empty(collector.Instruments);
        Assert.Empty(collector.All);
    }

    [Fact]
    public void Instruments_have_upstream_names_units_kinds_and_buckets()
    {
        using var queue = Create("shape");
        var instruments = _metrics.Instruments;

        var expected = new (string Name, string? Unit, Type Kind, string Prometheus)[]
        {
            ("workqueue.depth", "{item}", typeof(ObservableGauge<long>), "workqueue_depth"),
            ("workqueue.adds", "{item}", typeof(Counter<long>), "workqueue_adds_total"),
            ("workqueue.queue_duration", "s", typeof(Histogram<double>), "workqueue_queue_duration_seconds"),
            ("workqueue.work_duration", "s", typeof(Histogram<double>), "workqueue_work_duration_seconds"),
            ("workqueue.unfinished_work", "s", typeof(ObservableGauge<double>), "workqueue_unfinished_work_seconds"),
            ("workqueue.longest_running_processor", "s", typeof(ObservableGauge<double>), "workqueue_longest_running_processor_seconds"),
            ("workqueue.retries", "{retry}", typeof(Counter<long>), "workqueue_retries_total"),
        };

        Assert.Equal(expected.Select(e => e.Name).Order(), instruments.Keys.Order());
        foreach (var (name, unit, kind, prometheus) in expected)
        {
            var instrument = instruments[name];
            Assert.Equal(unit, instrument.Unit);
            Assert.IsType(kind, instrument);
            Assert.Equal(prometheus, PrometheusName(instrument));
        }

        // ExponentialBuckets(10e-9, 10, 10), computed by repeated multiplication as in the Go client.
        var buckets = new List<double>();
        for (double bound = 10e-9, i = 0; i < 10; i++, bound *= 10)
        {
            buckets.Add(bound);
        }

        Assert.Equal(10e-9, buckets[0]);
        Assert.Equal(buckets, ((Histogram<double>)instruments["workqueue.queue_duration"]).Advice!.HistogramBucketBoundaries);
        Assert.Equal(buckets, ((Histogram<double>)instruments["workqueue.work_duration"]).Advice!.HistogramBucketBoundaries);
    }

    private IRateLimitingWorkQueue<string> Create(string name) =>
        KubeConsistency.Controllers.WorkQueue.CreateRateLimiting(new WorkQueueOptions<string>
        {
            Name = name,
            TimeProvider = _time,
            MeterFactory = _meterFactory,
        });

    /// <summary>The OpenTelemetry Prometheus exporter's naming (ecosystem.md §8.1, rules 1–3).</summary>
    private static string PrometheusName(Instrument instrument)
    {
        var name = Sanitize(instrument.Name);
        var unit = instrument.Unit switch
        {
            null or "" or "1" => string.Empty,
            "s" => "seconds",
            "ms" => "milliseconds",
            "By" => "bytes",
            { } u when u.StartsWith('{') && u.EndsWith('}') => string.Empty,
            { } u => Sanitize(u),
        };
        if (unit.Length > 0 && !name.EndsWith("_" + unit, StringComparison.Ordinal))
        {
            name += "_" + unit;
        }

        var monotonic = instrument is Counter<long> or Counter<double> or ObservableCounter<long> or ObservableCounter<double>;
        return monotonic && !name.EndsWith("_total", StringComparison.Ordinal) ? name + "_total" : name;
    }

    private static string Sanitize(string value)
    {
        var builder = new StringBuilder();
        foreach (var c in value)
        {
            var mapped = char.IsAsciiLetterOrDigit(c) || c == ':' ? c : '_';
            if (mapped != '_' || builder.Length == 0 || builder[^1] != '_')
            {
                builder.Append(mapped);
            }
        }

        return builder.Length > 0 && char.IsAsciiDigit(builder[0]) ? "_" + builder : builder.ToString();
    }
}
