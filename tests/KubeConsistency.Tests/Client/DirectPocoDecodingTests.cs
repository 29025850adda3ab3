using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using FsCheck;
using FsCheck.Fluent;
using KubeConsistency.Http;
using KubeConsistency.Tests.KubernetesClient;

namespace KubeConsistency.Tests.Client;

/// <summary>
/// An application's source-generated model is decoded directly too (issue 13: the POCO path), where the contract
/// keeps its properties' setters: every object and failure equals the serializer's own.
/// </summary>
public sealed class DirectPocoDecodingTests
{
    private static readonly JsonTypeInfo<TestPod> Pod = TestJsonContext.Default.TestPod;

    [Fact]
    public void A_source_generated_contract_is_decoded_directly_and_one_with_a_modifier_is_not()
    {
        Assert.True(DirectDecoding.KeepsPropertySetters(Pod));
        Assert.NotNull(DirectDecoding.For(Pod));
        Assert.NotNull(WatchIdentities.FromContract(Pod));

        // A modifier could replace a setter the direct decode would bypass.
        var modified = new JsonSerializerOptions { TypeInfoResolver = TestJsonContext.Default.WithAddedModifier(static _ => { }) };
        modified.MakeReadOnly();
        Assert.False(DirectDecoding.KeepsPropertySetters(modified.GetTypeInfo(typeof(TestPod))));

        // A contract that is not its options' own (DirectDecoding builds from the options).
        var detached = JsonTypeInfo.CreateJsonTypeInfo<TestPod>(TestJsonContext.Default.Options);
        Assert.False(DirectDecoding.KeepsPropertySetters(detached));
    }

    [Fact]
    public void Property_a_source_generated_pod_decoded_directly_gives_the_serializers_object_or_error()
    {
        var direct = DirectDecoding.For(Pod)!;
        var property = Prop.ForAll(Arb.From(DirectWatchDecodingTests.PodJson), json =>
        {
            var expected = Outcome(() => JsonSerializer.Deserialize(json, Pod));
            using var decoder = new StreamingObjectDecoder<TestPod>(Pod, direct);
            var actual = Outcome(() => decoder.Decode(System.Text.Encoding.UTF8.GetBytes(json)));
            return (actual == expected).Label($"{json}\nexpected {expected}\nactual   {actual}");
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500).WithQuietOnSuccess(true), property);
    }

    private static string Outcome(Func<TestPod?> decode)
    {
        try
        {
            return decode() is { } pod ? "ok:" + JsonSerializer.Serialize(pod, Pod) : "ok:null";
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            return e.GetType().Name + ":" + e.Message;
        }
    }
}
