using System.Text.Json.Nodes;
using System.Threading.Channels;
using KubeConsistency.Cache;
using KubeConsistency.Client;
using KubeConsistency.Http;
using KubeConsistency.Informers;
using KubeConsistency.Testing;
using KubeConsistency.Tests.Client;
using Pod = KubeConsistency.Tests.Client.TestPod;

namespace KubeConsistency.Tests.Integration;

/// <summary>An embedded API server plus a typed pod informer over real loopback HTTP.</summary>
public sealed class IntegrationHarness : IAsyncDisposable
{
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    private readonly CancellationTokenSource _stop = new();

    private IntegrationHarness(EmbeddedApiServer server, TimeProvider informerTime)
    {
        Server = server;
        InformerTime = informerTime;
        Connection = KubernetesConnection.ForServer(server.BaseAddress, new KubernetesConnectionOptions { TimeProvider = informerTime });
        Pods = Connection.Resource(new ResourceClientOptions<Pod> { Resource = GroupVersionResource.Pods, Kind = "Pod", Namespace = null, TypeInfo = TestJsonContext.Default.TestPod });
    }

    public EmbeddedApiServer Server { get; }

    public TimeProvider InformerTime { get; }

    public KubernetesConnection Connection { get; }

    public IResourceClient<Pod> Pods { get; }

    public ISharedIndexInformer<Pod> Informer { get; private set; } = null!;

    public EventChannel Events { get; } = new();

    public Task? Run { get; private set; }

    public static async Task<IntegrationHarness> StartAsync(
        Func<SharedIndexInformerOptions<Pod>, SharedIndexInformerOptions<Pod>>? configureInformer = null,
        Action<EmbeddedApiServerOptions>? configureServer = null,
        Action<IntegrationHarness>? beforeStart = null,
        TimeProvider? informerTime = null,
        bool start = true)
    {
        var serverOptions = new EmbeddedApiServerOptions { EnforceNamespaceLifecycle = false };
        configureServer?.Invoke(serverOptions);
        var server = await EmbeddedApiServer.StartAsync(serverOptions);
        var h = new IntegrationHarness(server, informerTime ?? TimeProvider.System);
        var options = new SharedIndexInformerOptions<Pod>
        {
            Resource = GroupVersionResource.Pods,
            TimeProvider = h.InformerTime,
            Random = () => 0.0,
            UseWatchList = false,
            Indexers = new Dictionary<string, IndexFunc<Pod>> { [Indexes.Namespace] = Indexes.ByNamespace<Pod>() },
        };
        options = configureInformer?.Invoke(options) ?? options;
        h.Informer = SharedIndexInformer.Create(h.Pods, options);
        h.Informer.AddEventHandler(h.Events);
        beforeStart?.Invoke(h);
        if (start)
        {
            h.Start();
        }

        return h;
    }

    public void Start() => Run = Informer.RunAsync(_stop.Token);

    public JsonObject CreatePod(string name, string ns = "ns", Dictionary<string, string>? labels = null)
    {
        var metadata = new JsonObject { ["name"] = name, ["namespace"] = ns };
        if (labels is not null)
        {
            metadata["labels"] = new JsonObject(labels.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
        }

        return Server.Objects.Create(ApiResourceDefinition.Pods, new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = metadata,
            ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "c", ["image"] = "nginx:1.27" }) },
        });
    }

    public static string Rv(JsonObject obj) => obj["metadata"]!["resourceVersion"]!.GetValue<string>();

    /// <summary>The server's pods as key → RV.</summary>
    public Dictionary<string, string> ServerPods() =>
        Server.Objects.List(ApiResourceDefinition.Pods).Items.ToDictionary(
            p => p["metadata"]!["namespace"]!.GetValue<string>() + "/" + p["metadata"]!["name"]!.GetValue<string>(),
            Rv);

    /// <summary>The informer's pods as key → RV.</summary>
    public Dictionary<string, string> CachedPods() =>
        Informer.Indexer.List().ToDictionary(p => p.Metadata!.Namespace + "/" + p.Metadata.Name, p => p.Metadata!.ResourceVersion!);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (Run is not null)
        {
            await Run.WaitAsync(Guard); // clean shutdown: reflector, consumer and handler tasks all ended
        }

        Connection.Dispose();
        await Server.DisposeAsync();
        _stop.Dispose();
    }
}

/// <summary>Publishes handler calls ("add ns/name@rv", "update …", "delete …") to an awaitable channel.</summary>
public sealed class EventChannel : IResourceEventHandler<Pod>
{
    private readonly Channel<string> _events = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = false });

    public void OnAdd(Pod obj, bool isInInitialList) => _events.Writer.TryWrite($"add {Key(obj)}@{obj.Metadata?.ResourceVersion}{(isInInitialList ? " initial" : "")}");

    public void OnUpdate(Pod oldObj, Pod newObj) => _events.Writer.TryWrite($"update {Key(newObj)}@{newObj.Metadata?.ResourceVersion}");

    public void OnDelete(object obj) => _events.Writer.TryWrite(obj switch
    {
        DeletedFinalStateUnknown<Pod> t => $"delete-tombstone {t.Key}",
        Pod p => $"delete {Key(p)}@{p.Metadata?.ResourceVersion}",
        _ => "delete ?",
    });

    public async Task<string> NextAsync() => await _events.Reader.ReadAsync().AsTask().WaitAsync(IntegrationHarness.Guard);

    public async Task<List<string>> NextAsync(int count)
    {
        var result = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            result.Add(await NextAsync());
        }

        return result;
    }

    /// <summary>Reads events until one matches, returning everything read.</summary>
    public async Task<List<string>> UntilAsync(Func<string, bool> match)
    {
        var seen = new List<string>();
        while (true)
        {
            var e = await NextAsync();
            seen.Add(e);
            if (match(e))
            {
                return seen;
            }
        }
    }

    /// <summary>Whether more than <paramref name="count"/> events are buffered right now (without consuming them).</summary>
    public bool TryPeekBeyond(int count) => _events.Reader.Count > count;

    private static string Key(Pod p) => p.Metadata?.Namespace + "/" + p.Metadata?.Name;
}
