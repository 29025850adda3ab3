using KubeConsistency.Cache.Advanced;
using KubeConsistency.Cache;

namespace KubeConsistency.Tests.Cache;

/// <summary>Indexer edges that mutation testing showed untested: argument checks, single-value index moves, error messages.</summary>
public sealed class IndexerEdgeTests
{
    private const string ByPayload = "payload";

    private static IIndexer<TestPod> NewIndexer() => Store.Create(new StoreOptions<TestPod>
    {
        Indexers = new Dictionary<string, IndexFunc<TestPod>> { [ByPayload] = Indexes.SingleValue<TestPod>(p => p.Payload) },
    });

    [Fact]
    public void NullArguments_AreRejected()
    {
        var store = NewIndexer();
        var pod = TestObjects.Pod("ns", "a", "1", "x");
        Assert.Throws<ArgumentNullException>(() => store.Add(null!));
        Assert.Throws<ArgumentNullException>(() => store.Update(null!));
        Assert.Throws<ArgumentNullException>(() => store.Delete(null!));
        Assert.Throws<ArgumentNullException>(() => store.DeleteWithObject(null!, pod));
        Assert.Throws<ArgumentNullException>(() => store.Replace(null!, "1"));
        Assert.Throws<ArgumentNullException>(() => store.Replace([pod], null!));
        Assert.Throws<ArgumentNullException>(() => store.Bookmark(null!));
        Assert.Throws<ArgumentNullException>(() => store.AddIndexers(null!));
        Assert.Throws<ArgumentNullException>(() => store.Index(null!, pod));
        Assert.Throws<ArgumentNullException>(() => store.Index(ByPayload, null!));
        Assert.Throws<ArgumentNullException>(() => store.ByIndex(ByPayload, null!));
        Assert.Throws<ArgumentNullException>(() => store.IndexKeys(ByPayload, null!));
        Assert.Throws<ArgumentNullException>(() => store.ListIndexFuncValues(null!));
        Assert.Throws<ArgumentNullException>(() => store.RemoveIndexer(null!));
        Assert.Empty(store.List());
    }

    [Fact]
    public void Replace_WithANullItem_NamesIt_AndChangesNothing()
    {
        var store = NewIndexer();
        store.Add(TestObjects.Pod("ns", "a", "1", "x"));
        var ex = Assert.Throws<ArgumentException>(() => store.Replace([TestObjects.Pod("ns", "b", "2"), null!], "2"));
        Assert.Contains("an item is null", ex.Message, StringComparison.Ordinal);
        Assert.Equal(["ns/a"], store.ListKeys());
    }

    /// <summary>A single-value index follows an update: the old value no longer finds the object, the new one does.</summary>
    [Fact]
    public void SingleValueIndex_MovesTheObjectOnUpdate_AndKeepsItOnAnUnchangedValue()
    {
        var store = NewIndexer();
        store.Add(TestObjects.Pod("ns", "a", "1", "x"));
        store.Add(TestObjects.Pod("ns", "b", "1", "x"));
        store.Update(TestObjects.Pod("ns", "a", "2", "y"));
        Assert.Equal(["ns/b"], store.IndexKeys(ByPayload, "x"));
        Assert.Equal(["ns/a"], store.IndexKeys(ByPayload, "y"));
        store.Update(TestObjects.Pod("ns", "a", "3", "y"));
        Assert.Equal(["ns/a"], store.IndexKeys(ByPayload, "y"));
        Assert.Equal("3", store.ByIndex(ByPayload, "y").Single().Metadata!.ResourceVersion);
        Assert.Equal(["x", "y"], store.ListIndexFuncValues(ByPayload).Order(StringComparer.Ordinal));
        store.Delete(TestObjects.Pod("ns", "a", "4", "y"));
        Assert.Empty(store.IndexKeys(ByPayload, "y"));
        Assert.Equal(["x"], store.ListIndexFuncValues(ByPayload));
    }

    [Fact]
    public void UnknownIndexAndConflictingIndexers_SayWhich()
    {
        var store = NewIndexer();
        var missing = Assert.Throws<KeyNotFoundException>(() => store.ByIndex("nope", "x"));
        Assert.Contains("nope", missing.Message, StringComparison.Ordinal);
        var conflict = Assert.Throws<ArgumentException>(() => store.AddIndexers(new Dictionary<string, IndexFunc<TestPod>> { [ByPayload] = Indexes.SingleValue<TestPod>(p => p.Payload) }));
        Assert.Contains("indexer conflict: " + ByPayload, conflict.Message, StringComparison.Ordinal);
    }

    /// <summary>An index added after objects exist indexes them, and a removed index no longer answers.</summary>
    [Fact]
    public void IndexesAddedLater_CoverExistingObjects_AndRemovedOnesAreGone()
    {
        var store = NewIndexer();
        store.Add(TestObjects.Pod("ns", "a", "1", "x"));
        store.AddIndexers(new Dictionary<string, IndexFunc<TestPod>> { ["rv"] = p => [p.Metadata!.ResourceVersion!] });
        Assert.Equal(["ns/a"], store.IndexKeys("rv", "1"));
        Assert.True(store.RemoveIndexer("rv"));
        Assert.False(store.RemoveIndexer("rv"));
        Assert.Throws<KeyNotFoundException>(() => store.IndexKeys("rv", "1"));
    }

    /// <summary>Every conflicting indexer is named, not only the first.</summary>
    [Fact]
    public void ConflictingIndexers_AreAllNamed()
    {
        var store = Store.Create(new StoreOptions<TestPod>
        {
            Indexers = new Dictionary<string, IndexFunc<TestPod>> { ["a"] = Indexes.SingleValue<TestPod>(p => p.Payload), ["b"] = Indexes.SingleValue<TestPod>(p => p.Payload) },
        });
        var conflict = Assert.Throws<ArgumentException>(() => store.AddIndexers(new Dictionary<string, IndexFunc<TestPod>> { ["a"] = Indexes.SingleValue<TestPod>(p => p.Payload), ["b"] = Indexes.SingleValue<TestPod>(p => p.Payload) }));
        Assert.StartsWith("indexer conflict: a, b", conflict.Message, StringComparison.Ordinal);
    }

    /// <summary>§3.2: a transaction reports every failure (count and first message) and, when all fail, an empty success list.</summary>
    [Fact]
    public void Section3_2_ATransactionWhoseOperationsAllFail_ReportsEachFailure_AndNoSuccess()
    {
        var store = Store.Create<TestPod>(); // the default key function rejects objects without metadata
        var ex = Assert.Throws<TransactionException>(() => store.Transaction(
        [
            StoreTransaction<TestPod>.Add(TestObjects.NoMeta("first")),
            StoreTransaction<TestPod>.Add(TestObjects.NoMeta("second")),
        ]));
        Assert.Empty(ex.SuccessfulIndices);
        Assert.Equal(2, ex.Errors.Count);
        Assert.StartsWith("not all transactions were applied: 2 failed; first: " + ex.Errors[0].Message, ex.Message, StringComparison.Ordinal);
        Assert.Same(ex.Errors[0], ex.InnerException);
        Assert.Equal(0, store.Count);
    }
}
