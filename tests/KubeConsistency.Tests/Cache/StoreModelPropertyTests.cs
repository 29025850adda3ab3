using FsCheck;
using FsCheck.Fluent;
using KubeConsistency.Cache.Advanced;
using KubeConsistency.Cache;
using static KubeConsistency.Tests.TestObjects;

namespace KubeConsistency.Tests.Cache;

/// <summary>The store against a dictionary model for random operation sequences (§4.2 RV rules included).</summary>
public sealed class StoreModelPropertyTests
{
    public abstract record Op;

    public sealed record AddOp(string Ns, string Name, string? Rv, bool Meta) : Op;

    public sealed record DeleteOp(string Ns, string Name, string? Rv) : Op;

    public sealed record DeleteKeyOp(string Ns, string Name) : Op;

    public sealed record ReplaceOp(IReadOnlyList<AddOp> Items, string Rv) : Op;

    public sealed record BookmarkOp(string Rv) : Op;

    public sealed record TransactionOp(IReadOnlyList<Op> Items) : Op;

    private static readonly Gen<string> Namespaces = Gen.Elements("a", "b", "c", "");
    private static readonly Gen<string> Names = Gen.Elements("p1", "p2", "p3", "p4", "p5");
    private static readonly Gen<string?> Rvs = Gen.Frequency((6, Gen.Choose(1, 500).Select(i => (string?)i.ToString(System.Globalization.CultureInfo.InvariantCulture))), (1, Gen.Constant<string?>("")), (1, Gen.Constant<string?>(null)));

    private static readonly Gen<AddOp> Adds =
        from ns in Namespaces
        from name in Names
        from rv in Rvs
        from meta in Gen.Frequency((9, Gen.Constant(true)), (1, Gen.Constant(false)))
        select new AddOp(ns, name, rv, meta);

    private static readonly Gen<Op> Simple = Gen.OneOf(
        Adds.Select(a => (Op)a),
        from ns in Namespaces from name in Names from rv in Rvs select (Op)new DeleteOp(ns, name, rv),
        from ns in Namespaces from name in Names select (Op)new DeleteKeyOp(ns, name),
        Rvs.Select(rv => (Op)new BookmarkOp(rv ?? "")));

    private static readonly Gen<Op> Ops = Gen.Frequency(
        (8, Simple),
        (1, from items in Gen.ListOf(Adds) from rv in Rvs select (Op)new ReplaceOp([.. items], rv ?? "")),
        (1, Gen.ListOf(Simple.Where(o => o is AddOp or DeleteOp or DeleteKeyOp)).Select(items => (Op)new TransactionOp([.. items]))));

    private static TestPod Make(AddOp a) => a.Meta ? Pod(a.Ns, a.Name, a.Rv, Guid.NewGuid().ToString("N")) : NoMeta(a.Ns + "-" + a.Name);

    private static string KeyOf(AddOp a) => a.Meta ? ObjectKeys.MetaNamespaceKey(a.Ns, a.Name) : "nometa/" + a.Ns + "-" + a.Name;

    [Fact]
    public void Property_StoreMatchesDictionaryModel()
    {
        Prop.ForAll(Arb.From(Gen.ListOf(Ops)), ops =>
        {
            var store = NewIndexer(keyFunction: KeyOrPayload);
            var model = new Dictionary<string, TestPod>();
            var modelRv = "";
            foreach (var op in ops)
            {
                Apply(store, model, ref modelRv, op);
                AssertMatches(store, model, modelRv);
            }

            return true;
        }).QuietCheckThrowOnFailure();
    }

    private static void Apply(IIndexer<TestPod> store, Dictionary<string, TestPod> model, ref string modelRv, Op op)
    {
        switch (op)
        {
            case AddOp a:
            {
                var pod = Make(a);
                store.Add(pod);
                model[KeyOf(a)] = pod;
                modelRv = a.Meta ? a.Rv ?? "" : modelRv;
                break;
            }

            case DeleteOp d:
                store.Delete(Pod(d.Ns, d.Name, d.Rv));
                model.Remove(ObjectKeys.MetaNamespaceKey(d.Ns, d.Name));
                modelRv = d.Rv ?? "";
                break;

            case DeleteKeyOp k:
                store.DeleteWithObject(ObjectKeys.MetaNamespaceKey(k.Ns, k.Name), null);
                model.Remove(ObjectKeys.MetaNamespaceKey(k.Ns, k.Name));
                break;

            case BookmarkOp b:
                store.Bookmark(b.Rv);
                modelRv = b.Rv;
                break;

            case ReplaceOp r:
            {
                var pods = r.Items.Select(Make).ToList();
                store.Replace(pods, r.Rv);
                model.Clear();
                for (var i = 0; i < pods.Count; i++)
                {
                    model[KeyOf(r.Items[i])] = pods[i];
                }

                modelRv = r.Rv;
                break;
            }

            case TransactionOp t:
            {
                var txns = new List<StoreTransaction<TestPod>>();
                string? lastRv = null;
                foreach (var item in t.Items)
                {
                    switch (item)
                    {
                        case AddOp a:
                            var pod = Make(a);
                            txns.Add(StoreTransaction<TestPod>.Add(pod));
                            model[KeyOf(a)] = pod;
                            lastRv = a.Meta ? a.Rv ?? "" : null;
                            break;
                        case DeleteOp d:
                            txns.Add(StoreTransaction<TestPod>.Delete(Pod(d.Ns, d.Name, d.Rv)));
                            model.Remove(ObjectKeys.MetaNamespaceKey(d.Ns, d.Name));
                            lastRv = d.Rv ?? "";
                            break;
                        case DeleteKeyOp k:
                            txns.Add(StoreTransaction<TestPod>.Delete(new DeletedFinalStateUnknown<TestPod>(ObjectKeys.MetaNamespaceKey(k.Ns, k.Name), null)));
                            model.Remove(ObjectKeys.MetaNamespaceKey(k.Ns, k.Name));
                            lastRv = null;
                            break;
                    }
                }

                store.Transaction(txns.ToArray());
                if (lastRv is not null)
                {
                    modelRv = lastRv;
                }

                break;
            }
        }
    }

    private static void AssertMatches(IIndexer<TestPod> store, Dictionary<string, TestPod> model, string modelRv)
    {
        Assert.Equal(model.Count, store.Count);
        Assert.Equal(model.Keys.Order(), store.ListKeys().Order());
        foreach (var (key, pod) in model)
        {
            Assert.True(store.TryGetByKey(key, out var stored), key);
            Assert.Same(pod, stored);
        }

        Assert.Equal(modelRv, store.LastStoreSyncResourceVersion);
        var expectedIndex = model
            .Where(kv => kv.Value.Metadata is not null)
            .GroupBy(kv => kv.Value.Metadata!.NamespaceProperty ?? "")
            .ToDictionary(g => g.Key, g => g.Select(kv => kv.Key).Order().ToList());
        Assert.Equal(expectedIndex.Keys.Order(), store.ListIndexFuncValues(Indexes.Namespace).Order());
        foreach (var (ns, keys) in expectedIndex)
        {
            Assert.Equal(keys, store.IndexKeys(Indexes.Namespace, ns).Order());
            Assert.Equal(keys, store.ByIndex(Indexes.Namespace, ns).Select(KeyOrPayload).Order());
        }
    }
}
