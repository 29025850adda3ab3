using System.Text.Json.Nodes;
using System.Threading.Channels;
using KubeConsistency.Client;
using KubeConsistency.Consistency;
using KubeConsistency.Controllers;
using KubeConsistency.Http;
using KubeConsistency.Informers;
using KubeConsistency.Metrics;
using KubeConsistency.Testing;
using KubeConsistency.Testing.ApiServer;
using KubeConsistency.Tests.Controllers.WorkQueue;

namespace KubeConsistency.Tests.Controllers;

/// <summary>
/// The staleness mitigation end to end (KK-IT's scenario): a one-replica ReplicaSet-like controller, a real informer over a
/// real watch whose pod events the API server holds back, the work-queue host, pod control and the gate.
/// </summary>
public sealed class StalenessEndToEndTests
{
    private const string Ns = "default";

    [Fact]
    public async Task Section8_6_with_the_gate_a_lagging_cache_defers_the_sync_instead_of_creating_a_second_pod()
    {
        await using var scenario = await Scenario.StartAsync(gated: true);

        // Sync 1 creates the pod; its watch event is held back by the server.
        Assert.Equal(0, await scenario.SyncAsync());
        await scenario.Server.Faults.WaitForDelayedWatchStreamsAsync(1).WaitAsync(ControllerTest.Guard);
        Assert.Equal(1, scenario.PodCount);

        // Sync 2 runs against a cache that has not seen the pod: deferred, nothing read, nothing written.
        Assert.Equal(Scenario.Skipped, await scenario.SyncAsync());
        Assert.Equal(1, scenario.PodCount);

        // The server delivers the event; the pod handler enqueues the owner; sync 3 sees the pod and creates nothing.
        scenario.ServerTime.Advance(Scenario.WatchDelay);
        Assert.Equal(1, await scenario.NextResultAsync());
        Assert.Equal(1, scenario.PodCount);

        var text = scenario.Exporter.Collect();
        Assert.Contains("# TYPE replicaset_controller_stale_sync_skips_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains("replicaset_controller_stale_sync_skips_total{group=\"\",resource=\"pods\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains($"workqueue_adds_total{{name=\"{scenario.Name}\"}} 3\n", text, StringComparison.Ordinal);
        Assert.Contains($"workqueue_depth{{name=\"{scenario.Name}\"}} ", text, StringComparison.Ordinal);
        Assert.Contains($"informer_store_resource_version{{group=\"\",name=\"{scenario.Name}\",resource=\"pods\",version=\"v1\"}} ", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_the_gate_the_same_lag_makes_the_controller_create_a_second_pod()
    {
        await using var scenario = await Scenario.StartAsync(gated: false);

        Assert.Equal(0, await scenario.SyncAsync());
        await scenario.Server.Faults.WaitForDelayedWatchStreamsAsync(1).WaitAsync(ControllerTest.Guard);

        // The stale cache still shows no pod, so the controller creates another one: the bug the gate prevents.
        Assert.Equal(0, await scenario.SyncAsync());
        Assert.Equal(2, scenario.PodCount);
    }

    private sealed class Scenario : IAsyncDisposable
    {
        public const int Skipped = -1;
        public static readonly TimeSpan WatchDelay = TimeSpan.FromSeconds(30);

        private readonly CancellationTokenSource _stop = new();
        private readonly Channel<int> _results = Channel.CreateUnbounded<int>();
        private readonly TestMeterFactory _meters = new();
        private KubernetesConnection _connection = null!;
        private Task _informerRun = Task.CompletedTask;
        private Task _controllerRun = Task.CompletedTask;
        private IController _controller = null!;

        public string Name { get; } = ControllerTest.UniqueName("rs");

        public ManualTimeProvider ServerTime { get; } = new();

        public EmbeddedApiServer Server { get; private set; } = null!;

        public PrometheusTextExporter Exporter { get; private set; } = null!;

        public int PodCount => Server.Objects.List(ApiResourceDefinition.Pods, Ns).Items.Count;

        public static async Task<Scenario> StartAsync(bool gated)
        {
            var s = new Scenario();
            await s.InitializeAsync(gated);
            return s;
        }

        /// <summary>Enqueues the owner and returns what its sync did: the pods it saw, or <see cref="Skipped"/>.</summary>
        public Task<int> SyncAsync()
        {
            _controller.Queue.Add(Ns + "/web");
            return NextResultAsync();
        }

        public Task<int> NextResultAsync() => _results.Reader.NextAsync();

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _controllerRun.WaitAsync(ControllerTest.Guard);
            await _informerRun.WaitAsync(ControllerTest.Guard);
            Exporter.Dispose();
            _connection.Dispose();
            await Server.DisposeAsync();
            _meters.Dispose();
            _stop.Dispose();
        }

        private static JsonObject BuildPod(PodCreateRequest request) => new()
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["namespace"] = request.Namespace,
                ["generateName"] = request.GenerateName,
                ["labels"] = new JsonObject(request.Labels.Select(l => KeyValuePair.Create(l.Key, (JsonNode?)JsonValue.Create(l.Value)))),
                ["ownerReferences"] = new JsonArray(new JsonObject
                {
                    ["apiVersion"] = request.ControllerRef.ApiVersion,
                    ["kind"] = request.ControllerRef.Kind,
                    ["name"] = request.ControllerRef.Name,
                    ["uid"] = request.ControllerRef.Uid,
                    ["controller"] = request.ControllerRef.Controller,
                    ["blockOwnerDeletion"] = request.ControllerRef.BlockOwnerDeletion,
                }),
            },
            ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "app", ["image"] = "nginx" }) },
        };

        private async Task InitializeAsync(bool gated)
        {
            Exporter = PrometheusTextExporter.Create(new PrometheusTextExporterOptions { MeterFactory = _meters });
            Server = await EmbeddedApiServer.StartAsync(new EmbeddedApiServerOptions { TimeProvider = ServerTime });
            Server.Faults.SetWatchDelay("", "pods", WatchDelay);
            var owner = Server.Objects.Create(ApiResourceDefinition.ReplicaSets, new JsonObject
            {
                ["metadata"] = new JsonObject { ["name"] = "web", ["namespace"] = Ns },
                ["spec"] = new JsonObject { ["replicas"] = 1, ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "web" } } },
            });
            var ownerUid = owner["metadata"]!["uid"]!.GetValue<string>();
            var controllerRef = OwnerReference.NewControllerRef("apps/v1", "ReplicaSet", "web", ownerUid);

            _connection = KubernetesConnection.ForServer(Server.BaseAddress);
            var pods = _connection.Resource(new ResourceClientOptions<JsonObject> { Resource = GroupVersionResource.Pods, Kind = "Pod", Namespace = Ns });
            var informer = SharedIndexInformer.Create(pods, new SharedIndexInformerOptions<JsonObject>
            {
                Name = Name,
                AtomicFifo = true,
                UseWatchList = false,
                MeterFactory = _meters,
            });
            var gate = StalenessGate.Create(new StalenessGateOptions
            {
                ControllerName = "replicaset_controller",
                ConsistencyStore = gated ? ConsistencyStore.Create([new(GroupResource.Pods, informer.Indexer)]) : ConsistencyStore.Noop,
                MeterFactory = _meters,
            });
            var podControl = PodControl.Create(new PodControlOptions<JsonObject> { Pods = pods, Gate = gate });
            var accessor = ObjectMetadataAccessor<JsonObject>.Default;
            var selector = LabelSelector.FromSet(new Dictionary<string, string> { ["app"] = "web" });

            _controller = Controller.Create(new ControllerOptions { Name = Name, TimeProvider = new ManualTimeProvider(), MeterFactory = _meters }, async (key, ct) =>
            {
                var ownerName = NamespacedName.FromKey(key);
                if (gate.EnsureReady(ownerName) is { } stale)
                {
                    _results.Writer.TryWrite(Skipped);
                    return ReconcileResult.StaleSyncSkipped(stale);
                }

                var owned = informer.Indexer.List().Count(p => accessor.GetControllerOf(p)?.Uid == ownerUid && selector.Matches(accessor.GetLabels(p)));
                if (owned < 1)
                {
                    await podControl.CreatePodAsync(ownerName.Namespace, controllerRef, new Dictionary<string, string> { ["app"] = "web" }, BuildPod, ct);
                }

                _results.Writer.TryWrite(owned);
                return ReconcileResult.Done;
            });
            var registration = informer.AddEventHandler(EnqueueHandlers.ForControllerOwner<JsonObject>(_controller.Queue, "apps", "ReplicaSet"));

            _informerRun = informer.RunAsync(_stop.Token);
            await informer.WaitForSyncAsync().WaitAsync(ControllerTest.Guard);
            await Server.Faults.WaitForOpenWatchesAsync("", "pods").WaitAsync(ControllerTest.Guard);
            _controllerRun = _controller.RunAsync([registration], _stop.Token);
        }
    }
}
