using KubeConsistency.Hosting;
using KubeConsistency.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Configuration;
using Xunit.Abstractions;

namespace KubeConsistency.Tests.Hosting;

/// <summary>Issue 11: the operator in a generic host against the embedded server.</summary>
public sealed class HostingTests(ITestOutputHelper output) : IAsyncLifetime
{
    private EmbeddedApiServer _server = null!;
    private string _kubeconfig = null!;

    public async Task InitializeAsync()
    {
        _server = await EmbeddedApiServer.StartAsync();
        _kubeconfig = Path.Combine(Path.GetTempPath(), "kc-hosting-" + Guid.NewGuid().ToString("N") + ".yaml");
        _server.WriteKubeconfig(_kubeconfig, OperatorHost.Namespace);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        File.Delete(_kubeconfig);
    }

    [Fact]
    public async Task TheHostStartsSyncsReconcilesReportsReadyAndStopsCleanly()
    {
        using var host = OperatorHost.Build(_kubeconfig);
        await host.StartAsync();
        var health = host.Services.GetRequiredService<HealthCheckService>();
        await OperatorHost.WaitUntilAsync(() => host.Services.GetRequiredService<ILeadership>().IsLeader, TimeSpan.FromSeconds(20), "the controllers run");
        var ready = await health.CheckHealthAsync(r => r.Tags.Contains(KubeConsistencyServiceCollectionExtensions.ReadyTag));
        Assert.Equal(HealthStatus.Healthy, ready.Status);
        Assert.Equal(true, ready.Entries["kubeconsistency-caches"].Data["leader"]);

        _server.Objects.Create(ApiResourceDefinition.ReplicaSets, OperatorHost.ReplicaSet("web", 3));
        await OperatorHost.WaitUntilAsync(() => OperatorHost.LivePods(_server, "web") == 3, TimeSpan.FromSeconds(20), "3 pods");

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await host.StopAsync(stop.Token);
        Assert.False(stop.IsCancellationRequested, "the host should stop well within its shutdown timeout");
        Assert.False(host.Services.GetRequiredService<ILeadership>().IsLeader);
        await OperatorHost.WaitUntilAsync(() => _server.Faults.GetOpenWatchCount("", "pods") + _server.Faults.GetOpenWatchCount("apps", "replicasets") == 0, TimeSpan.FromSeconds(10), "the informers' watches end");
    }

    [Theory]
    [InlineData("LeaseName")]
    [InlineData("RenewDeadline")]
    public async Task AnInvalidOptionFailsStartWithAMessageNamingIt(string setting)
    {
        using var host = OperatorHost.Build(_kubeconfig, o =>
        {
            o.LeaderElection.Enabled = true;
            o.LeaderElection.LeaseNamespace = "default";
            o.LeaderElection.LeaseName = setting == "LeaseName" ? null : "op";
            if (setting == "RenewDeadline")
            {
                o.LeaderElection.RetryPeriod = TimeSpan.FromSeconds(20); // longer than the 10 s renew deadline
            }
        });
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("KubeConsistency:LeaderElection:" + setting, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AStalledWatchTurnsLivenessUnhealthyWithinTheBound_AndHealthyAfterRecovery()
    {
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        using var host = OperatorHost.Build(_kubeconfig, o => o.WatchProgressBound = TimeSpan.FromSeconds(30), services: s => s.TryAddSingleton<TimeProvider>(time));
        await host.StartAsync();
        var health = host.Services.GetRequiredService<HealthCheckService>();
        Func<HealthCheckRegistration, bool> live = r => r.Tags.Contains(KubeConsistencyServiceCollectionExtensions.LiveTag);
        await OperatorHost.WaitUntilAsync(() => host.Services.GetRequiredService<ILeadership>().IsLeader, TimeSpan.FromSeconds(20), "synced and running");
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(live)).Status);

        // Every pod event now reaches the informer an hour late: the pod watch is silent from the moment it holds one back.
        _server.Faults.SetWatchDelay("", "pods", TimeSpan.FromHours(1));
        _server.Objects.Create(ApiResourceDefinition.ReplicaSets, OperatorHost.ReplicaSet("stalled", 1));
        await _server.Faults.WaitForDelayedWatchStreamsAsync(1);
        var rsInformer = host.Services.GetRequiredService<KubeConsistency.Informers.ISharedIndexInformer<k8s.Models.V1ReplicaSet>>();
        await OperatorHost.WaitUntilAsync(() => rsInformer.Indexer.List().Count == 1, TimeSpan.FromSeconds(20), "the ReplicaSet is cached");
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(live)).Status); // the baseline: both progressed
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(live)).Status);
        time.Advance(TimeSpan.FromSeconds(1));
        var stalled = await health.CheckHealthAsync(live);
        output.WriteLine(stalled.Entries["kubeconsistency-watches"].Description);
        foreach (var (k, v) in stalled.Entries["kubeconsistency-watches"].Data)
        {
            output.WriteLine($"{k}: {v}");
        }

        Assert.Equal(HealthStatus.Unhealthy, stalled.Status);
        Assert.Contains("V1Pod", stalled.Entries["kubeconsistency-watches"].Description, StringComparison.Ordinal);

        // Recovery: the held pod event arrives; the ReplicaSet watch shows progress too (a label change).
        _server.Faults.SetWatchDelay("", "pods", TimeSpan.Zero);
        var podInformer = host.Services.GetRequiredService<KubeConsistency.Informers.ISharedIndexInformer<k8s.Models.V1Pod>>();
        await OperatorHost.WaitUntilAsync(() => podInformer.Indexer.List().Count >= 1, TimeSpan.FromSeconds(20), "the delayed pod arrives");
        _server.Objects.Patch(ApiResourceDefinition.ReplicaSets, OperatorHost.Namespace, "stalled", "{\"metadata\":{\"labels\":{\"touched\":\"yes\"}}}");
        await OperatorHost.WaitUntilAsync(() => rsInformer.Indexer.List().Any(r => r.Metadata.Labels?.ContainsKey("touched") == true), TimeSpan.FromSeconds(20), "the label change arrives");
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(live)).Status);
        await host.StopAsync();
    }
}

/// <summary>A controller's own settings, bound from KubeConsistency:Controllers:&lt;name&gt; and validated at start.</summary>
public sealed class ControllerSettingsTests
{
    public sealed class Settings
    {
        public int Workers { get; set; } = 1;
    }

    private static IHost Build(string workers, List<int> seen)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["KubeConsistency:Controllers:demo:Workers"] = workers });
        builder.Services.AddSingleton<k8s.IKubernetes>(_ => new k8s.Kubernetes(new k8s.KubernetesClientConfiguration { Host = "http://127.0.0.1:1" }));
        builder.Services.AddKubeConsistency().AddController<object, Settings>(
            "demo",
            (_, settings) =>
            {
                seen.Add(settings.Workers);
                return new object();
            },
            (_, ct) => Task.Delay(Timeout.Infinite, ct).ContinueWith(_ => { }, TaskScheduler.Default),
            s => s.Workers < 1 ? ["Workers must be at least 1"] : []);
        return builder.Build();
    }

    [Fact]
    public async Task InvalidSettingsFailStart_NamingTheSetting()
    {
        using var host = Build("0", []);
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("KubeConsistency:Controllers:demo:Workers must be at least 1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidSettingsReachTheController()
    {
        var seen = new List<int>();
        using var host = Build("3", seen);
        await host.StartAsync();
        await OperatorHost.WaitUntilAsync(() => seen.Count == 1, TimeSpan.FromSeconds(20), "the controller is created");
        Assert.Equal([3], seen);
        await host.StopAsync();
    }
}
