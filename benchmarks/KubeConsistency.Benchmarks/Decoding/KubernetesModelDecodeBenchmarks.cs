using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using k8s.Models;
using KubeConsistency.Benchmarks.Sync;
using KubeConsistency.Http;
using KubeConsistency.KubernetesClient;

namespace KubeConsistency.Benchmarks.Decoding;

/// <summary>
/// Decoding one <c>k8s.Models.V1Pod</c> as an informer's list decode does, per pod of a 1,000-pod list: with
/// KubernetesClient's own serializer options, with ours without shared values (<c>DeduplicateValues = false</c>: the
/// culture-free timestamp converters only), with ours by default (shared strings, quantities and field sets) and with
/// ours without sharing over source-generated metadata instead of the reflection resolver KubernetesClient uses. Pods
/// carry kube-apiserver's two <c>managedFields</c> entries: a spec field set their ReplicaSet's pods share and a status
/// field set unique to each pod (it keys <c>podIPs</c> by the pod's IP), so both the hit and the miss path are measured.
/// </summary>
[MemoryDiagnoser]
public class KubernetesModelDecodeBenchmarks
{
    private const int Pods = 1000;
    private static readonly JsonSerializerOptions Original = KubernetesClientConnections.JsonOptions;
    private static readonly JsonSerializerOptions Unshared = KubernetesDecoding.For(new KubernetesResourceOptions { DeduplicateValues = false });
    private static readonly JsonSerializerOptions Shared = KubernetesDecoding.For(new KubernetesResourceOptions());
    private static readonly JsonSerializerOptions UnsharedGenerated = new(Unshared) { TypeInfoResolver = KubernetesModelContext.Default };
    private static readonly JsonSerializerOptions UnsharedDirect = DirectDecoding.TryCreate(Unshared, typeof(V1Pod))!.Options;
    private static readonly JsonSerializerOptions SharedDirect = DirectDecoding.TryCreate(Shared, typeof(V1Pod))!.Options;
    private byte[][] _pods = [];

    [GlobalSetup]
    public void Setup()
    {
        _pods = CreatePods(Pods);

        // Fills the tables and checks the three decodes agree.
        foreach (var pod in _pods)
        {
            var a = JsonSerializer.Serialize(JsonSerializer.Deserialize<V1Pod>(pod, Original), Original);
            var b = JsonSerializer.Serialize(JsonSerializer.Deserialize<V1Pod>(pod, Shared), Original);
            var c = JsonSerializer.Serialize(JsonSerializer.Deserialize<V1Pod>(pod, UnsharedGenerated), Original);
            var d = JsonSerializer.Serialize(JsonSerializer.Deserialize<V1Pod>(pod, UnsharedDirect), Original);
            var e = JsonSerializer.Serialize(JsonSerializer.Deserialize<V1Pod>(pod, SharedDirect), Original);
            if (a != b || a != c || a != d || a != e)
            {
                throw new InvalidOperationException("The shared decode differs from KubernetesClient's.");
            }
        }
    }

    /// <summary>The JSON of <paramref name="count"/> pods as kube-apiserver serves them, each with its own UID and IP.</summary>
    internal static byte[][] CreatePods(int count)
    {
        var pods = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            var (_, _, pod, status) = PodGenerator.Create(i, namespaces: 100);
            var meta = pod["metadata"]!.AsObject();
            meta["uid"] = Guid.NewGuid().ToString();
            meta["resourceVersion"] = (1000 + i).ToString(System.Globalization.CultureInfo.InvariantCulture);
            meta["creationTimestamp"] = "2026-01-15T10:00:00Z";
            var ownerUid = meta["ownerReferences"]![0]!["uid"]!.GetValue<string>();
            var ip = status["status"]!["podIP"]!.GetValue<string>();
            meta["managedFields"] = JsonNode.Parse(ManagedFields(ownerUid, ip));
            pod["status"] = status["status"]!.DeepClone();
            pods[i] = Encoding.UTF8.GetBytes(pod.ToJsonString());
        }

        return pods;
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Pods)]
    public int KubernetesClientOptions() => Decode(Original);

    [Benchmark(OperationsPerInvoke = Pods)]
    public int Unshared_values() => Decode(Unshared);

    [Benchmark(OperationsPerInvoke = Pods)]
    public int Shared_values() => Decode(Shared);

    [Benchmark(OperationsPerInvoke = Pods)]
    public int Unshared_direct() => Decode(UnsharedDirect);

    [Benchmark(OperationsPerInvoke = Pods)]
    public int Shared_direct() => Decode(SharedDirect);

    [Benchmark(OperationsPerInvoke = Pods)]
    public int Unshared_generated() => Decode(UnsharedGenerated);

    private int Decode(JsonSerializerOptions options)
    {
        var containers = 0;
        foreach (var pod in _pods)
        {
            containers += JsonSerializer.Deserialize<V1Pod>(pod, options)!.Spec.Containers.Count;
        }

        return containers;
    }

    // The two entries kube-apiserver records for a ReplicaSet's pod: kube-controller-manager's create and the kubelet's
    // status update (shapes as in a captured kube-apiserver response).
    private static string ManagedFields(string ownerUid, string ip) => """
        [{"manager":"kube-controller-manager","operation":"Update","apiVersion":"v1","time":"2026-01-15T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":
        {"f:metadata":{"f:generateName":{},"f:labels":{".":{},"f:app.kubernetes.io/name":{},"f:pod-template-hash":{}},"f:ownerReferences":{".":{},"k:{\"uid\":\"OWNER_UID\"}":{}}},
        "f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:env":{".":{},"k:{\"name\":\"LOG_LEVEL\"}":{".":{},"f:name":{},"f:value":{}}},"f:image":{},"f:imagePullPolicy":{},"f:name":{},
        "f:ports":{".":{},"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{},"f:name":{},"f:protocol":{}}},
        "f:resources":{".":{},"f:limits":{".":{},"f:cpu":{},"f:memory":{}},"f:requests":{".":{},"f:cpu":{},"f:memory":{}}},"f:terminationMessagePath":{},"f:terminationMessagePolicy":{}}},
        "f:dnsPolicy":{},"f:enableServiceLinks":{},"f:restartPolicy":{},"f:schedulerName":{},"f:securityContext":{},"f:terminationGracePeriodSeconds":{}}}},
        {"manager":"kubelet","operation":"Update","apiVersion":"v1","time":"2026-01-15T10:00:09Z","fieldsType":"FieldsV1","subresource":"status","fieldsV1":
        {"f:status":{"f:conditions":{"k:{\"type\":\"Initialized\"}":{".":{},"f:lastProbeTime":{},"f:lastTransitionTime":{},"f:status":{},"f:type":{}},
        "k:{\"type\":\"PodScheduled\"}":{".":{},"f:lastProbeTime":{},"f:lastTransitionTime":{},"f:status":{},"f:type":{}},
        "k:{\"type\":\"Ready\"}":{".":{},"f:lastProbeTime":{},"f:lastTransitionTime":{},"f:status":{},"f:type":{}}},
        "f:containerStatuses":{},"f:hostIP":{},"f:phase":{},"f:podIP":{},"f:podIPs":{".":{},"k:{\"ip\":\"POD_IP\"}":{".":{},"f:ip":{}}},"f:startTime":{}}}}]
        """.Replace("OWNER_UID", ownerUid, StringComparison.Ordinal).Replace("POD_IP", ip, StringComparison.Ordinal);
}
