using KubeConsistency.Cache;

namespace KubeConsistency.Tests;

/// <summary>A minimal object shaped like a KubernetesClient model (Metadata.Name/NamespaceProperty/Uid/ResourceVersion).</summary>
public sealed class TestPod
{
    public TestMeta? Metadata { get; set; }

    public string? Payload { get; set; }

    public override string ToString() => $"{Metadata?.NamespaceProperty}/{Metadata?.Name}@{Metadata?.ResourceVersion}:{Payload}";
}

public sealed class TestMeta
{
    public string? Name { get; set; }

    public string? NamespaceProperty { get; set; }

    public string? Uid { get; set; }

    public string? ResourceVersion { get; set; }

    public Dictionary<string, string>? Labels { get; set; }
}

public static class TestObjects
{
    public static TestPod Pod(string? ns, string? name, string? rv, string? payload = null, string? uid = null) => new()
    {
        Metadata = new TestMeta { NamespaceProperty = ns, Name = name, ResourceVersion = rv, Uid = uid ?? "uid-" + name },
        Payload = payload,
    };

    /// <summary>A pod without metadata: what a transformer might produce; it must not move the store RV (§4.2).</summary>
    public static TestPod NoMeta(string payload = "x") => new() { Payload = payload };

    public static IIndexer<TestPod> NewIndexer(bool trackResourceVersion = true, KeyFunc<TestPod>? keyFunction = null) => Store.Create(new StoreOptions<TestPod>
    {
        TrackResourceVersion = trackResourceVersion,
        KeyFunction = keyFunction,
        Indexers = new Dictionary<string, IndexFunc<TestPod>> { [Indexes.Namespace] = Indexes.ByNamespace<TestPod>() },
    });

    /// <summary>A key function that tolerates pods without metadata by keying them on their payload.</summary>
    public static string KeyOrPayload(TestPod p) => p.Metadata is null ? "nometa/" + p.Payload : ObjectKeys.MetaNamespaceKey(p.Metadata.NamespaceProperty, p.Metadata.Name);
}

/// <summary>Records handler calls together with the store state each call observed.</summary>
public sealed class RecordingHandler(IStore<TestPod>? store = null) : IResourceEventHandler<TestPod>
{
    public List<string> Events { get; } = [];

    /// <summary>The store content (key → RV) at each callback, and the store RV.</summary>
    public List<(string Event, Dictionary<string, string?> Content, string StoreRv)> Observations { get; } = [];

    public void OnAdd(TestPod obj, bool isInInitialList) => Record($"add {Key(obj)}@{obj.Metadata?.ResourceVersion} initial={isInInitialList}");

    public void OnUpdate(TestPod oldObj, TestPod newObj) => Record($"update {Key(newObj)} {oldObj.Metadata?.ResourceVersion}->{newObj.Metadata?.ResourceVersion}");

    public void OnDelete(object obj) => Record(obj switch
    {
        DeletedFinalStateUnknown<TestPod> t => $"delete-tombstone {t.Key} last={t.Object?.Metadata?.ResourceVersion ?? "null"}",
        TestPod p => $"delete {Key(p)}@{p.Metadata?.ResourceVersion}",
        _ => "delete ?",
    });

    private static string Key(TestPod p) => TestObjects.KeyOrPayload(p);

    private void Record(string e)
    {
        Events.Add(e);
        if (store is not null)
        {
            Observations.Add((e, store.List().ToDictionary(TestObjects.KeyOrPayload, p => p.Metadata?.ResourceVersion), store.LastStoreSyncResourceVersion));
        }
    }
}
