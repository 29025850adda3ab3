using KubeConsistency.Cache;
using static KubeConsistency.Tests.TestObjects;

namespace KubeConsistency.Tests.Cache;

/// <summary>Deltas and their payloads compare by value, so a test can assert on what a FIFO popped.</summary>
public sealed class DeltaEqualityTests
{
    [Fact]
    public async Task A_delta_built_by_a_user_equals_the_popped_one()
    {
        var pod = Pod("ns", "a", "1");
        var fifo = RealFifo.Create(new RealFifoOptions<TestPod> { EmitDeltaTypeBookmark = true });
        fifo.Add(pod);
        fifo.Replace([pod], "5");
        fifo.Bookmark("6");
        var popped = new List<Delta<TestPod>>();
        while (fifo.Count > 0)
        {
            await fifo.PopAsync((d, _) => popped.Add(d));
        }

        // The popped Added delta carries a cached key the user's does not: equality ignores it.
        Assert.Equal(new Delta<TestPod>(DeltaType.Added, pod), popped[0]);
        Assert.True(new Delta<TestPod>(DeltaType.Added, pod) == popped[0]);
        Assert.Equal(new Delta<TestPod>(DeltaType.ReplacedAll, new ReplacedAllInfo<TestPod>("5", [pod])), popped[1]);
        Assert.Equal(new Delta<TestPod>(DeltaType.Bookmark, new BookmarkInfo("6")), popped[2]);
        Assert.Equal(new Delta<TestPod>(DeltaType.Added, pod).GetHashCode(), popped[0].GetHashCode());
        Assert.NotEqual(new Delta<TestPod>(DeltaType.Updated, pod), popped[0]);
        Assert.True(new Delta<TestPod>(DeltaType.Updated, pod) != popped[0]);
        Assert.NotEqual(new Delta<TestPod>(DeltaType.Added, Pod("ns", "a", "1")), popped[0]); // another instance of a class without value equality
    }

    [Fact]
    public void ReplacedAllInfo_compares_its_list_element_by_element()
    {
        var a = Pod("ns", "a", "1");
        var b = Pod("ns", "b", "2");
        Assert.Equal(new ReplacedAllInfo<TestPod>("5", [a, b]), new ReplacedAllInfo<TestPod>("5", new List<TestPod> { a, b }));
        Assert.Equal(new ReplacedAllInfo<TestPod>("5", [a, b]).GetHashCode(), new ReplacedAllInfo<TestPod>("5", new List<TestPod> { a, b }).GetHashCode());
        Assert.NotEqual(new ReplacedAllInfo<TestPod>("5", [a, b]), new ReplacedAllInfo<TestPod>("5", [b, a]));
        Assert.NotEqual(new ReplacedAllInfo<TestPod>("5", [a]), new ReplacedAllInfo<TestPod>("6", [a]));
        Assert.False(new ReplacedAllInfo<TestPod>("5", [a]).Equals(null));
    }

    [Fact]
    public void Tombstones_compare_by_key_and_last_known_state()
    {
        var a = Pod("ns", "a", "1");
        Assert.Equal(new DeletedFinalStateUnknown<TestPod>("ns/a", a), new DeletedFinalStateUnknown<TestPod>("ns/a", a));
        Assert.Equal(new DeletedFinalStateUnknown<TestPod>("ns/a", null), new DeletedFinalStateUnknown<TestPod>("ns/a", null));
        Assert.Equal(new DeletedFinalStateUnknown<TestPod>("ns/a", a).GetHashCode(), new DeletedFinalStateUnknown<TestPod>("ns/a", a).GetHashCode());
        Assert.NotEqual(new DeletedFinalStateUnknown<TestPod>("ns/a", a), new DeletedFinalStateUnknown<TestPod>("ns/b", a));
        Assert.NotEqual(new DeletedFinalStateUnknown<TestPod>("ns/a", a), new DeletedFinalStateUnknown<TestPod>("ns/a", null));
        Assert.False(new DeletedFinalStateUnknown<TestPod>("ns/a", a).Equals(null));
    }
}
