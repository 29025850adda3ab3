using System.Net;
using KubeConsistency.Client;
using KubeConsistency.Informers;
using Microsoft.Extensions.Logging;
using static KubeConsistency.Tests.TestObjects;

namespace KubeConsistency.Tests.Informers;

/// <summary>Watch-list edges of upstream-semantics.md §5.2 the mutation run found untested.</summary>
public sealed class ReflectorEdgeTestsWatchList
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static ResourceExpiredException Expired() => new(HttpStatusCode.Gone, "Expired", "too old resource version", null, null);

    [Fact]
    public async Task Section5_2_AWatchList_AppliesDeletesAmongItsInitialEvents_CountsAndLogsTheSync_ThenWatchesOnWithTheWatchBound()
    {
        await using var rig = new ReflectorRig(useWatchList: true);
        var watch = await rig.Source.NextWatchAsync();
        Assert.Equal(1, rig.Stats.Watches);
        Assert.Equal(TimeSpan.FromSeconds(60), rig.Time.NextDueIn); // initial events: the request progress bound

        watch.Added(Pod("ns", "a", "5"));
        watch.Added(Pod("ns", "b", "6"));
        watch.Deleted(Pod("ns", "a", "7"));
        watch.Bookmark("40", initialEventsEnd: true);
        Assert.Equal("replace [ns/b]@40", await rig.Queue.NextAsync());
        await rig.TimerDueIn(TimeSpan.FromMinutes(3)); // from here on an ordinary watch, with the watch's silence bound
        Assert.Equal(1, rig.Time.ActiveTimerCount);
        Assert.Equal((1L, 1L, 4L), (rig.Stats.Watches, rig.Stats.WatchLists, rig.Stats.Events));
        var listed = rig.Log.Single("Listed");
        Assert.Equal(LogLevel.Information, listed.Level);
        Assert.Equal("pods: listed 1 items at resource version 40", listed.Message);

        // The same stream goes on, and its RVs propagate at once (they are ordered): even an ADDED moves the RV.
        watch.Added(Pod("ns", "c", "41"));
        Assert.Equal("add ns/c@41", await rig.Queue.NextAsync());
        rig.Time.Advance(TimeSpan.FromSeconds(2));
        watch.End();
        var next = await rig.Source.NextWatchAsync();
        Assert.Equal("41", next.Options.ResourceVersion);
        Assert.Null(next.Options.SendInitialEvents);
        Assert.Equal(2, rig.Stats.Watches);
        await watch.Disposed.WaitAsync(Wait);
        Assert.Empty(rig.Source.ListCalls);
    }

    [Fact]
    public async Task Section5_2_AWatchListEndingAtOnce_WithoutEvents_IsAVeryShortWatch_AndFallsBackToList()
    {
        await using var rig = new ReflectorRig(useWatchList: true);
        var watch = await rig.Source.NextWatchAsync();
        watch.End();

        var (list, _) = await rig.Source.NextListAsync(); // no backoff
        Assert.Equal("0", list.ResourceVersion);
        await watch.Disposed.WaitAsync(Wait);
        Assert.Equal(1, rig.Time.ActiveTimerCount); // the LIST page's progress bound alone: the watch-list's watchdog is gone
        Assert.Equal(1, rig.Stats.WatchListFallbacks);
        var fallback = rig.Log.Single("WatchListFallback");
        Assert.Equal(LogLevel.Warning, fallback.Level);
        var error = Assert.IsType<WatchEndedTooSoonException>(fallback.Exception);
        Assert.Equal("very short watch-list: the stream ended within a second without an event", error.Message);
        Assert.Empty(rig.Log.Named("WatchListReopened"));
    }

    [Fact]
    public async Task Section5_2_AWatchListEndingAtOnce_AfterEvents_IsReopened_AndLogged()
    {
        await using var rig = new ReflectorRig(useWatchList: true);
        var first = await rig.Source.NextWatchAsync();
        first.Added(Pod("ns", "a", "5"));
        first.Added(Pod("ns", "b", "6"));
        first.End();

        var second = await rig.Source.NextWatchAsync();
        Assert.True(second.Options.SendInitialEvents);
        await first.Disposed.WaitAsync(Wait);
        Assert.Equal(1, rig.Time.ActiveTimerCount); // the second watch-list's watchdog alone
        var reopened = rig.Log.Single("WatchListReopened");
        Assert.Equal(LogLevel.Information, reopened.Level);
        Assert.Equal("pods: the watch-list stream ended before the initial-events-end bookmark (2 events); re-opening it", reopened.Message);
        Assert.Empty(rig.Source.ListCalls);
        Assert.Equal((0L, 2L, 2L), (rig.Stats.WatchListFallbacks, rig.Stats.Events, rig.Stats.Watches));
    }

    [Fact]
    public async Task Section5_2_AWatchListEndingAfterExactlyOneSecond_WithoutEvents_IsReopened()
    {
        await using var rig = new ReflectorRig(useWatchList: true);
        var first = await rig.Source.NextWatchAsync();
        rig.Time.Advance(TimeSpan.FromSeconds(1));
        first.End();

        var second = await rig.Source.NextWatchAsync();
        Assert.True(second.Options.SendInitialEvents);
        Assert.Empty(rig.Source.ListCalls);
        Assert.Contains("(0 events)", rig.Log.Single("WatchListReopened").Message);
    }

    [Fact]
    public async Task Section5_2_AWatchListSilentForTheRequestBound_IsAStall_CountedLogged_AndFallsBackToList()
    {
        await using var rig = new ReflectorRig(useWatchList: true, requestProgressTimeout: TimeSpan.FromSeconds(30));
        var watch = await rig.Source.NextWatchAsync();
        Assert.Equal(TimeSpan.FromSeconds(30), rig.Time.NextDueIn);
        rig.Time.Advance(TimeSpan.FromSeconds(20));
        watch.Added(Pod("ns", "a", "5"));
        await rig.TimerDueIn(TimeSpan.FromSeconds(30)); // the event re-armed the bound
        rig.Time.Advance(TimeSpan.FromSeconds(30));

        var (list, _) = await rig.Source.NextListAsync();
        Assert.Equal("0", list.ResourceVersion);
        Assert.Equal((1L, 1L), (rig.Stats.Stalls, rig.Stats.WatchListFallbacks));
        var stalled = rig.Log.Single("RequestStalled");
        Assert.Equal(LogLevel.Warning, stalled.Level);
        Assert.Equal("pods: the watch-list's initial stream made no progress for 00:00:30; abandoned and retried", stalled.Message);
        var error = Assert.IsType<TimeoutException>(rig.Log.Single("WatchListFallback").Exception);
        Assert.Equal("the watch-list stream made no progress for 00:00:30", error.Message);
        await watch.Disposed.WaitAsync(Wait);
    }

    [Fact]
    public async Task Section5_2_StoppingDuringAWatchList_IsNotAFallback()
    {
        await using var rig = new ReflectorRig(useWatchList: true);
        var watch = await rig.Source.NextWatchAsync();
        await rig.StopAsync();

        Assert.True(rig.Run.IsCompletedSuccessfully);
        Assert.Equal(0, rig.Stats.WatchListFallbacks);
        Assert.Empty(rig.Log.Named("WatchListFallback"));
        Assert.Empty(rig.Source.ListCalls);
        await watch.Disposed.WaitAsync(Wait);
        Assert.Equal(0, rig.Time.ActiveTimerCount);
    }

    [Fact]
    public async Task Section5_2_AWatchListStreamCancelledFromTheServerSide_FallsBackToList_WithoutABackoff()
    {
        await using var rig = new ReflectorRig(useWatchList: true);
        var watch = await rig.Source.NextWatchAsync();
        watch.Fail(new OperationCanceledException("the server aborted the stream"));

        var (list, _) = await rig.Source.NextListAsync();
        Assert.Equal("0", list.ResourceVersion);
        Assert.Equal(1, rig.Stats.WatchListFallbacks);
        Assert.IsType<OperationCanceledException>(rig.Log.Single("WatchListFallback").Exception);
        Assert.Empty(rig.Log.Named("CycleFailed"));
    }

    [Fact]
    public async Task Section5_2_ABookmarkWithoutTheEndAnnotation_IsLoggedAsNoWatchListSupport_NamingTheReason()
    {
        await using var rig = new ReflectorRig(useWatchList: true);
        (await rig.Source.NextWatchAsync()).Bookmark("30");
        await rig.Source.NextListAsync();

        var unsupported = rig.Log.Single("WatchListUnsupported");
        Assert.Equal(LogLevel.Information, unsupported.Level);
        Assert.Equal(
            "pods: the server does not support watch-list (a bookmark without the k8s.io/initial-events-end annotation arrived during the initial events); using LIST + WATCH from now on",
            unsupported.Message);
        Assert.IsType<WatchListNotSupportedException>(rig.Log.Single("WatchListFallback").Exception);
    }

    [Fact]
    public async Task Section5_2_EachWatchListStartsFromTheLastRv_OrFromEmptyWhileThatRvIsUnavailable()
    {
        await using var rig = new ReflectorRig(useWatchList: true);

        // Cycle 1: synced at 40; the continued stream then expires.
        var first = await rig.Source.NextWatchAsync();
        Assert.Equal("", first.Options.ResourceVersion);
        first.Bookmark("40", initialEventsEnd: true);
        Assert.Equal("replace []@40", await rig.Queue.NextAsync());
        first.Fail(Expired());
        await rig.TimerDueIn(TimeSpan.FromMilliseconds(800));
        rig.Time.Advance(TimeSpan.FromMilliseconds(800));

        // Cycle 2: a watch-list from 40 expires; the fallback LIST does not reuse 40, and fails.
        var second = await rig.Source.NextWatchAsync();
        Assert.Equal("40", second.Options.ResourceVersion);
        second.Fail(Expired());
        var (list, reply) = await rig.Source.NextListAsync();
        Assert.Equal("", list.ResourceVersion);
        reply.SetException(new KubernetesApiException(HttpStatusCode.InternalServerError, "InternalError", "etcd hiccup"));
        await rig.TimerDueIn(TimeSpan.FromSeconds(1.6));
        rig.Time.Advance(TimeSpan.FromSeconds(1.6));

        // Cycle 3: 40 is still unavailable: a consistent watch-list, synced at 50; then the stream expires.
        var third = await rig.Source.NextWatchAsync();
        Assert.Equal("", third.Options.ResourceVersion);
        third.Bookmark("50", initialEventsEnd: true);
        Assert.Equal("replace []@50", await rig.Queue.NextAsync());
        third.Fail(Expired());
        await rig.TimerDueIn(TimeSpan.FromSeconds(3.2));
        rig.Time.Advance(TimeSpan.FromSeconds(3.2));

        // Cycle 4: the sync at 50 made the RV usable again.
        var fourth = await rig.Source.NextWatchAsync();
        Assert.Equal("50", fourth.Options.ResourceVersion);
        Assert.Equal((3L, 2L, 1L, 1L), (rig.Stats.Expirations, rig.Stats.WatchLists, rig.Stats.WatchListFallbacks, rig.Stats.ListFailures));
    }

    [Fact]
    public async Task Section5_2_AWatchListAsksForTheRandomisedWatchTimeout()
    {
        await using var rig = new ReflectorRig(useWatchList: true, random: () => 0.5);
        Assert.Equal(450, (await rig.Source.NextWatchAsync()).Options.TimeoutSeconds);
    }
}
