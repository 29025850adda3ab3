using k8s;
using k8s.Models;
using KubeConsistency.KubernetesClient;
using KubeConsistency.Samples.Controllers;
using KubeConsistency.Testing;
using KubeConsistency.Testing.Scenarios;
using KubeConsistency.Tests.Scenarios;

namespace KubeConsistency.Tests.Readme;

/// <summary>The README's property test for a user's controller, compiled and run.</summary>
public static class ReadmePropertyExample
{
    public static ScenarioCheckResult Run(EmbeddedApiServer server, IKubernetes kubernetes, int cases)
    {
        var createReplicaSet = SampleScenarioKit.CreateReplicaSet(2);
        var scaleTo4 = SampleScenarioKit.ScaleReplicaSet(4);

        // README-BEGIN property
        var runner = new ScenarioRunner(new ScenarioRunnerOptions
        {
            Server = server, // one EmbeddedApiServer for every case; each case gets its own namespace
            Informers =
            [
                ScenarioInformer.For("replicasets", ApiResourceDefinition.ReplicaSets, json => KubernetesJson.Deserialize<V1ReplicaSet>(json), o => o with { MetadataAccessor = KubernetesObjectMetadata.For<V1ReplicaSet>() }),
                ScenarioInformer.For("pods", ApiResourceDefinition.Pods, json => KubernetesJson.Deserialize<V1Pod>(json), o => o with { MetadataAccessor = KubernetesObjectMetadata.For<V1Pod>() }),
            ],
            Controller = ctx => // your controller, on the case's informers, clock and namespace
            {
                var rs = new ReplicaSetController(new SampleControllerOptions<V1ReplicaSet>
                {
                    Kubernetes = kubernetes,
                    Pods = kubernetes.Resource<V1Pod>(new KubernetesResourceOptions { Namespace = ctx.Namespace }),
                    PodInformer = ctx.Informer<V1Pod>("pods"),
                    OwnerInformer = ctx.Informer<V1ReplicaSet>("replicasets"),
                    ConsistencyStoreDecorator = ctx.ObserveConsistency,
                    Workers = 1,
                    TimeProvider = ctx.Time,
                });
                return new ScenarioController { Controller = rs.Controller, Run = rs.RunAsync };
            },
            Invariants =
            [
                ScenarioInvariant.Always("never more live pods than spec.replicas", s =>
                {
                    var replicas = s.Cluster.Get(ApiResourceDefinition.ReplicaSets, "web")?["spec"]?["replicas"]?.GetValue<int>() ?? 0;
                    var live = s.Cluster.List(ApiResourceDefinition.Pods).Count(p => p["metadata"]?["deletionTimestamp"] is null);
                    return live > replicas ? $"{live} live pods for {replicas} replicas" : null;
                }),
            ],
        });
        var schedules = ScenarioGen.Arbitrary(new ScheduleOptions { Informers = ["replicasets", "pods"], History = [createReplicaSet, scaleTo4] });
        var result = ScenarioCheck.Assert(runner, schedules, new ScenarioCheckOptions { Cases = cases }); // throws with the seed and the shrunk schedule
        // README-END property
        return result;
    }
}
