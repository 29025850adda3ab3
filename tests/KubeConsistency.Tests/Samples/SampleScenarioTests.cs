using System.Diagnostics.Metrics;
using System.Globalization;
using KubeConsistency.Controllers;
using KubeConsistency.Samples.Controllers;
using KubeConsistency.Samples.Demo;
using KubeConsistency.Samples.Scenario;

namespace KubeConsistency.Tests.Samples;

/// <summary>
/// The sample controllers end to end against the embedded API server over loopback HTTP, with the pod watch lagging
/// (upstream-semantics.md §8.3, §8.4, §8.6): the gate makes them create exactly what the specs ask for; without it the
/// same lag makes them over-create, which proves the scenario really is stale.
/// </summary>
[Collection(MetricsScrapeCollection.Name)]
public sealed class SampleScenarioTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(90);

    private static ScenarioOptions Small(bool consistency, TimeSpan podLag, bool expectations = false, TimeSpan ownerLag = default) => new()
    {
        ReplicaSets = 6,
        Replicas = 3,
        Jobs = 4,
        Completions = 3,
        Parallelism = 2,
        PodWatchLag = podLag,
        OwnerWatchLag = ownerLag,
        Consistency = consistency,
        Expectations = expectations,
        Timeout = TimeSpan.FromSeconds(60),
        NamePrefix = "t",
    };

    [Fact]
    public async Task Section8_6_with_the_consistency_store_the_controllers_create_exactly_the_requested_pods()
    {
        await using var scenario = await ControllerScenario.StartAsync(Small(consistency: true, TimeSpan.FromMilliseconds(300))).WaitAsync(Guard);
        using var skips = new SkipListener(scenario.MeterFactory);
        await using var metrics = await MetricsEndpoint.StartAsync(port: 0).WaitAsync(Guard);

        var summary = await scenario.RunToConvergenceAsync().WaitAsync(Guard);

        Assert.True(summary.Converged, summary.NotConvergedReason);
        Assert.Equal(6 * 3 + 4 * 3, summary.MinimumPods);
        Assert.Equal(summary.MinimumPods, summary.PodsCreated);
        Assert.Equal(0, summary.ExcessPods);
        Assert.Equal(0, summary.JobsMiscounted);
        Assert.All(summary.ResourceVersions, rv => Assert.True(rv.CaughtUp, rv.ToString()));

        // The lag was real: both gates deferred syncs because the pod cache was behind their own creates.
        var rsPodSkips = skips.Get(ReplicaSetController.MetricSubsystem, "", "pods");
        var jobPodSkips = skips.Get(JobController.MetricSubsystem, "", "pods");
        Assert.True(rsPodSkips > 0, "the ReplicaSet controller never found its pod cache stale");
        Assert.True(jobPodSkips > 0, "the Job controller never found its pod cache stale");
        Assert.Equal(summary.StaleSyncSkips.Values.Sum(), skips.Total);
        Assert.Equal(rsPodSkips + jobPodSkips, summary.StaleSyncSkips["/pods"]);

        // The same numbers through OpenTelemetry's Prometheus exporter over HTTP, with upstream's names and labels only.
        using var http = new HttpClient();
        var text = await http.GetStringAsync(metrics.MetricsUri).WaitAsync(Guard);
        Assert.Contains("# TYPE replicaset_controller_stale_sync_skips_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains($"replicaset_controller_stale_sync_skips_total{{group=\"\",resource=\"pods\"}} {rsPodSkips.ToString(CultureInfo.InvariantCulture)}\n", text, StringComparison.Ordinal);
        Assert.Contains($"job_controller_stale_sync_skips_total{{group=\"\",resource=\"pods\"}} {jobPodSkips.ToString(CultureInfo.InvariantCulture)}\n", text, StringComparison.Ordinal);
        var podRv = summary.ResourceVersions.Single(v => v.Resource == "pods").StoreResourceVersion;
        Assert.Contains($"informer_store_resource_version{{group=\"\",name=\"{ControllerScenario.InformerName}\",resource=\"pods\",version=\"v1\"}} {podRv}\n", text, StringComparison.Ordinal);
        Assert.Contains($"informer_store_resource_version{{group=\"apps\",name=\"{ControllerScenario.InformerName}\",resource=\"replicasets\",version=\"v1\"}} ", text, StringComparison.Ordinal);
        Assert.Contains($"informer_store_resource_version{{group=\"batch\",name=\"{ControllerScenario.InformerName}\",resource=\"jobs\",version=\"v1\"}} ", text, StringComparison.Ordinal);
        Assert.Contains("workqueue_adds_total{name=\"replicaset\"} ", text, StringComparison.Ordinal);
        Assert.Contains("workqueue_adds_total{name=\"job\"} ", text, StringComparison.Ordinal);
        Assert.Contains("workqueue_retries_total{name=\"replicaset\"} ", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE informer_processing_latency_seconds histogram\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE workqueue_queue_duration_seconds histogram\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE workqueue_depth gauge\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("otel_scope", text, StringComparison.Ordinal);
        Assert.DoesNotContain("target_info", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_the_consistency_store_the_same_lag_makes_the_controllers_over_create()
    {
        // A longer lag than the gated test, so the over-creation does not depend on how busy the machine is: the resync
        // that the first status write triggers runs long before the pods' events arrive.
        await using var scenario = await ControllerScenario.StartAsync(Small(consistency: false, TimeSpan.FromSeconds(1))).WaitAsync(Guard);
        using var skips = new SkipListener(scenario.MeterFactory);

        var summary = await scenario.RunToConvergenceAsync().WaitAsync(Guard);

        Assert.True(summary.Converged, summary.NotConvergedReason);
        Assert.True(summary.ReplicaSetExcessPods > 0, $"the ReplicaSet controller did not over-create: {summary}");
        Assert.True(summary.JobExcessPods > 0, $"the Job controller did not over-create: {summary}");
        Assert.True(summary.PodsCreated > summary.MinimumPods);
        Assert.Equal(0, skips.Total);
        Assert.Empty(summary.StaleSyncSkips);
    }

    [Fact]
    public async Task Expectations_prevent_the_pod_lag_over_creation_but_only_the_gate_covers_a_stale_Job_read()
    {
        // Pods lag 100 ms, Jobs 600 ms: after counting finished pods the Job controller labels them (seen quickly) while its
        // own status write (the new counts) is seen late. Expectations wait for the labels, not for the Job; the gate waits for both.
        var podLag = TimeSpan.FromMilliseconds(100);
        var ownerLag = TimeSpan.FromMilliseconds(600);
        var withExpectations = await ControllerScenario.RunAsync(Small(consistency: false, podLag, expectations: true, ownerLag)).WaitAsync(Guard);
        var withGate = await ControllerScenario.RunAsync(Small(consistency: true, podLag, expectations: false, ownerLag)).WaitAsync(Guard);

        Assert.True(withExpectations.Converged, withExpectations.NotConvergedReason);
        Assert.Equal(0, withExpectations.ReplicaSetExcessPods);
        Assert.True(withExpectations.JobExcessPods > 0, $"a stale Job read did not make the Job controller over-create: {withExpectations}");
        Assert.True(withGate.Converged, withGate.NotConvergedReason);
        Assert.Equal(0, withGate.ExcessPods);
        Assert.Equal(0, withGate.JobsMiscounted);
        Assert.True(withGate.StaleSyncSkips.GetValueOrDefault("batch/jobs") > 0, withGate.ToString());
    }

    /// <summary>Reads the gates' skip counters with a <see cref="MeterListener"/> of its own.</summary>
    private sealed class SkipListener : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly Dictionary<(string, string, string), long> _counts = [];

        public SkipListener(IMeterFactory meters)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, meters) && instrument.Name.EndsWith(".stale_sync_skips", StringComparison.Ordinal))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                var group = "";
                var resource = "";
                foreach (var tag in tags)
                {
                    (group, resource) = tag.Key switch
                    {
                        "group" => ((string)tag.Value!, resource),
                        "resource" => (group, (string)tag.Value!),
                        _ => (group, resource),
                    };
                }

                var key = (instrument.Name, group, resource);
                lock (_counts)
                {
                    _counts[key] = _counts.GetValueOrDefault(key) + value;
                }
            });
            _listener.Start();
        }

        public long Total
        {
            get
            {
                lock (_counts)
                {
                    return _counts.Values.Sum();
                }
            }
        }

        public long Get(string controller, string group, string resource)
        {
            lock (_counts)
            {
                return _counts.GetValueOrDefault((StalenessGate.SkipsInstrumentNameFor(controller), group, resource));
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
