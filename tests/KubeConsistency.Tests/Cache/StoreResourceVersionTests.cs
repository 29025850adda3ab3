using System.Diagnostics.Metrics;
using KubeConsistency.Cache.Advanced;
using KubeConsistency.Cache;
using KubeConsistency.Metrics;
using static KubeConsistency.Tests.TestObjects;

namespace KubeConsistency.Tests.Cache;

/// <summary>Every row of upstream-semantics.md §4.2 and the §4.3 rules.</summary>
public sealed class StoreResourceVersionTests
{
    private static IIndexer<TestPod> NewStore(bool track = true) => NewIndexer(track, KeyOrPayload);

    [Fact]
    public void Section4_3_InitialState_IsEmpty() => Assert.Equal("", NewStore().LastStoreSyncResourceVersion);

    [Fact]
    public void Section4_2_AddAndUpdate_SetTheObjectsRv()
    {
        var store = NewStore();
        store.Add(Pod("ns", "a", "5"));
        Assert.Equal("5", store.LastStoreSyncResourceVersion);
        store.Update(Pod("ns", "a", "6"));
        Assert.Equal("6", store.LastStoreSyncResourceVersion);
    }

    [Fact]
    public void Section4_2_LastApplied_NotMax()
    {
        var store = NewStore();
        store.Add(Pod("ns", "a", "20"));
        store.Add(Pod("ns", "b", "10"));
        Assert.Equal("10", store.LastStoreSyncResourceVersion);
    }

    [Fact]
    public void Section4_2_ObjectWithEmptyRv_SetsEmpty()
    {
        var store = NewStore();
        store.Add(Pod("ns", "a", "5"));
        store.Add(Pod("ns", "b", null));
        Assert.Equal("", store.LastStoreSyncResourceVersion);
    }

    [Fact]
    public void Section4_2_NonMetaObjects_LeaveTheRvUnchanged()
    {
        var store = NewStore();
        store.Add(Pod("ns", "a", "5"));
        store.Add(NoMeta("t"));
        Assert.Equal("5", store.LastStoreSyncResourceVersion);
        Assert.True(store.TryGetByKey("nometa/t", out _));
    }

    [Fact]
    public void Section4_2_DeleteWithObject_SetsTheDeletionRv()
    {
        var store = NewStore();
        store.Add(Pod("ns", "a", "5"));
        store.Delete(Pod("ns", "a", "9"));
        Assert.Equal("9", store.LastStoreSyncResourceVersion);
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public void Section4_2_DeleteWithNullObject_LeavesTheRvUnchanged()
    {
        var store = NewStore();
        store.Add(Pod("ns", "a", "5"));
        store.DeleteWithObject("ns/a", null);
        Assert.Equal("5", store.LastStoreSyncResourceVersion);
        Assert.False(store.TryGetByKey("ns/a", out _));
    }

    [Fact]
    public void Section4_2_TombstoneDelete_LeavesTheRvUnchanged()
    {
        var store = NewStore();
        store.Add(Pod("ns", "a", "5"));
        store.Transaction([StoreTransaction<TestPod>.Delete(new DeletedFinalStateUnknown<TestPod>("ns/a", Pod("ns", "a", "3")))]);
        Assert.Equal("5", store.LastStoreSyncResourceVersion);
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public void Section4_2_DeleteOfAnUnknownKey_StillRecordsTheRv()
    {
        var store = NewStore();
        store.Add(Pod("ns", "a", "5"));
        store.Delete(Pod("ns", "gone", "8"));
        Assert.Equal("8", store.LastStoreSyncResourceVersion);
        Assert.Equal(1, store.Count);
    }

    [Theory]
    [InlineData(new[] { "40", "30", "50" }, "50")]
    [InlineData(new[] { "40", "50", "30" }, "30")]
    public void Section4_2_Transaction_TakesTheLastObjectsRvOnly(string[] rvs, string expected)
    {
        var store = NewStore();
        store.Transaction(rvs.Select((rv, i) => StoreTransaction<TestPod>.Add(Pod("ns", "p" + i, rv))).ToArray());
        Assert.Equal(expected, store.LastStoreSyncResourceVersion);
        Assert.Equal(3, store.Count);
    }

    [Fact]
    public void Section4_2_EmptyTransaction_IsANoOp()
    {
        var store = NewStore();
        store.Add(Pod("ns", "a", "5"));
        store.Transaction([]);
        Assert.Equal("5", store.LastStoreSyncResourceVersion);
    }

    [Fact]
    public void Section4_2_TransactionEndingInNonMeta_LeavesTheRvUnchanged()
    {
        var store = NewStore();
        store.Transaction([StoreTransaction<TestPod>.Add(Pod("ns", "a", "7")), StoreTransaction<TestPod>.Add(NoMeta())]);
        Assert.Equal("", store.LastStoreSyncResourceVersion);
    }

    [Fact]
    public void Section3_2_TransactionPartialFailure_ReportsSuccessfulIndices()
    {
        var store = Store.Create<TestPod>(); // the default key function rejects pods without metadata
        var ex = Assert.Throws<TransactionException>(() => store.Transaction(
        [
            StoreTransaction<TestPod>.Add(Pod("ns", "a", "1")),
            StoreTransaction<TestPod>.Add(NoMeta()),
            StoreTransaction<TestPod>.Add(Pod("ns", "b", "2")),
        ]));
        Assert.Equal([0, 2], ex.SuccessfulIndices);
        Assert.IsType<KeyException>(Assert.Single(ex.Errors));
        Assert.Equal(2, store.Count);
        Assert.Equal("2", store.LastStoreSyncResourceVersion);
    }

    [Theory]
    [InlineData("100")]
    [InlineData("")]
    public void Section4_2_Replace_SetsTheRvExactly_EvenEmpty(string rv)
    {
        var store = NewStore();
        store.Add(Pod("ns", "a", "5"));
        store.Replace([Pod("ns", "b", "90"), Pod("ns", "c", "95")], rv);
        Assert.Equal(rv, store.LastStoreSyncResourceVersion);
        Assert.Equal(["ns/b", "ns/c"], store.ListKeys().Order());
    }

    [Theory]
    [InlineData("100")]
    [InlineData("")]
    public void Section4_2_Bookmark_SetsTheRvExactly_EvenEmpty(string rv)
    {
        var store = NewStore();
        store.Add(Pod("ns", "a", "5"));
        store.Bookmark(rv);
        Assert.Equal(rv, store.LastStoreSyncResourceVersion);
        Assert.Equal(1, store.Count);
    }

    [Fact]
    public void Section4_3_TrackingOff_AlwaysReportsEmpty()
    {
        var store = NewStore(track: false);
        store.Add(Pod("ns", "a", "5"));
        store.Replace([Pod("ns", "a", "6")], "6");
        store.Bookmark("7");
        Assert.Equal("", store.LastStoreSyncResourceVersion);
    }

    [Fact]
    public void Section4_2_Replace_WithUnkeyableItem_LeavesTheStoreUnchanged()
    {
        var store = Store.Create<TestPod>();
        store.Add(Pod("ns", "a", "5"));
        Assert.Throws<KeyException>(() => store.Replace([Pod("ns", "b", "9"), NoMeta()], "10"));
        Assert.Equal(["ns/a"], store.ListKeys());
        Assert.Equal("5", store.LastStoreSyncResourceVersion);
    }

    [Fact]
    public void Section4_4_And_9_2_StoreGauge_IsEmitted_OnEveryRvChange()
    {
        var identity = new InformerIdentity("gauge-test-" + Guid.NewGuid().ToString("N"), GroupVersionResource.Pods);
        using var metrics = InformerMetrics.Create(identity);
        var store = Store.Create(new StoreOptions<TestPod> { Metrics = metrics, KeyFunction = KeyOrPayload });

        Assert.Equal(0, ReadGauge(identity));
        store.Add(Pod("ns", "a", "1234567890123456789"));
        Assert.Equal(567890123456789, ReadGauge(identity)); // last 15 digits (§6.3)
        store.Add(Pod("ns", "b", "abc"));
        Assert.Equal(567890123456789, ReadGauge(identity)); // unparsable leaves the gauge as is
        store.Bookmark("");
        Assert.Equal(0, ReadGauge(identity)); // "" → 0
        store.Replace([], "77");
        Assert.Equal(77, ReadGauge(identity));
    }

    [Fact]
    public void Section9_2_DuplicateIdentity_GetsDisabledMetrics_UntilReleased()
    {
        var identity = new InformerIdentity("dup-" + Guid.NewGuid().ToString("N"), GroupVersionResource.Pods);
        var first = InformerMetrics.Create(identity);
        var second = InformerMetrics.Create(identity);
        Assert.True(first.IsEnabled);
        Assert.False(second.IsEnabled);
        first.Dispose();
        Assert.False(first.IsEnabled);
        using var third = InformerMetrics.Create(identity);
        Assert.True(third.IsEnabled);
        second.Dispose();
    }

    internal static long? ReadGauge(InformerIdentity identity, string instrument = InformerMetrics.StoreResourceVersionInstrument)
    {
        long? value = null;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (i, l) =>
        {
            if (i.Meter.Name == KubeConsistencyMeter.Name && i.Name == instrument)
            {
                l.EnableMeasurementEvents(i);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, measurement, tags, _) =>
        {
            var t = tags.ToArray().ToDictionary(kv => kv.Key, kv => kv.Value as string);
            if (t["name"] == identity.Name && t["resource"] == identity.Resource.Resource && t["group"] == identity.Resource.Group && t["version"] == identity.Resource.Version)
            {
                value = measurement;
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return value;
    }
}
