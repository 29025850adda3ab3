using System.Text.Json;
using BenchmarkDotNet.Attributes;
using KubeConsistency.Http;

namespace KubeConsistency.Benchmarks.Decoding;

/// <summary>
/// The string values and keys of one served pod, per pod of 1,000 (names, labels, images, UIDs, IPs, timestamps):
/// decoded as System.Text.Json decodes them and through <see cref="DeduplicatingStringConverter"/>, whose lookup is part
/// of every <c>k8s.Models</c> and POCO decode with shared strings. The reader's own tokenizing is in both rows.
/// </summary>
[MemoryDiagnoser]
public class StringDeduplicationBenchmarks
{
    private const int Pods = 1000;
    private byte[][] _pods = [];

    [GlobalSetup]
    public void Setup()
    {
        _pods = KubernetesModelDecodeBenchmarks.CreatePods(Pods);
        Shared(); // fills the table
    }

    [Benchmark(OperationsPerInvoke = Pods)]
    public int Tokenize_only() => Read(static (ref Utf8JsonReader reader) => string.Empty);

    [Benchmark(Baseline = true, OperationsPerInvoke = Pods)]
    public int GetString() => Read(static (ref Utf8JsonReader reader) => reader.GetString()!);

    [Benchmark(OperationsPerInvoke = Pods)]
    public int Shared() => Read(static (ref Utf8JsonReader reader) => DeduplicatingStringConverter.Get(ref reader));

    private delegate string Decode(ref Utf8JsonReader reader);

    private int Read(Decode decode)
    {
        var length = 0;
        foreach (var pod in _pods)
        {
            var reader = new Utf8JsonReader(pod);
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName)
                {
                    length += decode(ref reader).Length;
                }
            }
        }

        return length;
    }
}
