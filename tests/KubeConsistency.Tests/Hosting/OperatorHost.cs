using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using KubeConsistency.Hosting;
using KubeConsistency.Informers;
using KubeConsistency.KubernetesClient;
using KubeConsistency.Samples.Controllers;
using KubeConsistency.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace KubeConsistency.Tests.Hosting;

/// <summary>A generic host running the ReplicaSet sample against the embedded server, as the README's DI snippet does.</summary>
internal static class OperatorHost
{
    public const string Namespace = "default";

    /// <summary>Counts controller runs in progress across every host of a test: more than one at once is a double reconcile.</summary>
    public sealed class RunTracker
    {
        private int _active;
        private int _max;

        public int MaxConcurrent => Volatile.Read(ref _max);

        public async Task TrackAsync(Func<Task> run)
        {
            var now = Interlocked.Increment(ref _active);
            int seen;
            while (now > (seen = Volatile.Read(ref _max)) && Interlocked.CompareExchange(ref _max, now, seen) != seen)
            {
            }

            try
            {
                await run();
            }
            finally
            {
                Interlocked.Decrement(ref _active);
            }
        }
    }

    public static IHost Build(string kubeconfig, Action<KubeConsistencyOptions>? configure = null, RunTracker? tracker = null, Action<IServiceCollection>? services = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLogging();
        services?.Invoke(builder.Services);
        builder.Services.AddKubeConsistency(o =>
            {
                o.Kubeconfig = kubeconfig;
                configure?.Invoke(o);
            })
            .AddInformer<V1Pod>(new KubernetesResourceOptions { Namespace = Namespace })
            .AddInformer<V1ReplicaSet>(new KubernetesResourceOptions { Namespace = Namespace })
            .AddController(
                "replicaset",
                sp => new ReplicaSetController(new SampleControllerOptions<V1ReplicaSet>
                {
                    Kubernetes = sp.GetRequiredService<IKubernetes>(),
                    Pods = sp.GetRequiredService<IKubernetes>().Resource<V1Pod>(new KubernetesResourceOptions { Namespace = Namespace }),
                    PodInformer = sp.GetRequiredService<ISharedIndexInformer<V1Pod>>(),
                    OwnerInformer = sp.GetRequiredService<ISharedIndexInformer<V1ReplicaSet>>(),
                    TimeProvider = sp.GetRequiredService<TimeProvider>(),
                    LoggerFactory = sp.GetService<ILoggerFactory>(),
                }),
                (controller, ct) => tracker is null ? controller.RunAsync(ct) : tracker.TrackAsync(() => controller.RunAsync(ct)));
        return builder.Build();
    }

    public static JsonObject ReplicaSet(string name, int replicas) => new()
    {
        ["apiVersion"] = "apps/v1",
        ["kind"] = "ReplicaSet",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = Namespace },
        ["spec"] = new JsonObject
        {
            ["replicas"] = replicas,
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = name } },
            ["template"] = new JsonObject
            {
                ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app"] = name } },
                ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "c", ["image"] = "nginx:1.27" }) },
            },
        },
    };

    public static int LivePods(EmbeddedApiServer server, string app) =>
        server.Objects.List(ApiResourceDefinition.Pods, Namespace, "app=" + app).Items.Count(p => p["metadata"]?["deletionTimestamp"] is null);

    /// <summary>Waits for a condition on the server or a host, re-checking on a short poll, up to a real-time bound.</summary>
    public static async Task<TimeSpan> WaitUntilAsync(Func<bool> condition, TimeSpan within, string what)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        while (!condition())
        {
            if (System.Diagnostics.Stopwatch.GetElapsedTime(started) > within)
            {
                throw new TimeoutException($"not within {within.TotalSeconds} s: {what}");
            }

            await Task.Delay(10);
        }

        return System.Diagnostics.Stopwatch.GetElapsedTime(started);
    }
}
