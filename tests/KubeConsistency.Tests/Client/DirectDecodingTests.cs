using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using KubeConsistency.Http;

namespace KubeConsistency.Tests.Client;

/// <summary>
/// <see cref="DirectDecoding"/> builds value converters only for contracts whose every feature it reproduces, and what
/// it builds reads as the serializer reads.
/// </summary>
public sealed class DirectDecodingTests
{
    [Fact]
    public void Contract_features_it_does_not_reproduce_keep_the_serializers_own_decode()
    {
        Assert.Null(DirectDecoding.TryCreate(Options(), typeof(WithRequired)));
        Assert.Null(DirectDecoding.TryCreate(Options(), typeof(WithExtensionData)));
        Assert.Null(DirectDecoding.TryCreate(Options(), typeof(Polymorphic)));
        Assert.Null(DirectDecoding.TryCreate(Options(), typeof(WithConstructor)));
        Assert.Null(DirectDecoding.TryCreate(Options(), typeof(WithArray)));

        // A type that refers to an unsupported one is refused whole.
        Assert.Null(DirectDecoding.TryCreate(Options(), typeof(Holder)));

        Assert.Null(DirectDecoding.TryCreate(Options(o => o.PropertyNameCaseInsensitive = true), typeof(Node)));
        Assert.Null(DirectDecoding.TryCreate(Options(o => o.ReferenceHandler = ReferenceHandler.Preserve), typeof(Node)));
        Assert.Null(DirectDecoding.TryCreate(Options(o => o.NumberHandling = JsonNumberHandling.AllowReadingFromString), typeof(Node)));
        Assert.Null(DirectDecoding.TryCreate(Options(o => o.AllowDuplicateProperties = false), typeof(Node)));
        Assert.Null(DirectDecoding.TryCreate(new JsonSerializerOptions { TypeInfoResolver = new DefaultJsonTypeInfoResolver() }, typeof(Node)));
        Assert.NotNull(DirectDecoding.TryCreate(Options(), typeof(Node)));
    }

    [Theory]
    [InlineData("""{"name":"a","children":[{"name":"b","children":[]},null],"tags":{"k":"v","k":"w"},"count":3,"computed":5}""")]
    [InlineData("""{"name":null,"tags":null,"children":null,"note":null}""")]
    [InlineData("""{"n\u0061me":"escaped","unknown":{"deep":[1,2,{"x":null}]},"name2":1}""")]
    [InlineData("""{"count":null}""")]
    [InlineData("""{"count":"3"}""")]
    [InlineData("""{"children":{}}""")]
    [InlineData("""{"numbers":[1,null]}""")]
    [InlineData("""{"numbers":[]}""")]
    [InlineData("""{"numbers":[1]}""")]
    [InlineData("""{"numbers":[1,2,3,4]}""")]
    [InlineData("""{"numbers":[1,2,3,4,5]}""")]
    [InlineData("""{"numbers":[1,2,3,4,5,6,7,8,9,10,11]}""")]
    [InlineData("""{"name":"a"} x""")]
    [InlineData("""[]""")]
    [InlineData("""null""")]
    public void A_self_referring_graph_reads_as_the_serializer_reads_it(string json)
    {
        var options = Options();
        var direct = DirectDecoding.TryCreate(options, typeof(Node))!;
        Assert.Equal(Outcome(() => JsonSerializer.Deserialize(json, options.GetTypeInfo(typeof(Node)))), Outcome(() => JsonSerializer.Deserialize(json, direct)));
    }

    [Theory]
    [InlineData("""{"cpu":null}""")]
    [InlineData("""{"cpu":"1"}""")]
    [InlineData("""{"finalizers":["a"]}""")]
    [InlineData("""{"lazy":{"a":1}}""")]
    [InlineData("""{"lazy":"s"}""")]
    public void Converter_and_member_rules_around_each_value_are_the_serializers(string json)
    {
        // A struct converter whose HandleNull is false, a collection with a setter but no getter, a converter that
        // leaves an object unread.
        var options = Options();
        var direct = DirectDecoding.TryCreate(options, typeof(Edge))!;
        Assert.Equal(Outcome(() => JsonSerializer.Deserialize(json, options.GetTypeInfo(typeof(Edge)))), Outcome(() => JsonSerializer.Deserialize(json, direct)));
    }

    [Fact]
    public void A_collection_created_otherwise_than_plainly_keeps_the_serializers_decode()
    {
        var resolver = new DefaultJsonTypeInfoResolver();
        resolver.Modifiers.Add(static info =>
        {
            if (info.Type == typeof(Dictionary<string, string?>))
            {
                info.CreateObject = static () => new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            }
        });
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, TypeInfoResolver = resolver };
        options.MakeReadOnly();
        Assert.Null(DirectDecoding.TryCreate(options, typeof(Node)));
    }

    [Fact]
    public void Dictionary_keys_go_through_a_custom_string_converter_as_the_serializers_do()
    {
        var options = Options(o => o.Converters.Add(new DeduplicatingStringConverter()));
        var direct = DirectDecoding.TryCreate(options, typeof(Node))!;
        var key = "key-" + Guid.NewGuid().ToString("N");
        var json = "{\"tags\":{\"" + key + "\":\"v\"}}";
        Assert.Equal(Outcome(() => JsonSerializer.Deserialize(json, options.GetTypeInfo(typeof(Node)))), Outcome(() => JsonSerializer.Deserialize(json, direct)));

        // The converter shares the key text: a later decode finds the first one's instance (a slot may be taken by
        // a parallel test's value in between, so a later pair must share).
        var keys = Enumerable.Range(0, 5).Select(_ => ((Node)JsonSerializer.Deserialize(json, direct)!).Tags!.Keys.Single()).ToArray();
        Assert.Contains(keys.Zip(keys.Skip(1)), pair => ReferenceEquals(pair.First, pair.Second));
    }

    [Fact]
    public void Callbacks_run_and_constructor_defaults_are_replaced_as_the_serializer_does()
    {
        var node = (Node)JsonSerializer.Deserialize("""{"note":null,"name":"x"}""", DirectDecoding.TryCreate(Options(), typeof(Node))!)!;
        Assert.Null(node.Note);
        Assert.Equal(["deserializing", "deserialized x"], node.Calls);
    }

    private static string Outcome(Func<object?> decode)
    {
        try
        {
            return "ok:" + JsonSerializer.Serialize(decode(), Options());
        }
        catch (JsonException)
        {
            return "JsonException";
        }
    }

    private static JsonSerializerOptions Options(Action<JsonSerializerOptions>? configure = null)
    {
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, TypeInfoResolver = new DefaultJsonTypeInfoResolver() };
        configure?.Invoke(options);
        options.MakeReadOnly();
        return options;
    }

    public sealed class Node : IJsonOnDeserializing, IJsonOnDeserialized
    {
        public string? Name { get; set; }

        public IList<Node?>? Children { get; set; }

        public Dictionary<string, string?>? Tags { get; set; }

        public List<int>? Numbers { get; set; }

        public int Count { get; set; }

        public string? Note { get; set; } = "set by the constructor";

        public int Computed => 7;

        [JsonIgnore]
        public List<string> Calls { get; } = [];

        public void OnDeserializing() => Calls.Add("deserializing");

        public void OnDeserialized() => Calls.Add("deserialized " + Name);
    }

    public sealed class Edge
    {
        public Quantity Cpu { get; set; }

        public List<string>? Finalizers { set => Stored = value; }

        public List<string>? Stored { get; set; }

        [JsonConverter(typeof(UnderReadingConverter))]
        public string? Lazy { get; set; }
    }

    [JsonConverter(typeof(QuantityConverter))]
    public readonly record struct Quantity(string Text);

    public sealed class QuantityConverter : JsonConverter<Quantity>
    {
        public override bool HandleNull => false;

        public override Quantity Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? default : new(reader.GetString()!);

        public override void Write(Utf8JsonWriter writer, Quantity value, JsonSerializerOptions options) => writer.WriteStringValue(value.Text);
    }

    public sealed class UnderReadingConverter : JsonConverter<string>
    {
        // Returns at the start of an object instead of reading to its end.
        public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.String ? reader.GetString() : "unread";

        public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
    }

    public sealed class WithRequired
    {
        [JsonRequired]
        public string? Name { get; set; }
    }

    public sealed class WithExtensionData
    {
        [JsonExtensionData]
        public Dictionary<string, JsonElement>? Rest { get; set; }
    }

    [JsonPolymorphic]
    [JsonDerivedType(typeof(Polymorphic), "base")]
    public class Polymorphic
    {
        public string? Name { get; set; }
    }

    public sealed class WithConstructor(string name)
    {
        public string Name { get; } = name;
    }

    public sealed class WithArray
    {
        public int[]? Values { get; set; }
    }

    public sealed class Holder
    {
        public WithArray? Inner { get; set; }
    }
}
