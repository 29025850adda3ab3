using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using k8s;
using k8s.Models;
using KubeConsistency.Http;
using KubeConsistency.Client;
using KubeConsistency.KubernetesClient;
using WatchEventType = KubeConsistency.Client.WatchEventType;

namespace KubeConsistency.Tests.KubernetesClient;

/// <summary>
/// Watch objects of KubernetesClient's models go through <see cref="DirectDecoding"/> (issue 13: faster decoding is
/// fair game as long as the objects a user gets are the same): every decode, and every failure, equals the
/// serializer's own.
/// </summary>
public sealed class DirectWatchDecodingTests
{
    private static readonly JsonSerializerOptions Plain = KubernetesClientConnections.JsonOptions;

    public static TheoryData<bool, bool> Combinations => new() { { false, false }, { false, true }, { true, false }, { true, true } };

    [Theory]
    [MemberData(nameof(Combinations))]
    public void Every_decoding_combination_of_the_models_builds_a_direct_contract(bool skipManagedFields, bool deduplicateValues)
    {
        Assert.True(KubernetesDecoding.DecodesWatchDirectly);
        var options = KubernetesDecoding.For(new KubernetesResourceOptions { SkipManagedFields = skipManagedFields, DeduplicateValues = deduplicateValues });
        Assert.NotNull(DirectDecoding.TryCreate(options, typeof(V1Pod)));
        Assert.NotNull(DirectDecoding.TryCreate(options, typeof(PartialObjectMetadata)));
        Assert.NotNull(DirectDecoding.TryCreate(options, typeof(V1ConfigMap)));
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public void Property_direct_decoding_gives_the_serializers_objects_and_errors(bool skipManagedFields, bool deduplicateValues)
    {
        var typeInfo = (System.Text.Json.Serialization.Metadata.JsonTypeInfo<V1Pod>)KubernetesDecoding
            .For(new KubernetesResourceOptions { SkipManagedFields = skipManagedFields, DeduplicateValues = deduplicateValues })
            .GetTypeInfo(typeof(V1Pod));
        var direct = DirectDecoding.For(typeInfo)!;
        var property = Prop.ForAll(Arb.From(PodJson), json =>
        {
            var expected = Outcome(() => JsonSerializer.Deserialize(json, typeInfo));
            using var decoder = new StreamingObjectDecoder<V1Pod>(typeInfo, direct);
            var viaDecoder = Outcome(() => decoder.Decode(System.Text.Encoding.UTF8.GetBytes(json)));

            // The decoder's fallback would hide a direct decode that fails where the serializer's succeeds.
            var alone = Outcome(() => JsonSerializer.Deserialize(json, direct));
            return (viaDecoder == expected && alone.StartsWith("ok:", StringComparison.Ordinal) == expected.StartsWith("ok:", StringComparison.Ordinal))
                .Label($"{json}\nexpected {expected}\ndecoder  {viaDecoder}\nalone    {alone}");
        });

        // Duplicate members with a null second are about one case in a hundred; 500 cases catch such a rule.
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500).WithQuietOnSuccess(true), property);
    }

    [Fact]
    public void A_pod_as_kube_apiserver_serves_it_decodes_directly_to_kubernetes_clients_object()
    {
        var json = """
            {"kind":"Pod","apiVersion":"v1","metadata":{"name":"web-1","namespace":"default","uid":"6f1c2a9e","resourceVersion":"42",
            "creationTimestamp":"2026-01-15T10:00:00Z","labels":{"app":"web"},"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web","uid":"u1","controller":true}],
            "managedFields":[{"manager":"kubelet","operation":"Update","apiVersion":"v1","time":"2026-01-15T10:00:09Z","fieldsType":"FieldsV1","fieldsV1":{"f:status":{"f:phase":{}}}}]},
            "spec":{"containers":[{"name":"web","image":"nginx","ports":[{"containerPort":8080,"protocol":"TCP"}],"resources":{"limits":{"cpu":"500m","memory":"128Mi"}}}],
            "terminationGracePeriodSeconds":30,"securityContext":{}},
            "status":{"phase":"Running","podIP":"10.0.0.1","conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2026-01-15T10:00:09Z"}],"startTime":"2026-01-15T10:00:01Z"}}
            """;
        var typeInfo = (System.Text.Json.Serialization.Metadata.JsonTypeInfo<V1Pod>)KubernetesDecoding.For(null).GetTypeInfo(typeof(V1Pod));
        var pod = JsonSerializer.Deserialize(json, DirectDecoding.For(typeInfo)!)!;
        Assert.Equal(JsonSerializer.Serialize(JsonSerializer.Deserialize(json, typeInfo), Plain), JsonSerializer.Serialize(pod, Plain));
        Assert.Equal(8080, pod.Spec.Containers[0].Ports[0].ContainerPort);
        Assert.Equal(new DateTime(2026, 1, 15, 10, 0, 9, DateTimeKind.Utc), pod.Status.Conditions[0].LastTransitionTime);
        Assert.Equal("500m", pod.Spec.Containers[0].Resources.Limits["cpu"].ToString());
        Assert.IsType<List<V1Container>>(pod.Spec.Containers);

        // Short lists get arrays of their own length (the serializer's List starts at 4 slots).
        Assert.Equal(1, ((List<V1Container>)pod.Spec.Containers).Capacity);
        Assert.Equal(1, ((List<V1PodCondition>)pod.Status.Conditions).Capacity);
        Assert.IsType<Dictionary<string, string>>(pod.Metadata.Labels);
    }

    [Theory]
    [InlineData("""{"spec":{"securityContext":{},"securityContext":null}}""")]
    [InlineData("""{"metadata":{"name":"a","n\u0061me":"b","labels":{"x":"1","x":"2"}}}""")]
    [InlineData("""{"spec":{"containers":[null,{"name":"c","args":[null,"a"]}]}}""")]
    public void Nulls_duplicates_and_escaped_names_read_as_the_serializer_reads_them(string json)
    {
        var typeInfo = (System.Text.Json.Serialization.Metadata.JsonTypeInfo<V1Pod>)KubernetesDecoding.For(null).GetTypeInfo(typeof(V1Pod));
        var expected = JsonSerializer.Deserialize(json, typeInfo);
        var actual = JsonSerializer.Deserialize(json, DirectDecoding.For(typeInfo)!);
        Assert.Equal(JsonSerializer.Serialize(expected, Plain), JsonSerializer.Serialize(actual, Plain));
        Assert.Equal(expected?.Spec?.SecurityContext is null, actual?.Spec?.SecurityContext is null);
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public void Property_a_watch_line_read_in_one_pass_gives_the_scans_event_or_error(bool skipManagedFields, bool deduplicateValues)
    {
        var options = KubernetesDecoding.For(new KubernetesResourceOptions { SkipManagedFields = skipManagedFields, DeduplicateValues = deduplicateValues });
        var typeInfo = (System.Text.Json.Serialization.Metadata.JsonTypeInfo<V1Pod>)options.GetTypeInfo(typeof(V1Pod));
        var scanned = new WatchEventDecoder<V1Pod>(typeInfo, "Pod");
        var onePass = new WatchEventDecoder<V1Pod>(typeInfo, "Pod", identity: KubernetesDecoding.WatchIdentity<V1Pod>(options));
        AssertOnePassGivesTheScansOutcome(typeInfo, scanned, onePass, Gen.OneOf(WatchLine, ServedLine), static o => o?.Metadata?.ResourceVersion);
    }

    [Fact]
    public void A_line_as_kube_apiserver_writes_it_is_read_in_one_pass_and_others_by_the_scan()
    {
        var options = KubernetesDecoding.For(null);
        var typeInfo = (System.Text.Json.Serialization.Metadata.JsonTypeInfo<V1Pod>)options.GetTypeInfo(typeof(V1Pod));
        var decoder = new WatchEventDecoder<V1Pod>(typeInfo, "Pod", identity: KubernetesDecoding.WatchIdentity<V1Pod>(options));
        WatchEvent<V1Pod> Decode(string line)
        {
            using var objects = new StreamingObjectDecoder<V1Pod>(typeInfo, DirectDecoding.For(typeInfo)!);
            return decoder.Decode(System.Text.Encoding.UTF8.GetBytes(line), objects: objects);
        }

        const string Pod = """{"kind":"Pod","apiVersion":"v1","metadata":{"name":"a","resourceVersion":"42"},"spec":{"containers":[]}}""";
        var served = Decode($$"""{"type":"MODIFIED","object":{{Pod}}}""" + "\n");
        Assert.Equal(WatchEventType.Modified, served.Type);
        Assert.Equal("42", served.ResourceVersion);

        // Read in one pass: the event's resource version is the object's own string, not one a scan read beside it.
        Assert.Same(served.Object!.Metadata.ResourceVersion, served.ResourceVersion);

        // The type after the object: the scan decides, and a later type wins.
        var typeLast = Decode($$"""{"object":{{Pod}},"type":"ADDED"}""");
        Assert.Equal(WatchEventType.Added, typeLast.Type);
        Assert.NotSame(typeLast.Object!.Metadata.ResourceVersion, typeLast.ResourceVersion);
        Assert.Equal(WatchEventType.Bookmark, Decode($$"""{"type":"ADDED","object":{{Pod}},"type":"BOOKMARK"}""").Type);

        // A repeated kind or resource version: the scan sees every one, as without the pass.
        Assert.Contains("\"Table\"", Assert.Throws<WatchDecodeException>(() => Decode("""{"type":"ADDED","object":{"kind":"Table","kind":"Pod","metadata":{}}}""")).Message, StringComparison.Ordinal);
        Assert.Equal("2", Decode("""{"type":"ADDED","object":{"kind":"Pod","metadata":{"resourceVersion":"1","resourceVersion":"2"}}}""").ResourceVersion);
        Assert.Equal("1", Decode("""{"type":"ADDED","object":{"kind":"Pod","metadata":{"resourceVersion":"1"},"metadata":{"name":"b"}}}""").ResourceVersion);

        // Nested deeper than the options allow (64): the serializer's error, not a value the pass's reader took.
        var deep = string.Concat(Enumerable.Repeat("[", 70)) + string.Concat(Enumerable.Repeat("]", 70));
        var tooDeep = Assert.Throws<WatchDecodeException>(() => Decode($$$"""{"type":"ADDED","object":{"kind":"Pod","x":{{{deep}}}}}"""));
        Assert.Contains("depth", tooDeep.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Over_loopback_a_pods_watch_is_read_in_one_pass()
    {
        await using var h = await KubernetesClientHarness.StartAsync();
        var pods = h.Client.Resource<V1Pod>(new KubernetesResourceOptions { Namespace = "default" });
        var list = await pods.ListAsync(new ListOptions());
        using var stop = new CancellationTokenSource(KubernetesClientHarness.Guard);
        await using var events = pods.WatchAsync(new WatchOptions { ResourceVersion = list.ResourceVersion }, stop.Token).GetAsyncEnumerator(stop.Token);
        var next = events.MoveNextAsync();
        var created = await h.Client.CoreV1.CreateNamespacedPodAsync(
            new V1Pod { Metadata = new V1ObjectMeta { Name = "p" }, Spec = new V1PodSpec { Containers = [new V1Container { Name = "c", Image = "nginx" }] } },
            "default");
        Assert.True(await next);
        Assert.Equal(WatchEventType.Added, events.Current.Type);
        Assert.Equal(created.Metadata.ResourceVersion, events.Current.ResourceVersion);
        Assert.Same(events.Current.Object!.Metadata.ResourceVersion, events.Current.ResourceVersion);
    }

    [Fact]
    public void An_application_string_converter_turns_the_one_pass_off()
    {
        Assert.NotNull(KubernetesDecoding.WatchIdentity<V1Pod>(KubernetesDecoding.For(null)));
        Assert.NotNull(KubernetesDecoding.WatchIdentity<V1Pod>(KubernetesDecoding.For(new KubernetesResourceOptions { DeduplicateValues = false })));

        // Registered through KubernetesJson.AddJsonOptions, it decodes kind and resourceVersion; the scan reads the raw
        // text ("kind":"" is a wrong kind there, a null one here), so only the scan may decide.
        var options = new JsonSerializerOptions(KubernetesDecoding.For(null));
        options.Converters.Insert(0, new EmptyAsNullConverter());
        Assert.Null(KubernetesDecoding.WatchIdentity<V1Pod>(options));
    }

    [Fact]
    public void Property_a_metadata_only_watch_line_read_in_one_pass_gives_the_scans_event_or_error()
    {
        var options = KubernetesDecoding.For(null);
        var typeInfo = (System.Text.Json.Serialization.Metadata.JsonTypeInfo<PartialObjectMetadata>)options.GetTypeInfo(typeof(PartialObjectMetadata));
        var identity = KubernetesDecoding.WatchIdentity<PartialObjectMetadata>(options);
        Assert.NotNull(identity);

        // As HttpResourceClient builds it: PartialObjectMetadata, or the full kind from a server that ignores as=.
        var scanned = new WatchEventDecoder<PartialObjectMetadata>(typeInfo, PartialObjectMetadata.KubeKind, "Pod");
        var onePass = new WatchEventDecoder<PartialObjectMetadata>(typeInfo, PartialObjectMetadata.KubeKind, "Pod", identity);
        var lines = from line in Gen.OneOf(WatchLine, ServedLine)
                    from partial in Gen.Elements(false, true)
                    select partial ? line.Replace("\"kind\":\"Table\"", "\"kind\":\"PartialObjectMetadata\"", StringComparison.Ordinal) : line;
        AssertOnePassGivesTheScansOutcome(typeInfo, scanned, onePass, lines, static o => o?.Metadata?.ResourceVersion);
    }

    [Fact]
    public void A_converter_that_refuses_a_value_fails_with_the_serializers_message_and_path()
    {
        var options = new JsonSerializerOptions { TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver() };
        options.MakeReadOnly();
        var typeInfo = (System.Text.Json.Serialization.Metadata.JsonTypeInfo<Holder>)options.GetTypeInfo(typeof(Holder));
        var direct = DirectDecoding.For(typeInfo);
        Assert.NotNull(direct);
        var json = """{"inner":{"refused":"x"}}"""u8.ToArray();

        var expected = Assert.Throws<NotSupportedException>(() => JsonSerializer.Deserialize(json, typeInfo));
        Assert.Contains("$.inner.refused", expected.Message, StringComparison.Ordinal);

        // The direct decode alone knows no path below the root; the decoder gives the serializer's error instead.
        Assert.NotEqual(expected.Message, Assert.Throws<NotSupportedException>(() => JsonSerializer.Deserialize(json, direct!)).Message);
        using var decoder = new StreamingObjectDecoder<Holder>(typeInfo, direct);
        Assert.Equal(expected.Message, Assert.Throws<NotSupportedException>(() => decoder.Decode(json)).Message);
    }

    /// <summary>A model with a member whose converter refuses every value.</summary>
    public sealed class Holder
    {
        /// <summary>The nested object.</summary>
        [System.Text.Json.Serialization.JsonPropertyName("inner")]
        public Inner? Inner { get; set; }
    }

    /// <summary>The nested object of <see cref="Holder"/>.</summary>
    public sealed class Inner
    {
        /// <summary>A member nothing can decode.</summary>
        [System.Text.Json.Serialization.JsonPropertyName("refused")]
        [System.Text.Json.Serialization.JsonConverter(typeof(RefusingConverter))]
        public string? Refused { get; set; }
    }

    private sealed class RefusingConverter : System.Text.Json.Serialization.JsonConverter<string>
    {
        public override string Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => throw new NotSupportedException("refused");

        public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
    }

    private sealed class EmptyAsNullConverter : System.Text.Json.Serialization.JsonConverter<string>
    {
        public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.GetString() is { Length: > 0 } text ? text : null;

        public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
    }

    // 500 lines through the scan and through the one pass: the same event or error each time.
    private static void AssertOnePassGivesTheScansOutcome<T>(
        System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo, WatchEventDecoder<T> scanned, WatchEventDecoder<T> onePass, Gen<string> lines, Func<T?, string?> resourceVersion)
    {
        var direct = DirectDecoding.For(typeInfo)!;
        var read = 0;
        var property = Prop.ForAll(Arb.From(lines), line =>
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(line);
            using var first = new StreamingObjectDecoder<T>(typeInfo, direct);
            using var second = new StreamingObjectDecoder<T>(typeInfo, direct);
            var expected = EventOutcome(() => scanned.Decode(bytes, objects: first), resourceVersion, out _);
            var actual = EventOutcome(() => onePass.Decode(bytes, objects: second), resourceVersion, out var inOnePass);
            read += inOnePass ? 1 : 0;
            return (actual == expected).Label($"{line}\nexpected {expected}\nactual   {actual}");
        });

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500).WithQuietOnSuccess(true), property);

        // The property is only worth something if the pass itself ran: about a fifth of the lines are ones it takes.
        Assert.True(read >= 50, $"{read} of 500 lines were read in one pass");
    }

    private static string EventOutcome<T>(Func<WatchEvent<T>> decode, Func<T?, string?> resourceVersion, out bool inOnePass)
    {
        inOnePass = false;
        try
        {
            var e = decode();
            inOnePass = e.ResourceVersion.Length > 0 && ReferenceEquals(e.ResourceVersion, resourceVersion(e.Object));
            return $"ok:{e.Type}|{e.ResourceVersion}|{e.IsInitialEventsEnd}|{JsonSerializer.Serialize(e.Object, Plain)}";
        }
        catch (Exception ex) when (ex is KubernetesApiException or WatchDecodeException or FormatException or InvalidOperationException)
        {
            return ex.GetType().Name + ":" + ex.Message + "|" + ex.InnerException?.GetType().Name + ":" + ex.InnerException?.Message;
        }
    }

    private static string Outcome(Func<V1Pod?> decode)
    {
        try
        {
            return "ok:" + JsonSerializer.Serialize(decode(), Plain);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            // KubernetesClient's timestamp and quantity converters throw FormatException through either decode.
            return e.GetType().Name + ":" + e.Message;
        }
    }

    // Members present or absent, in any order, sometimes twice; values valid, null, escaped or of the wrong kind.
    internal static Gen<string> Object(params Gen<string>[] members) => Object(Gen.Elements(0, 1, 1, 2), members);

    // A member absent, once or twice (0, 1, 2) as `times` picks.
    internal static Gen<string> Object(Gen<int> times, params Gen<string>[] members) =>
        from chosen in Gen.CollectToArray(members.Select(member =>
            from include in times
            from value in member
            from again in member
            from order in Gen.Choose(0, 1000)
            select (include, value, again, order)))
        let picked = chosen.Where(c => c.include > 0).OrderBy(c => c.order)
            .SelectMany(c => c.include == 2 ? new[] { c.value, c.again } : new[] { c.value })
        select "{" + string.Join(",", picked) + "}";

    internal static Gen<string> Member(string name, params Gen<string>[] values) =>
        Gen.OneOf(values).Select(value => "\"" + name + "\":" + value);

    internal static Gen<string> Values(params string[] values) => Gen.Elements(values);

    private static Gen<string> Array(Gen<string> element, params string[] odd) =>
        Gen.OneOf(Gen.Frequency((4, Gen.Choose(0, 3)), (1, Gen.Choose(4, 7))).SelectMany(count => Gen.ListOf(element, count)).Select(items => "[" + string.Join(",", items) + "]"), Values(odd.Length == 0 ? ["null"] : odd));

    private static readonly Gen<string> Text = Values("\"a\"", "\"web\"", "\"a\\\"b\"", "\"\\u00e9t\\u00e9\"", "\"\"", "null", "5", "{}");
    private static readonly Gen<string> Time = Values("\"2026-01-15T10:00:00Z\"", "\"2026-01-15T10:00:00.123456Z\"", "null", "\"yesterday\"", "1");
    private static readonly Gen<string> Number = Values("0", "30", "-1", "null", "\"30\"", "1.5", "true");
    private static readonly Gen<string> Flag = Values("true", "false", "null", "\"true\"");
    private static readonly Gen<string> Quantity = Values("\"500m\"", "\"128Mi\"", "2", "null", "\"bogus\"");
    private static readonly Gen<string> Unknown = Values("\"zz\":{\"a\":[1,{\"b\":null}],\"c\":\"d\"}", "\"extra\":[]", "\"n\\u0061me\":\"escaped-name\"");
    private static readonly Gen<string> Map = Gen.OneOf(
        Object(Member("app", Text), Member("k8s.io/x", Values("\"v\"")), Member("e\\u00e9", Values("\"w\"", "null"))),
        Values("null", "[]"));

    private static readonly Gen<string> Container = Object(
        Member("name", Text),
        Member("image", Text),
        Member("args", Array(Text, "null", "\"x\"")),
        Member("ports", Array(Object(Member("containerPort", Number), Member("protocol", Text)))),
        Member("resources", Object(Member("limits", Object(Member("cpu", Quantity), Member("memory", Quantity))), Member("requests", Values("{}", "null")))),
        Member("env", Array(Object(Member("name", Text), Member("value", Text)))),
        Gen.Constant("\"unknownField\":{\"x\":1}"));

    private static readonly Gen<string> Metadata = Object(
        Member("name", Text),
        Member("namespace", Text),
        Member("resourceVersion", Text),
        Member("creationTimestamp", Time),
        Member("deletionGracePeriodSeconds", Number),
        Member("labels", Map),
        Member("annotations", Map),
        Member("ownerReferences", Array(Object(Member("uid", Text), Member("controller", Flag), Member("kind", Text)), "null", "[null]", "{}")),
        Member("managedFields", Array(Object(Member("manager", Text), Member("time", Time), Member("fieldsV1", Values("{\"f:spec\":{}}", "{}", "null", "[1]"))))),
        Unknown);

    // Present, and once, more often than in the objects above: a watch line's pass needs both, and a member at most once.
    private static readonly Gen<int> Rarely = Gen.Frequency((1, Gen.Constant(0)), (8, Gen.Constant(1)), (1, Gen.Constant(2)));

    // Watch lines: the type before or after the object, either one repeated or missing, and an object of the right
    // kind, another, a repeated one or none; then what may follow the envelope.
    private static Gen<string> WatchLine => Object(
            Rarely,
            Member("type", Gen.Frequency(
                (6, Values("\"ADDED\"", "\"MODIFIED\"", "\"DELETED\"")),
                (1, Values("\"BOOKMARK\"", "\"ERROR\"", "\"NOPE\"", "1", "null")))),
            Member("object", Gen.Frequency(
                (6, Object(
                    Rarely,
                    Member("kind", Values("\"Pod\"", "\"Pod\"", "\"Pod\"", "\"Pod\"", "\"P\\u006fd\"", "\"Table\"", "null", "1")),
                    Member("apiVersion", Values("\"v1\"")),
                    Member("metadata", Gen.Frequency(
                        (8, Object(Rarely, Member("name", Values("\"a\"")), Member("resourceVersion", Values("\"7\"", "\"8\"", "\"9\"", "\"10\"", "\"11\"", "null", "\"\"", "7")), Member("labels", Values("{\"a\":\"b\"}")))),
                        (1, Metadata),
                        (1, Values("null")))),
                    Member("spec", Values("{\"containers\":[{\"name\":\"c\"}]}", "{\"nodeName\":\"n\"}", "{\"nodeName\":5}", "null")),
                    Unknown)),
                (1, Values("null", "[]", "{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\"}")))),
            Gen.Constant("\"extra\":{\"a\":[1]}"))
        .SelectMany(envelope => Gen.Frequency((6, Values("", "\n", " ")), (1, Values("}", ",", "/*c*/", "{}", "x"))).Select(tail => envelope + tail));

    // Lines as kube-apiserver writes them: the type first, then a pod with a resource version.
    private static Gen<string> ServedLine =>
        from type in Values("ADDED", "MODIFIED", "DELETED")
        from rv in Values("1", "22", "4711")
        from labels in Map
        from containers in Array(Container, "null")
        select "{\"type\":\"" + type + "\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"a\",\"namespace\":\"d\",\"resourceVersion\":\""
            + rv + "\",\"labels\":" + labels + "},\"spec\":{\"containers\":" + containers + "},\"status\":{\"phase\":\"Running\"}}}";

    internal static readonly Gen<string> PodJson = Gen.OneOf(
        Object(
            Member("kind", Values("\"Pod\"")),
            Member("apiVersion", Values("\"v1\"")),
            Member("metadata", Gen.OneOf(Metadata, Values("null", "[]"))),
            Member("spec", Gen.OneOf(
                Object(
                    Member("containers", Array(Container, "null", "[null]", "{}")),
                    Member("nodeSelector", Map),
                    Member("terminationGracePeriodSeconds", Number),
                    Member("enableServiceLinks", Flag),
                    Member("securityContext", Values("{}", "{\"runAsUser\":1000}", "null"))),
                Values("null"))),
            Member("status", Object(
                Member("phase", Text),
                Member("podIP", Text),
                Member("startTime", Time),
                Member("conditions", Array(Object(Member("type", Text), Member("status", Text), Member("lastTransitionTime", Time)))),
                Member("containerStatuses", Array(Object(Member("name", Text), Member("ready", Flag), Member("restartCount", Number)))))),
            Unknown),
        Values("null", "[]", "\"pod\"", "{\"metadata\":{\"name\":\"a\"}} ", "{\"metadata\":{\"name\":\"a\"},}", "{\"metadata\":{\"name\":\"a\"}"));
}
