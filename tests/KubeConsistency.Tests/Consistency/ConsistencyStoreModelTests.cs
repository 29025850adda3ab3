using FsCheck;
using FsCheck.Fluent;
using KubeConsistency.Consistency;

namespace KubeConsistency.Tests.Consistency;

/// <summary>
/// The store against a direct transcription of §7.3 for random operation sequences, over owners that share names
/// across namespaces (the store keys its map by name, so same-name owners share one slot).
/// </summary>
public sealed class ConsistencyStoreModelTests
{
    private static readonly NamespacedName[] Owners = [new("ns1", "a"), new("ns2", "a"), new("ns1", "b"), new("", "a")];
    private static readonly string[] Uids = ["u1", "u2", ""];
    private static readonly GroupResource[] Resources = [GroupResource.Pods, GroupResource.ReplicaSets, GroupResource.Jobs];
    private static readonly string[] Rvs = ["", "1", "2", "3", "10", "x"];

    private sealed record Op(int Kind, int Owner, int Uid, int Resource, int Rv);

    private sealed class Getter : ILastSyncResourceVersionGetter
    {
        public string LastStoreSyncResourceVersion { get; set; } = string.Empty;
    }

    private sealed class ModelRecord(string uid)
    {
        public string Uid { get; } = uid;

        public List<(GroupResource Resource, string Rv)> Entries { get; } = [];
    }

    private static readonly Gen<Op> OpGen =
        from kind in Gen.Choose(0, 3)
        from owner in Gen.Choose(0, Owners.Length - 1)
        from uid in Gen.Choose(0, Uids.Length - 1)
        from resource in Gen.Choose(0, Resources.Length - 1)
        from rv in Gen.Choose(0, Rvs.Length - 1)
        select new Op(kind, owner, uid, resource, rv);

    [Fact]
    public void Section7_3_the_store_agrees_with_the_reference_model_for_random_sequences()
    {
        Prop.ForAll(Arb.From(Gen.ListOf(OpGen)), ops =>
        {
            // Jobs has no registered cache: its entries are always skipped (§7.4).
            var pods = new Getter();
            var replicaSets = new Getter();
            var getters = new Dictionary<GroupResource, Getter> { [GroupResource.Pods] = pods, [GroupResource.ReplicaSets] = replicaSets };
            var store = ConsistencyStore.Create([new(GroupResource.Pods, pods), new(GroupResource.ReplicaSets, replicaSets)]);
            var model = new Dictionary<NamespacedName, ModelRecord>();
            foreach (var op in ops)
            {
                var owner = Owners[op.Owner];
                var resource = Resources[op.Resource];
                var rv = Rvs[op.Rv];
                switch (op.Kind)
                {
                    case 0:
                        var uid = Uids[op.Uid];
                        store.WroteAt(owner, uid, resource, rv);
                        ModelWrote(model, owner, uid, resource, rv);
                        break;
                    case 1:
                        var expected = ModelEnsureReady(model, owner, getters);
                        var actual = store.EnsureReady(owner);
                        Assert.Equal(expected is null, actual is null);
                        if (expected is { } e && actual is { } a)
                        {
                            Assert.Equal((e.Read, e.Wrote, e.Resource), (a.ReadResourceVersion, a.WroteResourceVersion, a.GroupResource));
                        }

                        break;
                    case 2:
                        var clearUid = Uids[op.Uid];
                        store.Clear(owner, clearUid);
                        if (model.TryGetValue(owner, out var r) && (clearUid.Length == 0 || r.Uid == clearUid))
                        {
                            model.Remove(owner);
                        }

                        break;
                    default:
                        (op.Resource % 2 == 0 ? pods : replicaSets).LastStoreSyncResourceVersion = rv;
                        break;
                }

                Assert.Equal(model.Count, ((RealConsistencyStore)store).RecordCount);
            }
        }).QuietCheckThrowOnFailure();
    }

    private static void ModelWrote(Dictionary<NamespacedName, ModelRecord> model, NamespacedName owner, string uid, GroupResource resource, string rv)
    {
        if (!model.TryGetValue(owner, out var record) || record.Uid != uid)
        {
            record = new ModelRecord(uid);
            model[owner] = record;
        }

        var i = record.Entries.FindIndex(e => e.Resource == resource);
        if (i < 0)
        {
            record.Entries.Add((resource, rv));
        }
        else if (!ResourceVersion.TryCompare(record.Entries[i].Rv, rv, out var c) || c < 0)
        {
            record.Entries[i] = (resource, rv);
        }
    }

    private static (string Read, string Wrote, GroupResource Resource)? ModelEnsureReady(
        Dictionary<NamespacedName, ModelRecord> model, NamespacedName owner, Dictionary<GroupResource, Getter> getters)
    {
        if (!model.TryGetValue(owner, out var record))
        {
            return null;
        }

        foreach (var (resource, wrote) in record.Entries)
        {
            if (!getters.TryGetValue(resource, out var getter) || getter.LastStoreSyncResourceVersion.Length == 0)
            {
                continue;
            }

            var read = getter.LastStoreSyncResourceVersion;
            if (ResourceVersion.TryCompare(wrote, read, out var c) && c > 0)
            {
                return (read, wrote, resource);
            }
        }

        model.Remove(owner);
        return null;
    }
}
