using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using KubeConsistency.Cache;
using KubeConsistency.Client;
using KubeConsistency.Http;
using KubeConsistency.Informers;

namespace KubeConsistency.Benchmarks.Sync;

/// <summary>
/// <c>client</c>: a fresh process that runs one informer over all namespaces until it has synced, checks the
/// store, and prints <c>@RESULT {json}</c> with this process's own wall time, CPU, memory, GC and JIT figures.
/// With <c>--watch-events E</c> it then stays subscribed, prints <c>@SYNCED</c> and measures how fast E updates
/// reach a counting handler; with <c>--drain</c> it waits for <c>go</c> on stdin first, answers <c>@ARMED</c>, and
/// the server then releases a held backlog of E events.
/// </summary>
internal static class ClientMode
{
    /// <summary>The models a client child decodes (<c>--model</c>); the orchestrator checks them before seeding a server.</summary>
    public static readonly string[] Models = ["typed", "node", "k8s", "meta", "kclient"];

    /// <summary>Throws unless <paramref name="model"/> is one of <see cref="Models"/>.</summary>
    public static void RequireModel(string model)
    {
        if (!Models.Contains(model))
        {
            throw new ArgumentException($"--model {model}: must be one of {string.Join(", ", Models)}");
        }
    }

    public static async Task<int> RunAsync(Args args)
    {
        var model = args.String("model", "typed");
        RequireModel(model);
        return model switch
        {
            "typed" => await RunAsync(args, TypedInfo(args), model),
            "node" => await RunAsync(args, BenchJsonContext.Default.JsonNode, model),

            // KubernetesClient's k8s.Models.V1Pod, decoded with KubernetesClient's own serializer options, as
            // KubeConsistency.KubernetesClient's informers decode it.
            // --skip-managed-fields / --no-dedup: KubernetesResourceOptions.SkipManagedFields / DeduplicateValues = false;
            // --transform forcache: KubernetesTransforms.ForCache, which (as in CreateInformer) also skips decoding managedFields.
            "k8s" => await RunAsync(args, K8sInfo(args, K8sTransform(args)), model, K8sTransform(args)),

            // A metadata-only informer (client-go's metadatainformer): PartialObjectMetadata with KubernetesClient's
            // V1ObjectMeta, asked for with the as=PartialObjectMetadata(List) Accept headers. Same decode options.
            "meta" => await RunAsync(args, MetaInfo(args, MetaTransform(args)), model, MetaTransform(args), metadataOnly: true),

            // What a C# user writes today with KubernetesClient alone: one LIST into a dictionary, then a watch.
            "kclient" => await KubernetesClientPeer.RunAsync(args),
            _ => throw new System.Diagnostics.UnreachableException(),
        };
    }

    internal static JsonTypeInfo<k8s.Models.V1Pod> K8sInfo(Args args, Delegate? transform = null) =>
        (JsonTypeInfo<k8s.Models.V1Pod>)KubeConsistency.KubernetesClient.KubernetesDecoding.For(DecodeOptions(args, transform)).GetTypeInfo(typeof(k8s.Models.V1Pod));

    internal static JsonTypeInfo<KubeConsistency.KubernetesClient.PartialObjectMetadata> MetaInfo(Args args, Delegate? transform = null) =>
        (JsonTypeInfo<KubeConsistency.KubernetesClient.PartialObjectMetadata>)KubeConsistency.KubernetesClient.KubernetesDecoding.For(DecodeOptions(args, transform))
            .GetTypeInfo(typeof(KubeConsistency.KubernetesClient.PartialObjectMetadata));

    // The decode options CreateInformer would pick for these flags and this transform.
    private static KubeConsistency.KubernetesClient.KubernetesResourceOptions DecodeOptions(Args args, Delegate? transform) =>
        KubeConsistency.KubernetesClient.KubernetesClientExtensions.DecodingFor(
            new KubeConsistency.KubernetesClient.KubernetesResourceOptions
            {
                SkipManagedFields = args.Flag("skip-managed-fields"),
                DeduplicateValues = !args.Flag("no-dedup"),
            },
            transform)!;

    private static Func<KubeConsistency.KubernetesClient.PartialObjectMetadata, KubeConsistency.KubernetesClient.PartialObjectMetadata>? MetaTransform(Args args) =>
        args.String("transform") is "forcache" ? KubeConsistency.KubernetesClient.KubernetesTransforms.ForCache<KubeConsistency.KubernetesClient.PartialObjectMetadata>() : null;

    private static Func<k8s.Models.V1Pod, k8s.Models.V1Pod>? K8sTransform(Args args) => args.String("transform") switch
    {
        null or "none" => null,
        "forcache" => KubeConsistency.KubernetesClient.KubernetesTransforms.ForCache<k8s.Models.V1Pod>(),
        var t => throw new ArgumentException($"--transform must be none or forcache, not '{t}'"),
    };

    internal static JsonTypeInfo<BenchPod> TypedInfo(Args args)
    {
        // --dedup-strings: the library's DeduplicatingStringConverter and DeduplicatingJsonElementConverter (shared repeated values).
        JsonSerializerContext context = args.Flag("dedup-strings") ? BenchDedupJsonContext.Default : BenchJsonContext.Default;
        if (!args.Flag("case-insensitive"))
        {
            return (JsonTypeInfo<BenchPod>)context.GetTypeInfo(typeof(BenchPod))!;
        }

        // Like KubernetesJsonDefaults (JsonSerializerDefaults.Web): case-insensitive member matching.
        var options = new JsonSerializerOptions(context.Options) { PropertyNameCaseInsensitive = true, TypeInfoResolver = context };
        options.MakeReadOnly();
        return (JsonTypeInfo<BenchPod>)options.GetTypeInfo(typeof(BenchPod));
    }

    private static async Task<int> RunAsync<T>(Args args, JsonTypeInfo<T> typeInfo, string model, Func<T, T>? transform = null, bool metadataOnly = false)
        where T : class
    {
        var url = new Uri(args.String("url") ?? throw new ArgumentException("--url is required"));
        var path = args.String("path", "list");
        var expected = args.Int("objects", -1);
        var useIndex = !args.Flag("no-index");
        var handlers = args.Int("handlers", 1);
        var timeout = TimeSpan.FromSeconds(args.Int("timeout", 300));
        var breakdown = args.Flag("breakdown");
        var settle = !args.Flag("no-settle");
        var watchEvents = args.Int("watch-events", 0);
        var warmupNamespace = args.String("warmup-namespace");
        var caseInsensitive = args.Flag("case-insensitive");
        var dedupStrings = args.Flag("dedup-strings");
        var drain = args.Flag("drain");
        var warmupEvents = args.Int("warmup-events", 0);
        var skipManagedFields = args.Flag("skip-managed-fields");
        var transformName = args.String("transform", "none");
        var gzip = !args.Flag("no-gzip");

        // As the library decodes watch objects: KubernetesClient's models as KubeConsistency.KubernetesClient vouches, the POCO from its contract.
        var decodeWatchDirectly = !args.Flag("no-direct") && (typeInfo.Type == typeof(BenchPod) || KubeConsistency.KubernetesClient.KubernetesDecoding.DecodesWatchDirectly);

        // And as they read each watch line: in one pass where the line allows it (--no-one-pass: scan, then decode).
        var onePass = decodeWatchDirectly && !args.Flag("no-one-pass");

        // And their lists, item by item in one pass each (--no-direct-list: the serializer's streaming of the body).
        var directLists = !args.Flag("no-direct-list");

        // --gc-batch: GCSettings.LatencyMode = Batch until the informer has synced (what an application can do in code
        // instead of setting System.GC.Concurrent=false for the whole process).
        var gcBatch = args.Flag("gc-batch");
        args.RejectUnknown();
        if (path is not ("list" or "watchlist"))
        {
            throw new ArgumentException("--path must be list or watchlist");
        }

        using var self = Process.GetCurrentProcess();
        var startup = DateTime.Now - self.StartTime;
        var (connection, wire, http) = WireCounter.Connect(url, gzip);
        using var ownedHttp = http;
        using var ownedConnection = connection;
        JsonObject? warmup = null;
        if (warmupNamespace is not null)
        {
            // Runs the same code paths once on a small namespace, so the measured sync is JIT-warm (not default).
            var w0 = Snapshot.Take();
            var (_, warmCount) = await SyncOnceAsync(connection, typeInfo, path, warmupNamespace, useIndex, 0, null, timeout, null, transform, metadataOnly, decodeWatchDirectly, onePass, directLists);
            warmup = Snapshot.Take().Since(w0);
            warmup["objects"] = warmCount;
        }

        var wireAtStart = wire.BytesRead;
        var start = Snapshot.Take();
        var counter = new CountingHandler<T>(watchEvents, warmupEvents);
        TimedListWatch<T>? timed = null;
        using var stop = new CancellationTokenSource();
        var latency = System.Runtime.GCSettings.LatencyMode;
        if (gcBatch)
        {
            System.Runtime.GCSettings.LatencyMode = System.Runtime.GCLatencyMode.Batch;
        }

        var (informer, run) = StartInformer(connection, typeInfo, path, null, useIndex, handlers, counter, breakdown ? lw => timed = new TimedListWatch<T>(lw) : null, stop.Token, transform, metadataOnly, decodeWatchDirectly, onePass, directLists);
        try
        {
            await informer.WaitForSyncAsync().WaitAsync(timeout);
            System.Runtime.GCSettings.LatencyMode = latency;
        }
        catch (TimeoutException)
        {
            Console.WriteLine($"@ERROR not synced within {timeout.TotalSeconds} s; store has {informer.Indexer.Count} objects; {informer.Statistics}");
            return 2;
        }

        var synced = Snapshot.Take();
        var wireAtSync = wire.BytesRead;
        self.Refresh();
        var peakAtSync = self.PeakWorkingSet64;
        var workingSetAtSync = self.WorkingSet64;
        var gcInfo = GC.GetGCMemoryInfo(GCKind.Any);
        var count = informer.Indexer.Count;
        var result = new JsonObject
        {
            ["mode"] = "sync",
            ["path"] = path,
            ["model"] = model,
            ["caseInsensitive"] = caseInsensitive,
            ["dedupStrings"] = dedupStrings,
            ["skipManagedFields"] = skipManagedFields,
            ["transform"] = transformName,
            ["gzip"] = gzip,
            ["wireBytesAtSync"] = wireAtSync - wireAtStart,
            ["namespaceIndex"] = useIndex,
            ["handlers"] = handlers,
            ["expected"] = expected,
            ["storeCount"] = count,
            ["countOk"] = expected < 0 || count == expected,
            ["startupMs"] = Snapshot.Ms(startup),
            ["processCpuAtSyncMs"] = Snapshot.Ms(synced.Cpu),
            ["sync"] = synced.Since(start),
            ["peakWorkingSetBytes"] = peakAtSync,
            ["workingSetAtSyncBytes"] = workingSetAtSync,
            ["gcHeapSizeAtSyncBytes"] = gcInfo.HeapSizeBytes,
            ["gcCommittedAtSyncBytes"] = gcInfo.TotalCommittedBytes,
            ["reflector"] = informer.Statistics.ToString(),
            ["runtime"] = RuntimeInfo.Describe(),
        };
        if (warmup is not null)
        {
            result["warmup"] = warmup;
        }

        if (timed is not null)
        {
            result["breakdown"] = timed.Describe(start.Timestamp, synced.Timestamp);
        }

        if (watchEvents > 0)
        {
            // Steady state: the orchestrator starts the generator on @SYNCED.
            Console.WriteLine("@SYNCED " + count);
            if (warmupEvents > 0)
            {
                // The first updates only make the watch path JIT-warm (tier-1); they are not measured.
                await counter.WarmedUp.WaitAsync(timeout);
                Console.WriteLine("@WARM " + warmupEvents);
            }

            if (drain)
            {
                // Drain mode: the server holds the backlog; measure from "go" (just before it is released), so
                // neither the generator's pace nor idle waiting (thread-pool spinning) is in the figures.
                while (await Console.In.ReadLineAsync() is { } line && line.Trim() != "go")
                {
                }

                GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            }

            var w0 = Snapshot.Take();
            var wire0 = wire.BytesRead;
            if (drain)
            {
                Console.WriteLine("@ARMED");
            }

            var done = await Task.WhenAny(counter.Done, Task.Delay(timeout));
            var w1 = Snapshot.Take();
            var delivered = counter.Updates - warmupEvents;
            var watch = w1.Since(w0);
            var span = counter.LastAt - counter.FirstAt;
            var seconds = span > 0 ? span / (double)Stopwatch.Frequency : double.NaN;
            watch["updates"] = delivered;
            watch["drain"] = drain;
            watch["warmupEvents"] = warmupEvents;
            watch["complete"] = done == counter.Done;
            watch["firstToLastMs"] = Math.Round(seconds * 1000, 1);
            watch["eventsPerSecond"] = delivered > 1 ? Math.Round((delivered - 1) / seconds) : 0;
            watch["cpuUsPerEvent"] = delivered > 0 ? Math.Round(watch["cpuMs"]!.GetValue<double>() * 1000 / delivered, 2) : 0;
            watch["allocatedBytesPerEvent"] = delivered > 0 ? watch["allocatedBytes"]!.GetValue<long>() / delivered : 0;
            watch["workItemsPerEvent"] = delivered > 0 ? Math.Round(watch["threadPoolWorkItems"]!.GetValue<long>() / (double)delivered, 3) : 0;
            watch["wireBytesPerEvent"] = delivered > 0 ? (wire.BytesRead - wire0) / delivered : 0;
            watch["reflector"] = informer.Statistics.ToString();
            self.Refresh();
            watch["peakWorkingSetBytes"] = self.PeakWorkingSet64;
            result["watch"] = watch;
            result["mode"] = "watch";
        }

        await stop.CancelAsync();
        try
        {
            await run.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (OperationCanceledException)
        {
        }

        if (settle)
        {
            // What the cache retains: a full compacting GC with the store still referenced.
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            result["liveBytesAfterFullGc"] = GC.GetTotalMemory(forceFullCollection: false);
            self.Refresh();
            result["workingSetAfterSettleBytes"] = self.WorkingSet64;
            GC.KeepAlive(informer);
        }

        result["addsSeen"] = counter.Adds;
        Console.WriteLine("@RESULT " + result.ToJsonString());
        return result["countOk"]!.GetValue<bool>() ? 0 : 3;
    }

    internal static (ISharedIndexInformer<T> Informer, Task Run) StartInformer<T>(
        KubernetesConnection connection, JsonTypeInfo<T> typeInfo, string path, string? @namespace, bool useIndex, int handlers,
        IResourceEventHandler<T>? handler, Func<IListWatch<T>, IListWatch<T>>? wrap, CancellationToken cancellationToken, Func<T, T>? transform = null,
        bool metadataOnly = false, bool decodeWatchDirectly = false, bool onePass = false, bool directLists = true)
        where T : class
    {
        var client = connection.Resource(new ResourceClientOptions<T>
        {
            // The POCO as an application's source-generated model gets it: the library decides from the contract.
            DecodeWatchDirectly = decodeWatchDirectly && typeof(T) == typeof(BenchPod) ? null : decodeWatchDirectly,
            WatchIdentity = onePass ? WatchIdentityOf(typeInfo) : null,
            DecodeListsDirectly = directLists,
            Resource = GroupVersionResource.Pods,
            Kind = "Pod",
            MetadataOnly = metadataOnly,
            Namespace = @namespace,
            TypeInfo = typeInfo,
        });
        IListWatch<T> listWatch = wrap is null ? client : wrap(client);
        var informer = SharedIndexInformer.Create(listWatch, new SharedIndexInformerOptions<T>
        {
            Resource = GroupVersionResource.Pods,
            UseWatchList = path == "watchlist",
            Transform = transform,

            // As client-go's generated typed informers: a namespace index.
            Indexers = useIndex ? new Dictionary<string, IndexFunc<T>> { [Indexes.Namespace] = Indexes.ByNamespace<T>() } : null,
        });
        for (var i = 0; i < handlers; i++)
        {
            informer.AddEventHandler(handler ?? new CountingHandler<T>(0));
        }

        return (informer, informer.RunAsync(cancellationToken));
    }

    // KubeConsistency.KubernetesClient's one-pass identity for the two KubernetesClient models the harness decodes.
    private static Func<T, (string? Kind, string? ResourceVersion)>? WatchIdentityOf<T>(JsonTypeInfo<T> typeInfo) => typeInfo switch
    {
        JsonTypeInfo<k8s.Models.V1Pod> pod => (Func<T, (string?, string?)>?)(object?)KubeConsistency.KubernetesClient.KubernetesDecoding.WatchIdentity<k8s.Models.V1Pod>(pod.Options),
        JsonTypeInfo<KubeConsistency.KubernetesClient.PartialObjectMetadata> meta =>
            (Func<T, (string?, string?)>?)(object?)KubeConsistency.KubernetesClient.KubernetesDecoding.WatchIdentity<KubeConsistency.KubernetesClient.PartialObjectMetadata>(meta.Options),
        _ => null,
    };

    private static async Task<(ISharedIndexInformer<T> Informer, int Count)> SyncOnceAsync<T>(
        KubernetesConnection connection, JsonTypeInfo<T> typeInfo, string path, string? @namespace, bool useIndex, int handlers,
        IResourceEventHandler<T>? handler, TimeSpan timeout, Func<IListWatch<T>, IListWatch<T>>? wrap, Func<T, T>? transform = null, bool metadataOnly = false,
        bool decodeWatchDirectly = false, bool onePass = false, bool directLists = true)
        where T : class
    {
        using var stop = new CancellationTokenSource();
        var (informer, run) = StartInformer(connection, typeInfo, path, @namespace, useIndex, handlers, handler, wrap, stop.Token, transform, metadataOnly, decodeWatchDirectly, onePass, directLists);
        await informer.WaitForSyncAsync().WaitAsync(timeout);
        var count = informer.Indexer.Count;
        await stop.CancelAsync();
        await run;
        return (informer, count);
    }
}

/// <summary>
/// Counts adds and updates; completes <see cref="WarmedUp"/> after <paramref name="warmupUpdates"/> updates and
/// <see cref="Done"/> after <paramref name="targetUpdates"/> more, timing only those.
/// </summary>
internal sealed class CountingHandler<T>(int targetUpdates, int warmupUpdates = 0) : IResourceEventHandler<T>
    where T : class
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _warmedUp = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _adds;
    private long _updates;

    public long Adds => Interlocked.Read(ref _adds);

    public long Updates => Interlocked.Read(ref _updates);

    public long FirstAt { get; private set; }

    public long LastAt { get; private set; }

    public Task Done => _done.Task;

    public Task WarmedUp => warmupUpdates == 0 ? Task.CompletedTask : _warmedUp.Task;

    public void OnAdd(T obj, bool isInInitialList) => Interlocked.Increment(ref _adds);

    public void OnUpdate(T oldObj, T newObj)
    {
        // One delivery task per handler: no races on the timestamps.
        var n = Interlocked.Increment(ref _updates) - warmupUpdates;
        if (n <= 0)
        {
            if (n == 0)
            {
                _warmedUp.TrySetResult();
            }

            return;
        }

        var now = Stopwatch.GetTimestamp();
        if (n == 1)
        {
            FirstAt = now;
        }

        LastAt = now;
        if (n == targetUpdates)
        {
            _done.TrySetResult();
        }
    }

    public void OnDelete(object obj)
    {
    }
}
