using FsCheck;
using FsCheck.Fluent;
using KubeConsistency.Cache;
using KubeConsistency.Client;
using KubeConsistency.Http;
using KubeConsistency.Informers;
using KubeConsistency.Testing;
using KubeConsistency.Tests.Client;
using Xunit.Abstractions;
using Pod = KubeConsistency.Tests.Client.TestPod;

namespace KubeConsistency.Tests.Integration;

/// <summary>
/// For random server-side histories with injected watch drops, compactions, lag, failing requests and
/// restarts, the informer's store converges to the server's state, and its LastStoreSyncResourceVersion
/// never decreases (upstream-semantics.md §4.3, §5).
/// </summary>
public sealed class ConvergencePropertyTests(ITestOutputHelper output)
{
    /// <summary>Advances a manual clock whenever something waits on it for at most a minute: backoffs pass instantly.</summary>
    private static async Task AutoAdvanceAsync(ManualTimeProvider time, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await time.WaitForTimersAsync(d => d.Any(x => x <= TimeSpan.FromMinutes(1)), stop);
                var next = time.NextDueIn;
                if (next is { } due && due <= TimeSpan.FromMinutes(1))
                {
                    time.Advance(due < TimeSpan.Zero ? TimeSpan.Zero : due);
                }

                await Task.Yield();
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private static async Task<string?> RunAsync(IReadOnlyList<ServerStep> history, bool useWatchList)
    {
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await EmbeddedApiServer.StartAsync(new EmbeddedApiServerOptions { BookmarkInterval = TimeSpan.FromMilliseconds(200), CreateDefaultNamespaces = false, EnforceNamespaceLifecycle = false });
        using var connection = KubernetesConnection.ForServer(server.BaseAddress, new KubernetesConnectionOptions { TimeProvider = time });
        var pods = connection.Resource(new ResourceClientOptions<Pod> { Resource = GroupVersionResource.Pods, Kind = "Pod", Namespace = null, TypeInfo = TestJsonContext.Default.TestPod });
        // The clock auto-advances through every timer due within a minute (backoffs); the request progress bound must lie
        // beyond that, or it would fire while a real HTTP request is still in flight.
        var informer = SharedIndexInformer.Create(pods, new SharedIndexInformerOptions<Pod>
        {
            Resource = GroupVersionResource.Pods,
            TimeProvider = time,
            UseWatchList = useWatchList,
            RequestProgressTimeout = TimeSpan.FromMinutes(10),
        });

        // The store RV, read after each applied change, must never go backwards.
        var violations = new List<string>();
        var lastSeen = "";
        void Observe()
        {
            var rv = informer.Indexer.LastStoreSyncResourceVersion;
            lock (violations)
            {
                if (ResourceVersion.TryCompare(rv, lastSeen, out var c) && c < 0)
                {
                    violations.Add($"store RV went from {lastSeen} back to {rv}");
                }

                if (ResourceVersion.IsWellFormed(rv))
                {
                    lastSeen = rv;
                }
            }
        }

        informer.AddEventHandler(new ResourceEventHandler<Pod> { OnAdd = (_, _) => Observe(), OnUpdate = (_, _) => Observe(), OnDelete = _ => Observe() });
        using var stop = new CancellationTokenSource();
        var advancing = AutoAdvanceAsync(time, stop.Token);
        var run = informer.RunAsync(stop.Token);
        try
        {
            await informer.WaitForSyncAsync().WaitAsync(TimeSpan.FromSeconds(30));
            foreach (var step in history)
            {
                await server.ApplyAsync(step, ApiResourceDefinition.Pods);
                Observe();
            }

            // Heal, then write a marker: once the cache holds it, it has applied everything before it.
            server.ClearFaults(ApiResourceDefinition.Pods);
            var marker = server.Objects.Create(ApiResourceDefinition.Pods, new System.Text.Json.Nodes.JsonObject
            {
                ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["name"] = "zz-marker", ["namespace"] = "ns-a" },
                ["spec"] = new System.Text.Json.Nodes.JsonObject { ["containers"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject { ["name"] = "c", ["image"] = "nginx" }) },
            });
            await informer.WaitForStoreResourceVersionAsync(marker["metadata"]!["resourceVersion"]!.GetValue<string>()).WaitAsync(TimeSpan.FromSeconds(60));
            Observe();

            var expected = server.Objects.List(ApiResourceDefinition.Pods).Items
                .ToDictionary(p => p["metadata"]!["namespace"]!.GetValue<string>() + "/" + p["metadata"]!["name"]!.GetValue<string>(), p => p["metadata"]!["resourceVersion"]!.GetValue<string>());
            var actual = informer.Indexer.List().ToDictionary(p => p.Metadata!.Namespace + "/" + p.Metadata.Name, p => p.Metadata!.ResourceVersion!);
            var missing = expected.Where(kv => !actual.TryGetValue(kv.Key, out var rv) || rv != kv.Value).Select(kv => kv.Key + "@" + kv.Value).ToList();
            var phantom = actual.Where(kv => !expected.ContainsKey(kv.Key)).Select(kv => kv.Key).ToList();
            if (missing.Count > 0 || phantom.Count > 0)
            {
                return $"not converged: missing/stale [{string.Join(", ", missing)}], phantom [{string.Join(", ", phantom)}]";
            }

            lock (violations)
            {
                return violations.Count > 0 ? string.Join("; ", violations) : null;
            }
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(30));
            await advancing;
        }
    }

    [Fact]
    public void Property_Section5_InformerConvergesToTheServer_AndItsStoreRvNeverDecreases()
    {
        var histories = KubeGen.ServerHistory(new ServerHistoryOptions { MaxSteps = 30, IncludeRestarts = true, Namespaces = ["ns-a", "ns-b"] });
        var cases = from history in histories from watchList in Gen.Elements(true, false) select (history, watchList);
        var config = Config.QuickThrowOnFailure.WithMaxTest(15).WithEndSize(30).WithQuietOnSuccess(true);
        Check.One(config, Prop.ForAll(Arb.From(cases), c =>
        {
            var failure = RunAsync(c.history, c.watchList).GetAwaiter().GetResult();
            if (failure is not null)
            {
                output.WriteLine($"watch-list={c.watchList}: {string.Join(" | ", c.history)}");
            }

            return (failure is null).Label(failure ?? "ok");
        }));
    }

    [Fact]
    public void Generators_ProduceWellFormedVersions_AndOrderPreservingInterleavings()
    {
        Prop.ForAll(Arb.From(KubeGen.ResourceVersion), ResourceVersion.IsWellFormed).QuietCheckThrowOnFailure();
        var a = Enumerable.Range(0, 5).Select(i => "a" + i).ToArray();
        var b = Enumerable.Range(0, 4).Select(i => "b" + i).ToArray();
        Prop.ForAll(Arb.From(KubeGen.Interleaving(a, b)), merged =>
            merged.Count == 9 && merged.Where(x => x[0] == 'a').SequenceEqual(a) && merged.Where(x => x[0] == 'b').SequenceEqual(b)).QuietCheckThrowOnFailure();
    }
}
