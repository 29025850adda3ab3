using k8s.Models;
using KubeConsistency.Cache;
using KubeConsistency.Consistency;
using KubeConsistency.KubernetesClient;

namespace KubeConsistency.Tests.Consistency;

/// <summary>
/// The live-read circuit breaker (docs/upstream-after-1.36.md §1.2–§1.3, the v1.37 node-lifecycle lease pattern): a
/// stale lease cache found out by one live GET holds back decisions about every other lease until it catches up.
/// </summary>
public sealed class LiveReadBreakerTests
{
    private static readonly GroupResource Leases = GroupVersionResource.Leases.GroupResource;
    private static readonly DateTime Now = new(2026, 12, 3, 12, 0, 0, DateTimeKind.Utc);

    private static V1Lease Lease(string node, string rv, DateTime renewed) => new()
    {
        Metadata = new V1ObjectMeta { Name = node, NamespaceProperty = "kube-node-lease", ResourceVersion = rv },
        Spec = new V1LeaseSpec { HolderIdentity = node, LeaseDurationSeconds = 40, RenewTime = renewed },
    };

    private static bool Expired(V1Lease lease) => lease.Spec.RenewTime!.Value.AddSeconds(lease.Spec.LeaseDurationSeconds!.Value) < Now;

    /// <summary>
    /// A node-lifecycle-style pass: a lease that looks expired in the cache is confirmed with a live GET, at most one per
    /// pass (a controller must not turn a stale cache into a GET storm). A fresh live lease proves the cache stale: with a
    /// breaker the pass records the live read and stops; without one it can only skip that lease and trust the cache
    /// for the rest.
    /// </summary>
    private sealed class NodeLifecyclePass(IIndexer<V1Lease> cache, IReadOnlyDictionary<string, V1Lease> server, LiveReadBreaker? breaker)
    {
        public int LiveReads { get; private set; }

        public int SkippedPasses { get; private set; }

        public List<string> Run()
        {
            var marked = new List<string>();
            if (breaker?.EnsureReady() is not null)
            {
                SkippedPasses++;
                return marked;
            }

            var liveReadsThisPass = 0;
            foreach (var cached in cache.List().OrderBy(l => l.Metadata.Name, StringComparer.Ordinal))
            {
                if (!Expired(cached))
                {
                    continue;
                }

                if (liveReadsThisPass++ == 0)
                {
                    LiveReads++;
                    var live = server[cached.Metadata.Name];
                    if (!Expired(live))
                    {
                        if (breaker is null)
                        {
                            continue;
                        }

                        breaker.RecordLiveRead(Leases, live.Metadata.ResourceVersion);
                        return marked;
                    }
                }

                marked.Add(cached.Metadata.Name);
            }

            return marked;
        }
    }

    private static (IIndexer<V1Lease> Cache, Dictionary<string, V1Lease> Server) StaleLeaseCache()
    {
        // The cache stopped at RV 100 with renewals 5 minutes old; the server has renewals from a second ago.
        var cache = Store.Create(new StoreOptions<V1Lease> { MetadataAccessor = KubernetesObjectMetadata.For<V1Lease>(), TrackResourceVersion = true });
        cache.Replace([Lease("n1", "98", Now.AddMinutes(-5)), Lease("n2", "99", Now.AddMinutes(-5)), Lease("n3", "100", Now.AddMinutes(-5))], "100");
        var server = new Dictionary<string, V1Lease>
        {
            ["n1"] = Lease("n1", "150", Now.AddSeconds(-1)),
            ["n2"] = Lease("n2", "151", Now.AddSeconds(-1)),
            ["n3"] = Lease("n3", "152", Now.AddSeconds(-1)),
        };
        return (cache, server);
    }

    [Fact]
    public void AStaleLeaseFoundByALiveRead_HoldsBackDecisionsAboutOtherLeases_UntilTheCacheCatchesUp()
    {
        var (cache, server) = StaleLeaseCache();
        var breaker = LiveReadBreaker.Create([new(Leases, cache)]);
        var pass = new NodeLifecyclePass(cache, server, breaker);

        Assert.Empty(pass.Run()); // n1 looked expired; its live lease is fresh: the cache is stale
        Assert.Equal(1, pass.LiveReads);
        var behind = breaker.EnsureReady();
        Assert.Equal(("100", "150", Leases), (behind?.ReadResourceVersion, behind?.WroteResourceVersion, behind?.GroupResource));

        Assert.Empty(pass.Run()); // n2 and n3 look expired too, but the pass is held back: no live GET, no mark
        Assert.Equal((1, 1), (pass.LiveReads, pass.SkippedPasses));

        cache.Update(server["n1"]); // the cache reaches 150 (n1's renewal) but not yet n2's and n3's
        Assert.Null(breaker.EnsureReady());
        cache.Replace(server.Values, "152");
        Assert.Empty(pass.Run()); // caught up: nothing looks expired, nothing is marked
        Assert.Equal(1, pass.LiveReads);
    }

    [Fact]
    public void WithoutTheBreaker_TheSameStaleCache_MarksTheOtherNodes()
    {
        var (cache, server) = StaleLeaseCache();
        var pass = new NodeLifecyclePass(cache, server, breaker: null);
        Assert.Equal(["n2", "n3"], pass.Run()); // n1 was saved by its live GET; n2 and n3 are marked on stale data
        Assert.Equal(1, pass.LiveReads);
    }

    [Fact]
    public void TheNewestLiveReadIsKept_AndAReadyBreakerForgetsIt()
    {
        var (cache, _) = StaleLeaseCache();
        var breaker = LiveReadBreaker.Create([new(Leases, cache)]);
        breaker.RecordLiveRead(Leases, "120");
        breaker.RecordLiveRead(Leases, "110");
        Assert.Equal("120", breaker.EnsureReady()?.WroteResourceVersion);
        cache.Bookmark("120");
        Assert.Null(breaker.EnsureReady());
        cache.Replace([], "1"); // forgotten: an older cache no longer trips it
        Assert.Null(breaker.EnsureReady());
        Assert.Throws<ArgumentNullException>(() => breaker.RecordLiveRead(Leases, null!));
        Assert.Throws<ArgumentNullException>(() => LiveReadBreaker.Create(null!));
    }
}
