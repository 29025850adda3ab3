using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using BenchmarkDotNet.Attributes;
using KubeConsistency.Benchmarks.Sync;

namespace KubeConsistency.Benchmarks.Probes;

/// <summary>
/// Where a watch event's decode allocation goes: one <c>JsonSerializer.Deserialize</c> per event object (today's
/// watch path) against one streaming decode of many objects (<c>DeserializeAsyncEnumerable</c> with top-level
/// values), which reuses System.Text.Json's read-stack frames instead of allocating them per call. The difference
/// per object is the per-event frame cost issue 13 asks about.
/// </summary>
[MemoryDiagnoser]
[BenchmarkCategory("Probes")]
public class ProbeWatchDecodeBenchmarks
{
    private const int Objects = 256;

    private byte[] _pod = null!;
    private byte[] _stream = null!;
    private byte[] _line = null!;
    private JsonTypeInfo<BenchPod> _typed = null!;
    private JsonTypeInfo<k8s.Models.V1Pod> _k8s = null!;

    [GlobalSetup]
    public void Setup()
    {
        var (_, _, pod, status) = PodGenerator.Create(1, 100);
        pod["status"] = status["status"]!.DeepClone();

        // What the server adds, where kube-apiserver writes it (after the namespace).
        var generated = pod["metadata"]!.AsObject();
        var metadata = new System.Text.Json.Nodes.JsonObject
        {
            ["name"] = generated["name"]!.DeepClone(),
            ["namespace"] = generated["namespace"]!.DeepClone(),
            ["uid"] = "6f1c2a9e-3d4b-4c5e-8f70-1a2b3c4d5e6f",
            ["resourceVersion"] = "123456789",
            ["creationTimestamp"] = "2026-01-15T10:00:00Z",
        };
        foreach (var (key, value) in generated.ToList())
        {
            if (!metadata.ContainsKey(key))
            {
                metadata[key] = value!.DeepClone();
            }
        }

        pod["metadata"] = metadata;
        _pod = JsonSerializer.SerializeToUtf8Bytes(pod, BenchJsonContext.Default.JsonNode);
        using var all = new MemoryStream();
        for (var i = 0; i < Objects; i++)
        {
            all.Write(_pod);
            all.WriteByte((byte)'\n');
        }

        _stream = all.ToArray();
        _line = [.. "{\"type\":\"MODIFIED\",\"object\":"u8, .. _pod, .. "}"u8];
        _typed = BenchJsonContext.Default.BenchPod;
        _k8s = (JsonTypeInfo<k8s.Models.V1Pod>)KubeConsistency.KubernetesClient.KubernetesDecoding.For(new KubeConsistency.KubernetesClient.KubernetesResourceOptions())
            .GetTypeInfo(typeof(k8s.Models.V1Pod));
        if (JsonSerializer.Deserialize(_pod, _typed)?.Spec is null || JsonSerializer.Deserialize(_pod, _k8s)?.Spec is null)
        {
            throw new InvalidOperationException("the probe pod did not decode");
        }
    }

    [Benchmark(Baseline = true, Description = "POCO: Deserialize per object (watch today)")]
    public BenchPod? TypedPerObject() => JsonSerializer.Deserialize(_pod, _typed);

    [Benchmark(OperationsPerInvoke = Objects, Description = "POCO: one streaming decode, per object")]
    public async Task<int> TypedStreamed() => await Stream(_typed);

    [Benchmark(Description = "V1Pod: Deserialize per object (watch today)")]
    public k8s.Models.V1Pod? K8sPerObject() => JsonSerializer.Deserialize(_pod, _k8s);

    [Benchmark(OperationsPerInvoke = Objects, Description = "V1Pod: one streaming decode, per object")]
    public async Task<int> K8sStreamed() => await Stream(_k8s);

    [Benchmark(OperationsPerInvoke = Objects, Description = "V1Pod: the watch's StreamingObjectDecoder, per object")]
    public int K8sWatchDecoder()
    {
        // The watch path as it runs: one decoder per watch, each event's object handed over as a span.
        using var decoder = new KubeConsistency.Http.StreamingObjectDecoder<k8s.Models.V1Pod>(_k8s);
        var n = 0;
        for (var i = 0; i < Objects; i++)
        {
            n += decoder.Decode(_pod) is null ? 0 : 1;
        }

        return n == Objects && decoder.Streaming ? n : throw new InvalidOperationException($"decoded {n} of {Objects}, streaming {decoder.Streaming}");
    }

    [Benchmark(OperationsPerInvoke = Objects, Description = "V1Pod: the watch's decoder with DirectDecoding, per object")]
    public int K8sWatchDecoderDirect()
    {
        using var decoder = new KubeConsistency.Http.StreamingObjectDecoder<k8s.Models.V1Pod>(_k8s, KubeConsistency.Http.DirectDecoding.For(_k8s)!);
        var n = 0;
        for (var i = 0; i < Objects; i++)
        {
            n += decoder.Decode(_pod) is null ? 0 : 1;
        }

        return n == Objects && !decoder.Streaming ? n : throw new InvalidOperationException($"decoded {n} of {Objects}, streaming {decoder.Streaming}");
    }

    [Benchmark(OperationsPerInvoke = Objects, Description = "V1Pod: whole watch line, scan then DirectDecoding, per line")]
    public int K8sWatchLineScanned() => DecodeLines(identity: null);

    [Benchmark(OperationsPerInvoke = Objects, Description = "V1Pod: whole watch line in one pass, per line")]
    public int K8sWatchLineOnePass() => DecodeLines(KubeConsistency.KubernetesClient.KubernetesDecoding.WatchIdentity<k8s.Models.V1Pod>(_k8s.Options));

    private int DecodeLines(Func<k8s.Models.V1Pod, (string?, string?)>? identity)
    {
        var lines = new KubeConsistency.Http.WatchEventDecoder<k8s.Models.V1Pod>(_k8s, "Pod", identity: identity);
        using var decoder = new KubeConsistency.Http.StreamingObjectDecoder<k8s.Models.V1Pod>(_k8s, KubeConsistency.Http.DirectDecoding.For(_k8s)!);
        var n = 0;
        for (var i = 0; i < Objects; i++)
        {
            n += lines.Decode(_line, objects: decoder).ResourceVersion.Length == 9 ? 1 : 0;
        }

        return n == Objects ? n : throw new InvalidOperationException($"decoded {n} of {Objects}");
    }

    private async Task<int> Stream<T>(JsonTypeInfo<T> info)
    {
        var n = 0;
        using var source = new MemoryStream(_stream, writable: false);
        await foreach (var item in JsonSerializer.DeserializeAsyncEnumerable(source, info, topLevelValues: true))
        {
            n += item is null ? 0 : 1;
        }

        return n == Objects ? n : throw new InvalidOperationException($"decoded {n} of {Objects}");
    }
}
