using System.Diagnostics.Metrics;
using System.Text;
using KubeConsistency.Consistency;
using KubeConsistency.Controllers;
using KubeConsistency.Metrics;
using KubeConsistency.Testing;
using KubeConsistency.Tests.Controllers.WorkQueue;

namespace KubeConsistency.Tests.Controllers.Metrics;

/// <summary>The Prometheus text exposition: ecosystem.md §8 naming and the 0.0.4 format.</summary>
public sealed class PrometheusExporterTests
{
    [Theory]
    [InlineData("replicaset_controller.stale_sync_skips", "{skip}", true, "replicaset_controller_stale_sync_skips_total")]
    [InlineData("job_controller.stale_sync_skips", "{skip}", true, "job_controller_stale_sync_skips_total")]
    [InlineData("stale_sync_skips", null, true, "stale_sync_skips_total")]
    [InlineData("stale_sync_skips_total", null, true, "stale_sync_skips_total")]
    [InlineData("informer.store_resource_version", null, false, "informer_store_resource_version")]
    [InlineData("informer.queued_items", "{item}", false, "informer_queued_items")]
    [InlineData("informer.processing_latency", "s", false, "informer_processing_latency_seconds")]
    [InlineData("workqueue.depth", "{item}", false, "workqueue_depth")]
    [InlineData("workqueue.adds", "{item}", true, "workqueue_adds_total")]
    [InlineData("workqueue.retries", "{retry}", true, "workqueue_retries_total")]
    [InlineData("workqueue.queue_duration", "s", false, "workqueue_queue_duration_seconds")]
    [InlineData("workqueue.unfinished_work", "s", false, "workqueue_unfinished_work_seconds")]
    [InlineData("workqueue.longest_running_processor", "s", false, "workqueue_longest_running_processor_seconds")]
    [InlineData("kubeops.operator.reconciliation.duration", "s", false, "kubeops_operator_reconciliation_duration_seconds")]
    [InlineData("request_latency_seconds", "s", false, "request_latency_seconds")]
    [InlineData("http.request.duration", "ms", false, "http_request_duration_milliseconds")]
    [InlineData("payload.size", "By", false, "payload_size_bytes")]
    [InlineData("throughput", "By/s", false, "throughput_bytes_per_second")]
    [InlineData("events", "{event}/min", true, "events_per_min_total")]
    [InlineData("utilization", "1", false, "utilization")]
    [InlineData("errors", "{error}", true, "errors_total")]
    [InlineData("a..b--c", null, false, "a_b_c")]
    [InlineData("ns:metric", null, false, "ns:metric")]
    [InlineData("1st.metric", null, false, "_1st_metric")]
    [InlineData("größe", null, false, "gr_e")]
    public void PrometheusName_follows_the_OpenTelemetry_rules(string name, string? unit, bool counter, string expected) =>
        Assert.Equal(expected, PrometheusNaming.PrometheusName(name, unit, counter));

    [Fact]
    public void The_total_suffix_can_be_disabled_and_label_names_are_sanitized()
    {
        Assert.Equal("workqueue_adds", PrometheusNaming.PrometheusName("workqueue.adds", "{item}", isCounter: true, appendTotal: false));
        Assert.Equal("k8s_io_name", PrometheusNaming.SanitizeLabelName("k8s.io/name"));
        Assert.Equal("_2xx", PrometheusNaming.SanitizeLabelName("2xx"));
        Assert.Equal("group", PrometheusNaming.SanitizeLabelName("group"));
    }

    [Theory]
    [InlineData(0d, "0")]
    [InlineData(1d, "1")]
    [InlineData(-3d, "-3")]
    [InlineData(0.5, "0.5")]
    [InlineData(2.5, "2.5")]
    [InlineData(0.001, "0.001")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.00001, "1e-05")]
    [InlineData(1e-8, "1e-08")]
    [InlineData(123456d, "123456")]
    [InlineData(1e6, "1e+06")]
    [InlineData(1234567d, "1.234567e+06")]
    [InlineData(123456789012345d, "1.23456789012345e+14")]
    [InlineData(1e21, "1e+21")]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    [InlineData(double.NaN, "NaN")]
    public void Values_are_formatted_as_the_Go_client_formats_them(double value, string expected) =>
        Assert.Equal(expected, PrometheusNaming.FormatValue(value));

    [Fact]
    public void Workqueue_bucket_bounds_render_as_upstream_le_labels()
    {
        // ExponentialBuckets(10e-9, 10, 10) computed in floating point, as component-base does; real kube-controller-manager
        // scrapes show exactly these le labels, float artefacts included.
        var bounds = new List<string>();
        var b = 10e-9;
        for (var i = 0; i < 10; i++, b *= 10)
        {
            bounds.Add(PrometheusNaming.FormatValue(b));
        }

        Assert.Equal(["1e-08", "1e-07", "1e-06", "9.999999999999999e-06", "9.999999999999999e-05", "0.001", "0.01", "0.1", "1", "10"], bounds);
    }

    [Fact]
    public void Renders_every_instrument_kind_in_text_format_0_0_4()
    {
        using var meters = new TestMeterFactory();
        using var exporter = PrometheusTextExporter.Create(new PrometheusTextExporterOptions { MeterFactory = meters });
        var meter = meters.Create(new MeterOptions(KubeConsistencyMeter.Name));
        var skips = meter.CreateCounter<long>("replicaset_controller.stale_sync_skips", "{skip}", "Syncs skipped because the cache was stale.");
        var inFlight = meter.CreateUpDownCounter<int>("controller.in_flight", "{reconcile}", "Reconciles in flight.");
        var latency = meter.CreateHistogram("workqueue.queue_duration", "s", "How long in seconds an item stays in workqueue.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.1, 1] });
        var rv = 123L;
        meter.CreateObservableGauge("informer.store_resource_version", () => new Measurement<long>(Volatile.Read(ref rv), new("name", "rs"), new("group", ""), new("version", "v1"), new("resource", "pods")), description: "Last applied \\ RV\nof the store.");
        var total = meter.CreateObservableCounter("process.cpu.time", () => 12.5, "s");
        var gauge = meter.CreateGauge<double>("queue.ratio");

        skips.Add(1, new("group", ""), new("resource", "pods"));
        skips.Add(2, new("resource", "pods"), new("group", ""));
        skips.Add(1, new("group", "apps"), new("resource", "replicasets"));
        inFlight.Add(3);
        inFlight.Add(-1);
        foreach (var seconds in new[] { 0.0078125, 0.0625, 1, 5 })
        {
            // Dyadic values, so the sum is exact; 1 lands in le="1" (upper bounds are inclusive).
            latency.Record(seconds, new KeyValuePair<string, object?>("name", "rs"));
        }
        gauge.Record(0.25, new KeyValuePair<string, object?>("name", "a\"b\\c\nd"));

        var expected = """
            # HELP controller_in_flight Reconciles in flight.
            # TYPE controller_in_flight gauge
            controller_in_flight 2
            # HELP informer_store_resource_version Last applied \\ RV\nof the store.
            # TYPE informer_store_resource_version gauge
            informer_store_resource_version{group="",name="rs",resource="pods",version="v1"} 123
            # TYPE process_cpu_time_seconds_total counter
            process_cpu_time_seconds_total 12.5
            # TYPE queue_ratio gauge
            queue_ratio{name="a\"b\\c\nd"} 0.25
            # HELP replicaset_controller_stale_sync_skips_total Syncs skipped because the cache was stale.
            # TYPE replicaset_controller_stale_sync_skips_total counter
            replicaset_controller_stale_sync_skips_total{group="",resource="pods"} 3
            replicaset_controller_stale_sync_skips_total{group="apps",resource="replicasets"} 1
            # HELP workqueue_queue_duration_seconds How long in seconds an item stays in workqueue.
            # TYPE workqueue_queue_duration_seconds histogram
            workqueue_queue_duration_seconds_bucket{name="rs",le="0.01"} 1
            workqueue_queue_duration_seconds_bucket{name="rs",le="0.1"} 2
            workqueue_queue_duration_seconds_bucket{name="rs",le="1"} 3
            workqueue_queue_duration_seconds_bucket{name="rs",le="+Inf"} 4
            workqueue_queue_duration_seconds_sum{name="rs"} 6.0703125
            workqueue_queue_duration_seconds_count{name="rs"} 4

            """.ReplaceLineEndings("\n");
        Assert.Equal(expected, exporter.Collect());

        // Observable instruments are read at every scrape.
        Volatile.Write(ref rv, 124);
        Assert.Contains("version=\"v1\"} 124\n", exporter.Collect(), StringComparison.Ordinal);
        _ = total;
    }

    [Fact]
    public async Task Only_the_selected_meters_are_exported_and_the_stream_is_utf8()
    {
        using var meters = new TestMeterFactory();
        using var otherFactory = new TestMeterFactory();
        using var exporter = PrometheusTextExporter.Create(new PrometheusTextExporterOptions { MeterFactory = meters, MeterNames = [KubeConsistencyMeter.Name, "App"] });
        meters.Create(new MeterOptions(KubeConsistencyMeter.Name)).CreateCounter<long>("ours").Add(1);
        meters.Create(new MeterOptions("App")).CreateCounter<long>("app.größe").Add(2);
        meters.Create(new MeterOptions("Unrelated")).CreateCounter<long>("unrelated").Add(3);
        otherFactory.Create(new MeterOptions(KubeConsistencyMeter.Name)).CreateCounter<long>("theirs").Add(4);

        using var stream = new MemoryStream();
        await exporter.WriteAsync(stream);
        var text = Encoding.UTF8.GetString(stream.ToArray());

        Assert.Equal("# TYPE app_gr_e_total counter\napp_gr_e_total 2\n# TYPE ours_total counter\nours_total 1\n", text);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", PrometheusTextExporter.ContentType);
        using var writer = new StringWriter();
        exporter.Write(writer);
        Assert.Equal(text, writer.ToString());

        // The same instrument on two meters of one name makes one family with its series added up, never a repeated series.
        meters.Create(new MeterOptions(KubeConsistencyMeter.Name) { Version = "2" }).CreateCounter<long>("ours").Add(5);
        Assert.Contains("# TYPE ours_total counter\nours_total 6\n", exporter.Collect(), StringComparison.Ordinal);
    }

    [Fact]
    public void Library_instruments_come_out_with_upstream_names()
    {
        using var meters = new TestMeterFactory();
        using var exporter = PrometheusTextExporter.Create(new PrometheusTextExporterOptions { MeterFactory = meters });
        var gate = StalenessGate.Create(new StalenessGateOptions
        {
            ControllerName = "job_controller",
            ConsistencyStore = ConsistencyStore.Create([new(GroupResource.Jobs, new FakeRvGetter("1"))]),
            MeterFactory = meters,
        });
        gate.WroteAt(new NamespacedName("ns", "pi"), "uid", GroupResource.Jobs, "2");
        Assert.NotNull(gate.EnsureReady(new NamespacedName("ns", "pi")));
        using var queue = KubeConsistency.Controllers.WorkQueue.CreateRateLimiting(new WorkQueueOptions<string> { Name = "job", MeterFactory = meters });
        queue.Add("ns/pi");
        using var informerMetrics = InformerMetrics.Create(new InformerIdentity("kcm", GroupVersionResource.Pods), meters);
        informerMetrics.SetStoreResourceVersion(42);

        Assert.Contains("workqueue_depth{name=\"job\"} 1\n", exporter.Collect(), StringComparison.Ordinal);
        Assert.True(queue.TryGet(out var key));
        queue.Done(key);
        var text = exporter.Collect();

        Assert.Contains("job_controller_stale_sync_skips_total{group=\"batch\",resource=\"jobs\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("workqueue_adds_total{name=\"job\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("workqueue_depth{name=\"job\"} 0\n", text, StringComparison.Ordinal);
        Assert.Contains("informer_store_resource_version{group=\"\",name=\"kcm\",resource=\"pods\",version=\"v1\"} 42\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE workqueue_queue_duration_seconds histogram\n", text, StringComparison.Ordinal);
        Assert.Contains("workqueue_queue_duration_seconds_bucket{name=\"job\",le=\"1e-08\"} ", text, StringComparison.Ordinal);
        Assert.Contains("workqueue_queue_duration_seconds_bucket{name=\"job\",le=\"9.999999999999999e-06\"} ", text, StringComparison.Ordinal);
        Assert.Contains("workqueue_queue_duration_seconds_count{name=\"job\"} 1\n", text, StringComparison.Ordinal);
    }
}
