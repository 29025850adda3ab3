using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using k8s;
using k8s.Models;
using KubeConsistency.KubernetesClient;
using KubeConsistency.Samples.Controllers;
using KubeConsistency.Testing;
using KubeConsistency.Testing.Scenarios;

namespace KubeConsistency.Tests.Scenarios;

/// <summary>
/// The sample controllers under the property-test kit: one embedded server for every case (each in its own namespace), the
/// informers fed straight from its history as the schedule says, the controllers writing over real HTTP through KubernetesClient.
/// </summary>
internal sealed class SampleScenarioKit : IAsyncDisposable
{
    public const string Owner = "web";

    private SampleScenarioKit(EmbeddedApiServer server, Kubernetes kubernetes)
    {
        Server = server;
        Kubernetes = kubernetes;
    }

    public EmbeddedApiServer Server { get; }

    public Kubernetes Kubernetes { get; }

    public static async Task<SampleScenarioKit> StartAsync()
    {
        var server = await EmbeddedApiServer.StartAsync(new EmbeddedApiServerOptions { CreateDefaultNamespaces = false, EnforceNamespaceLifecycle = false });
        var configuration = new KubernetesClientConfiguration { Host = server.BaseAddress.GetLeftPart(UriPartial.Authority), AccessToken = EmbeddedApiServer.KubeconfigToken };
        return new SampleScenarioKit(server, new Kubernetes(configuration, new ConsistencyRecordingHandler()));
    }

    public static ScenarioInformer Informer<T>(string name, ApiResourceDefinition resource, IKubernetes? overHttp = null)
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        ScenarioInformer.For(
            name,
            resource,
            json => KubernetesJson.Deserialize<T>(json),
            o => o with { MetadataAccessor = KubernetesObjectMetadata.For<T>() },
            overHttp is null ? null : ns => overHttp.Resource<T>(new KubernetesResourceOptions { Namespace = ns }));

    public static JsonObject PodTemplate() => new()
    {
        ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app"] = Owner } },
        ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "c", ["image"] = "nginx:1.27" }), ["restartPolicy"] = "Never" },
    };

    /// <summary>Pods of the case that are not finished and not being deleted (the controllers' "active").</summary>
    public static List<JsonObject> ActivePods(ScenarioState state) =>
        [.. state.Cluster.List(ApiResourceDefinition.Pods).Where(p => p["metadata"]?["deletionTimestamp"] is null && p["status"]?["phase"]?.GetValue<string>() is not ("Succeeded" or "Failed"))];

    public static int Phase(ScenarioState state, string phase) =>
        state.Cluster.List(ApiResourceDefinition.Pods).Count(p => p["status"]?["phase"]?.GetValue<string>() == phase);

    /// <summary>Another client deletes the case's alphabetically first active pod (an eviction, a user).</summary>
    public static ClusterOperation DeleteFirstPod { get; } = ClusterOperation.Custom("delete the first active pod", c =>
    {
        var pod = c.List(ApiResourceDefinition.Pods).Where(p => p["metadata"]?["deletionTimestamp"] is null).Select(p => p["metadata"]!["name"]!.GetValue<string>()).Order(StringComparer.Ordinal).FirstOrDefault();
        if (pod is null)
        {
            return "no pod";
        }

        c.Objects.Delete(ApiResourceDefinition.Pods, c.Namespace, pod);
        return null;
    });

    /// <summary>The "kubelet" finishes the case's alphabetically first running-or-pending pod with <paramref name="phase"/>.</summary>
    public static ClusterOperation FinishFirstPod(string phase) => ClusterOperation.Custom($"the first active pod ends {phase}", c =>
    {
        var pod = c.List(ApiResourceDefinition.Pods)
            .Where(p => p["metadata"]?["deletionTimestamp"] is null && p["status"]?["phase"]?.GetValue<string>() is not ("Succeeded" or "Failed"))
            .Select(p => p["metadata"]!["name"]!.GetValue<string>()).Order(StringComparer.Ordinal).FirstOrDefault();
        if (pod is null)
        {
            return "no active pod";
        }

        c.Objects.Patch(ApiResourceDefinition.Pods, c.Namespace, pod, new JsonObject { ["status"] = new JsonObject { ["phase"] = phase } }.ToJsonString(), ApiPatchType.Merge, status: true);
        return null;
    });

    public static ClusterOperation CreateReplicaSet(int replicas) => ClusterOperation.Create(ApiResourceDefinition.ReplicaSets, new JsonObject
    {
        ["apiVersion"] = "apps/v1",
        ["kind"] = "ReplicaSet",
        ["metadata"] = new JsonObject { ["name"] = Owner },
        ["spec"] = new JsonObject
        {
            ["replicas"] = replicas,
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = Owner } },
            ["template"] = PodTemplate(),
        },
    }, $"create replicasets/{Owner} with replicas {replicas}");

    public static ClusterOperation ScaleReplicaSet(int replicas) =>
        ClusterOperation.Patch(ApiResourceDefinition.ReplicaSets, Owner, new JsonObject { ["spec"] = new JsonObject { ["replicas"] = replicas } }, description: $"scale replicasets/{Owner} to {replicas}");

    public static ClusterOperation CreateJob(int parallelism, int completions) => ClusterOperation.Create(ApiResourceDefinition.Jobs, new JsonObject
    {
        ["apiVersion"] = "batch/v1",
        ["kind"] = "Job",
        ["metadata"] = new JsonObject { ["name"] = Owner },
        ["spec"] = new JsonObject
        {
            ["parallelism"] = parallelism,
            ["completions"] = completions,
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = Owner } },
            ["template"] = PodTemplate(),
        },
    }, $"create jobs/{Owner} with parallelism {parallelism}, completions {completions}");

    /// <summary>
    /// A sample controller's options for one case: one worker on the case's clock and informers; the gate on or off, and
    /// (when <paramref name="observe"/>) its store wrapped for the kit's EnsureReady check.
    /// </summary>
    public SampleControllerOptions<TOwner> ControllerOptions<TOwner>(ScenarioContext ctx, string ownerInformer, bool gate, bool observe)
        where TOwner : class, IKubernetesObject<V1ObjectMeta> => new()
    {
        Kubernetes = Kubernetes,
        Pods = Kubernetes.Resource<V1Pod>(new KubernetesResourceOptions { Namespace = ctx.Namespace }),
        PodInformer = ctx.Informer<V1Pod>("pods"),
        OwnerInformer = ctx.Informer<TOwner>(ownerInformer),
        UseConsistencyStore = gate,
        ConsistencyStoreDecorator = observe ? ctx.ObserveConsistency : null,
        Workers = 1,
        TimeProvider = ctx.Time,
    };

    /// <summary>The ReplicaSet sample under the kit: scale-ups and pod deletions by others; never more live pods than spec.replicas.</summary>
    public ScenarioRunner ReplicaSetRunner(bool gate, bool overHttp = false) => new(new ScenarioRunnerOptions
    {
        Server = Server,
        OverHttp = overHttp,
        Informers = [Informer<V1ReplicaSet>("replicasets", ApiResourceDefinition.ReplicaSets, Kubernetes), Informer<V1Pod>("pods", ApiResourceDefinition.Pods, Kubernetes)],
        Controller = ctx =>
        {
            var controller = new ReplicaSetController(ControllerOptions<V1ReplicaSet>(ctx, "replicasets", gate, observe: gate));
            return new ScenarioController { Controller = controller.Controller, Run = controller.RunAsync };
        },
        Invariants =
        [
            ScenarioInvariant.Always("never more live pods than spec.replicas", s =>
            {
                var replicas = s.Cluster.Get(ApiResourceDefinition.ReplicaSets, Owner)?["spec"]?["replicas"]?.GetValue<int>();
                var live = ActivePods(s).Count;
                return replicas is { } r && live > r ? $"{live} live pods for replicas {r}" : null;
            }),
            ScenarioInvariant.Eventually("converges to spec.replicas live pods", s =>
            {
                var replicas = s.Cluster.Get(ApiResourceDefinition.ReplicaSets, Owner)?["spec"]?["replicas"]?.GetValue<int>() ?? 0;
                var live = ActivePods(s).Count;
                return live != replicas ? $"{live} live pods for replicas {replicas}" : null;
            }),
        ],
    });

    public static Arbitrary<ScenarioSchedule> ReplicaSetSchedules(int maxSteps = 25) => ScenarioGen.Arbitrary(new ScheduleOptions
    {
        Informers = ["replicasets", "pods"],
        History = [CreateReplicaSet(2), ScaleReplicaSet(3), ScaleReplicaSet(4)],
        Operations = Gen.Constant(DeleteFirstPod),
        MaxSteps = maxSteps,
    });

    /// <summary>The Job sample: pods finish as others say; never more active pods than parallelism, nor active + succeeded beyond completions.</summary>
    public ScenarioRunner JobRunner(bool gate) => new(new ScenarioRunnerOptions
    {
        Server = Server,
        Informers = [Informer<V1Job>("jobs", ApiResourceDefinition.Jobs), Informer<V1Pod>("pods", ApiResourceDefinition.Pods)],
        Controller = ctx =>
        {
            var controller = new JobController(ControllerOptions<V1Job>(ctx, "jobs", gate, observe: gate));
            return new ScenarioController { Controller = controller.Controller, Run = controller.RunAsync };
        },
        Invariants =
        [
            ScenarioInvariant.Always("never more active pods than parallelism, nor active + succeeded than completions", s =>
            {
                var active = ActivePods(s).Count;
                var succeeded = Phase(s, "Succeeded");
                return active > JobParallelism ? $"{active} active pods for parallelism {JobParallelism}"
                    : active + succeeded > JobCompletions ? $"{active} active + {succeeded} succeeded pods for completions {JobCompletions}"
                    : null;
            }),
            ScenarioInvariant.Eventually("runs min(parallelism, completions - succeeded) pods", s =>
            {
                var active = ActivePods(s).Count;
                var want = Math.Min(JobParallelism, Math.Max(0, JobCompletions - Phase(s, "Succeeded")));
                return active != want ? $"{active} active pods, want {want}" : null;
            }),
        ],
    });

    public const int JobParallelism = 2;

    public const int JobCompletions = 4;

    public static Arbitrary<ScenarioSchedule> JobSchedules(int maxSteps = 25) => ScenarioGen.Arbitrary(new ScheduleOptions
    {
        Informers = ["jobs", "pods"],
        History = [CreateJob(JobParallelism, JobCompletions)],
        Operations = Gen.Constant(FinishFirstPod("Succeeded")),
        MaxSteps = maxSteps,
    });

    public async ValueTask DisposeAsync()
    {
        Kubernetes.Dispose();
        await Server.DisposeAsync();
    }
}
