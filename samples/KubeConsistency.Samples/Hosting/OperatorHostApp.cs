using System.Globalization;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using KubeConsistency.Hosting;
using KubeConsistency.Informers;
using KubeConsistency.KubernetesClient;
using KubeConsistency.Samples.Controllers;
using KubeConsistency.Samples.Demo;
using KubeConsistency.Samples.Kubelet;
using KubeConsistency.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace KubeConsistency.Samples.Hosting;

/// <summary>A sample controller's settings, bound from <c>KubeConsistency:Controllers:replicaset</c> and <c>:job</c> (e.g. the environment variable <c>KubeConsistency__Controllers__job__Workers=2</c>).</summary>
public sealed class ControllerSettings
{
    /// <summary>Concurrent syncs (default 5, as kube-controller-manager).</summary>
    public int Workers { get; set; } = 5;

    /// <summary>Use controller expectations besides the gate.</summary>
    public bool UseExpectations { get; set; }

    /// <summary>What is wrong with the settings.</summary>
    /// <param name="settings">The settings.</param>
    public static IEnumerable<string> Validate(ControllerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Workers is < 1 or > 100)
        {
            yield return $"Workers must be between 1 and 100 (was {settings.Workers})";
        }
    }
}

/// <summary>
/// The ReplicaSet and Job sample controllers as an operator in a generic host (ASP.NET Core for the endpoints):
/// <c>/readyz</c>, <c>/livez</c>, <c>/metrics</c>. Without <c>--kubeconfig</c> it starts an embedded API server with a
/// simulated kubelet and creates a demo ReplicaSet and Job in <c>default</c>; with it, it runs against that cluster.
/// </summary>
public static class OperatorHostApp
{
    /// <summary>Runs the operator. Options: <c>--kubeconfig PATH</c>, <c>--namespace NS</c>, <c>--urls URL</c> (default
    /// <c>http://127.0.0.1:8080</c>), <c>--run-for SECONDS</c> (stop after that long), <c>--leader-elect</c>.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="output">Where the progress lines go (default the console).</param>
    public static async Task<int> RunAsync(string[] args, TextWriter? output = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        output ??= Console.Out;
        string? Arg(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        var kubeconfig = Arg("--kubeconfig");
        var ns = Arg("--namespace") ?? "default";
        var runFor = Arg("--run-for") is { } s ? TimeSpan.FromSeconds(double.Parse(s, CultureInfo.InvariantCulture)) : (TimeSpan?)null;

        await using var embedded = kubeconfig is null ? await EmbeddedApiServer.StartAsync().ConfigureAwait(false) : null;
        if (embedded is not null)
        {
            kubeconfig = Path.Combine(Path.GetTempPath(), "operator-host-" + Guid.NewGuid().ToString("N") + ".yaml");
            embedded.WriteKubeconfig(kubeconfig, ns);
            await output.WriteLineAsync($"embedded API server at {embedded.BaseAddress} (kubeconfig {kubeconfig})").ConfigureAwait(false);
        }

        var builder = WebApplication.CreateSlimBuilder([]);
        builder.WebHost.UseUrls(Arg("--urls") ?? "http://127.0.0.1:8080");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddKubeConsistencyPrometheus());
        builder.Services.AddKubeConsistency(o =>
            {
                o.Kubeconfig = kubeconfig;
                if (args.Contains("--leader-elect"))
                {
                    o.LeaderElection.Enabled = true;
                    o.LeaderElection.LeaseName = "kubeconsistency-sample-operator";
                    o.LeaderElection.LeaseNamespace = ns;
                }
            })
            .AddInformer<V1Pod>(new KubernetesResourceOptions { Namespace = ns })
            .AddInformer<V1ReplicaSet>(new KubernetesResourceOptions { Namespace = ns })
            .AddInformer<V1Job>(new KubernetesResourceOptions { Namespace = ns })
            .AddController<ReplicaSetController, ControllerSettings>("replicaset", (sp, settings) => new ReplicaSetController(Options<V1ReplicaSet>(sp, ns, settings)), (c, ct) => c.RunAsync(ct), ControllerSettings.Validate)
            .AddController<JobController, ControllerSettings>("job", (sp, settings) => new JobController(Options<V1Job>(sp, ns, settings)), (c, ct) => c.RunAsync(ct), ControllerSettings.Validate);

        await using var app = builder.Build();
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = r => r.Tags.Contains(KubeConsistencyServiceCollectionExtensions.ReadyTag) });
        app.MapHealthChecks("/livez", new HealthCheckOptions { Predicate = r => r.Tags.Contains(KubeConsistencyServiceCollectionExtensions.LiveTag) });
        app.MapKubeConsistencyMetrics();
        using var stop = runFor is { } d ? new CancellationTokenSource(d) : new CancellationTokenSource();
        await app.StartAsync(stop.Token).ConfigureAwait(false);
        await output.WriteLineAsync($"operator listening on {string.Join(", ", app.Urls)} (/readyz, /livez, /metrics)").ConfigureAwait(false);

        SimulatedKubelet? kubelet = null;
        if (embedded is not null)
        {
            kubelet = new SimulatedKubelet(new SimulatedKubeletOptions { Server = embedded, PodInformer = app.Services.GetRequiredService<ISharedIndexInformer<V1Pod>>() });
            kubelet.Start(stop.Token);
            embedded.Objects.Create(ApiResourceDefinition.ReplicaSets, Owner("apps/v1", "ReplicaSet", "web", ns, new JsonObject { ["replicas"] = 3 }));
            embedded.Objects.Create(ApiResourceDefinition.Jobs, Owner("batch/v1", "Job", "batch", ns, new JsonObject { ["parallelism"] = 2, ["completions"] = 4 }));
            await output.WriteLineAsync("created replicasets/web (3 replicas) and jobs/batch (4 completions, 2 at a time)").ConfigureAwait(false);
        }

        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }

        if (embedded is not null)
        {
            var pods = embedded.Objects.List(ApiResourceDefinition.Pods, ns).Items;
            await output.WriteLineAsync($"pods: {pods.Count} ({pods.Count(p => p["status"]?["phase"]?.GetValue<string>() == "Succeeded")} succeeded)").ConfigureAwait(false);
        }

        await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        if (kubelet is not null)
        {
            await kubelet.StoppedAsync().ConfigureAwait(false);
        }

        await output.WriteLineAsync("stopped").ConfigureAwait(false);
        return 0;
    }

    private static SampleControllerOptions<T> Options<T>(IServiceProvider sp, string ns, ControllerSettings settings)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var kubernetes = sp.GetRequiredService<IKubernetes>();
        return new SampleControllerOptions<T>
        {
            Kubernetes = kubernetes,
            Pods = kubernetes.Resource<V1Pod>(new KubernetesResourceOptions { Namespace = ns }),
            PodInformer = sp.GetRequiredService<ISharedIndexInformer<V1Pod>>(),
            OwnerInformer = sp.GetRequiredService<ISharedIndexInformer<T>>(),
            TimeProvider = sp.GetRequiredService<TimeProvider>(),
            LoggerFactory = sp.GetService<ILoggerFactory>(),
            MeterFactory = sp.GetService<System.Diagnostics.Metrics.IMeterFactory>(),
            Workers = settings.Workers,
            UseExpectations = settings.UseExpectations,
        };
    }

    private static JsonObject Owner(string apiVersion, string kind, string name, string ns, JsonObject spec)
    {
        spec["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = name } };
        spec["template"] = new JsonObject
        {
            ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app"] = name } },
            ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "c", ["image"] = "nginx:1.27" }), ["restartPolicy"] = "Never" },
        };
        return new JsonObject { ["apiVersion"] = apiVersion, ["kind"] = kind, ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns }, ["spec"] = spec };
    }
}
