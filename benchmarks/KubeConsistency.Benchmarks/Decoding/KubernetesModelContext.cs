using System.Text.Json.Serialization;
using k8s.Models;

namespace KubeConsistency.Benchmarks.Decoding;

/// <summary>Source-generated metadata for <c>k8s.Models.V1Pod</c> and everything it holds (the <c>Unshared_generated</c> row).</summary>
[JsonSerializable(typeof(V1Pod))]
internal sealed partial class KubernetesModelContext : JsonSerializerContext;
