using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using KubeConsistency.Client;
using KubeConsistency.Informers;
using KubeConsistency.Testing;
using Microsoft.Extensions.Logging;
using static KubeConsistency.Tests.TestObjects;

namespace KubeConsistency.Tests.Informers;

/// <summary>
/// Reflector edges of upstream-semantics.md §5 the mutation run found untested: what each failure is logged and
/// counted as, which failures relist and which resume, the one-second and progress boundaries, and that every watch
/// stream and watchdog is released.
/// </summary>
public sealed class ReflectorEdgeTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(800);

    private static KubernetesApiException ServerError() => new(HttpStatusCode.InternalServerError, "InternalError", "etcd hiccup");

    private static WatchDecodeException DecodeError() => new("not JSON", "garbage{"u8);

    private static KubernetesTransportException Reset() => new("connection reset", new IOException("reset by peer"));

    private static KubernetesTransportException Refused() =>
        new("connection refused", new HttpRequestException("no connection", new SocketException((int)SocketError.ConnectionRefused)));

    [Fact]
    public async Task Section5_AFailedList_IsLoggedAsAListFailure_WithTheBackoffDelay()
    {
        await using var rig = new ReflectorRig();
        var error = ServerError();
        (await rig.Source.NextListAsync()).Reply.SetException(error);
        await rig.TimerDueIn(FirstBackoff);

        var entry = rig.Log.Single("CycleFailed");
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Equal("pods: list failed; retrying the list-and-watch cycle in 00:00:00.8000000", entry.Message);
        Assert.Same(error, entry.Exception);
        Assert.Equal(1, rig.Stats.ListFailures);
        Assert.Equal(0, rig.Stats.Lists);
    }

    [Fact]
    public async Task Section5_3_AFailedWatch_IsLoggedAsAWatchFailure_AndReleasesItsStreamAndWatchdog()
    {
        await using var rig = new ReflectorRig();
        var watch = await rig.ListThenWatchAsync("10");
        watch.Fail(DecodeError());
        await rig.TimerDueIn(FirstBackoff);
        await watch.Disposed.WaitAsync(Wait);
        Assert.Equal(1, rig.Time.ActiveTimerCount); // the backoff alone: the watch's watchdog went with its stream

        var entry = rig.Log.Single("CycleFailed");
        Assert.Equal("pods: watch failed; retrying the list-and-watch cycle in 00:00:00.8000000", entry.Message);
        Assert.IsType<WatchDecodeException>(entry.Exception);
        Assert.Equal((1L, 1L, 1L), (rig.Stats.Lists, rig.Stats.Watches, rig.Stats.WatchFailures));
    }

    [Fact]
    public async Task Section5_AFailingResync_IsLoggedAsAResyncFailure_NamingItsCause()
    {
        await using var rig = new ReflectorRig(resyncCheckPeriod: TimeSpan.FromSeconds(30), shouldResync: () => throw new InvalidOperationException("resync broke"));
        var watch = await rig.ListThenWatchAsync("10");
        await rig.TimerDueIn(TimeSpan.FromSeconds(30));
        rig.Time.Advance(TimeSpan.FromSeconds(30));
        await rig.TimerDueIn(FirstBackoff);
        await watch.Disposed.WaitAsync(Wait);

        var resync = rig.Log.Single("ResyncFailed");
        Assert.Equal(LogLevel.Error, resync.Level);
        Assert.Equal("pods: resync failed; ending the watch", resync.Message);
        Assert.Equal("resync broke", resync.Exception?.Message);

        var cycle = rig.Log.Single("CycleFailed");
        Assert.Equal("pods: resync failed; retrying the list-and-watch cycle in 00:00:00.8000000", cycle.Message);
        var error = Assert.IsType<InvalidOperationException>(cycle.Exception);
        Assert.Equal("resync failed: resync broke", error.Message);
        Assert.Equal("resync broke", error.InnerException?.Message);
    }

    [Fact]
    public async Task Section5_AWatchFailure_WhileResyncIsOn_EndsTheResyncCheck_ThenRelists()
    {
        var checks = 0;
        await using var rig = new ReflectorRig(resyncCheckPeriod: TimeSpan.FromSeconds(30), shouldResync: () => Interlocked.Increment(ref checks) < 0);
        var watch = await rig.ListThenWatchAsync("10");
        await rig.TimerDueIn(TimeSpan.FromSeconds(30)); // the resync check is waiting
        watch.Fail(DecodeError());

        await rig.TimerDueIn(FirstBackoff);
        Assert.Equal(1, rig.Time.ActiveTimerCount); // the resync check's timer went with the watch
        rig.Time.Advance(FirstBackoff);
        var (relist, _) = await rig.Source.NextListAsync();
        Assert.Equal("10", relist.ResourceVersion);
        Assert.Equal(0, checks);
    }

    [Fact]
    public async Task Section5_AFatalErrorInTheResyncCheck_IsNotSwallowed_WhenTheWatchEnds()
    {
        var checked_ = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var rig = new ReflectorRig(resyncCheckPeriod: TimeSpan.FromSeconds(30), shouldResync: () =>
        {
            checked_.TrySetResult();
#pragma warning disable CA2201 // the one exception the reflector must never swallow: simulated on purpose
            throw new OutOfMemoryException("simulated");
#pragma warning restore CA2201
        });
        var watch = await rig.ListThenWatchAsync("10");
        await rig.TimerDueIn(TimeSpan.FromSeconds(30));
        rig.Time.Advance(TimeSpan.FromSeconds(30));
        await checked_.Task.WaitAsync(Wait);
        watch.Fail(DecodeError());

        var fatal = await Assert.ThrowsAsync<OutOfMemoryException>(() => rig.Run.WaitAsync(Wait));
        Assert.Equal("simulated", fatal.Message);
    }

    [Fact]
    public async Task Section5_3_AWatchStreamCancelledFromTheServerSide_IsAFailedCycle_NotASilentOne()
    {
        // An HTTP timeout surfaces as a TaskCanceledException the reflector did not ask for: a failure, logged as one.
        await using var rig = new ReflectorRig();
        var watch = await rig.ListThenWatchAsync("10");
        watch.Fail(new TaskCanceledException("the request timed out"));
        await rig.TimerDueIn(FirstBackoff);

        var entry = rig.Log.Single("CycleFailed");
        Assert.Equal("pods: watch failed; retrying the list-and-watch cycle in 00:00:00.8000000", entry.Message);
        Assert.IsType<TaskCanceledException>(entry.Exception);
        Assert.Equal(1L, rig.Stats.WatchFailures); // counted like any other failed watch
        rig.Time.Advance(FirstBackoff);
        Assert.Equal("10", (await rig.Source.NextListAsync()).Options.ResourceVersion);
    }

    [Fact]
    public async Task Section5_3_AWatchEndingAfterExactlyOneSecond_WithoutEvents_IsNotVeryShort_AndIsResumed()
    {
        await using var rig = new ReflectorRig();
        var watch = await rig.ListThenWatchAsync("10");
        rig.Time.Advance(TimeSpan.FromSeconds(1));
        watch.End();

        var next = await rig.Source.NextWatchAsync();
        Assert.Equal("10", next.Options.ResourceVersion);
        await watch.Disposed.WaitAsync(Wait);
        Assert.Equal(1, rig.Time.ActiveTimerCount); // the new watch's watchdog alone
        Assert.Single(rig.Source.ListCalls);
        Assert.Equal((2L, 0L), (rig.Stats.Watches, rig.Stats.WatchFailures));
        var ended = rig.Log.Single("WatchEnded");
        Assert.Equal(LogLevel.Debug, ended.Level);
        Assert.Equal("pods: watch ended cleanly at resource version 10; re-watching", ended.Message);
    }

    [Fact]
    public async Task Section5_3_AWatchEndingAtOnce_AfterAnEvent_IsNotVeryShort()
    {
        await using var rig = new ReflectorRig();
        var watch = await rig.ListThenWatchAsync("10");
        watch.Added(Pod("ns", "a", "11"));
        watch.End();

        var next = await rig.Source.NextWatchAsync();
        Assert.Equal("11", next.Options.ResourceVersion);
        Assert.Single(rig.Source.ListCalls);
        Assert.Equal(0, rig.Stats.WatchFailures);
    }

    [Fact]
    public async Task Section5_3_AVeryShortWatch_FailsTheCycle_WithUpstreamsReason()
    {
        await using var rig = new ReflectorRig();
        var watch = await rig.ListThenWatchAsync("10");
        watch.End();
        await rig.TimerDueIn(FirstBackoff);

        var entry = rig.Log.Single("CycleFailed");
        Assert.Equal("pods: watch failed; retrying the list-and-watch cycle in 00:00:00.8000000", entry.Message);
        var error = Assert.IsType<WatchEndedTooSoonException>(entry.Exception);
        Assert.Equal("very short watch: the watch lasted less than a second and delivered no events", error.Message);
        Assert.Equal(1, rig.Stats.WatchFailures);
        await watch.Disposed.WaitAsync(Wait);
    }

    [Fact]
    public async Task Section5_3_AStreamBrokenAtOnce_WithoutEvents_Relists_AfterABackoff()
    {
        await using var rig = new ReflectorRig();
        var watch = await rig.ListThenWatchAsync("10");
        var error = Reset();
        watch.Fail(error);
        await rig.TimerDueIn(FirstBackoff);

        Assert.Same(error, rig.Log.Single("CycleFailed").Exception);
        Assert.Empty(rig.Log.Named("WatchFailed")); // a reset is not a refused connection
        rig.Time.Advance(FirstBackoff);
        Assert.Equal("10", (await rig.Source.NextListAsync()).Options.ResourceVersion);
        Assert.Equal(1, rig.Stats.WatchFailures);
    }

    [Fact]
    public async Task Section5_3_AStreamBrokenAfterExactlyOneSecond_IsAClosedWatch_ResumedAtOnce()
    {
        await using var rig = new ReflectorRig();
        var watch = await rig.ListThenWatchAsync("10");
        rig.Time.Advance(TimeSpan.FromSeconds(1));
        watch.Fail(Reset());

        var next = await rig.Source.NextWatchAsync(); // no backoff, no relist
        Assert.Equal("10", next.Options.ResourceVersion);
        Assert.Single(rig.Source.ListCalls);
        Assert.Equal(1, rig.Stats.WatchFailures);
        Assert.Equal("pods: watch ended cleanly at resource version 10; re-watching", rig.Log.Single("WatchEnded").Message);
        Assert.Empty(rig.Log.Named("CycleFailed"));
        await watch.Disposed.WaitAsync(Wait);
    }

    [Fact]
    public async Task Section5_3_ARefusedConnection_IsRetriedAfterABackoff_FromTheSameRv_WithoutRelisting()
    {
        // upstream isWatchErrorRetriable: connection refused means the apiserver is restarting; wait, then watch again.
        await using var rig = new ReflectorRig();
        var watch = await rig.ListThenWatchAsync("10");
        var error = Refused();
        watch.Fail(error);
        await rig.TimerDueIn(FirstBackoff);

        var failed = rig.Log.Single("WatchFailed");
        Assert.Equal(LogLevel.Warning, failed.Level);
        Assert.Equal("pods: watch failed; re-watching from the same resource version in 00:00:00.8000000", failed.Message);
        Assert.Same(error, failed.Exception);
        Assert.Empty(rig.Log.Named("CycleFailed"));
        Assert.Single(rig.Source.WatchCalls);

        rig.Time.Advance(FirstBackoff);
        var next = await rig.Source.NextWatchAsync();
        Assert.Equal("10", next.Options.ResourceVersion);
        Assert.Single(rig.Source.ListCalls);
        Assert.Equal(1, rig.Stats.WatchFailures);
    }

    [Fact]
    public async Task Section5_3_ARefusedConnection_AfterEvents_IsAClosedWatch_ResumedAtOnce()
    {
        await using var rig = new ReflectorRig();
        var watch = await rig.ListThenWatchAsync("10");
        watch.Added(Pod("ns", "a", "11"));
        Assert.Equal("add ns/a@11", await rig.Queue.NextAsync());
        watch.Fail(Refused());

        var next = await rig.Source.NextWatchAsync();
        Assert.Equal("11", next.Options.ResourceVersion);
        Assert.Empty(rig.Log.Named("WatchFailed"));
        Assert.Single(rig.Log.Named("WatchEnded"));
        Assert.Single(rig.Source.ListCalls);
    }

    [Fact]
    public async Task Section5_3_AThrottledWatch_WaitsTheServersRetryAfter_ThenResumesWithoutRelisting()
    {
        await using var rig = new ReflectorRig();
        var watch = await rig.ListThenWatchAsync("10");
        watch.Fail(new KubernetesApiException(HttpStatusCode.TooManyRequests, "TooManyRequests", "slow down", retryAfter: TimeSpan.FromSeconds(5)));
        await rig.TimerDueIn(TimeSpan.FromSeconds(5));

        var throttled = rig.Log.Single("WatchThrottled");
        Assert.Equal(LogLevel.Warning, throttled.Level);
        Assert.Equal("pods: the server throttled the watch; retrying in 00:00:05", throttled.Message);
        Assert.Equal(1, rig.Stats.WatchFailures);
        Assert.Single(rig.Source.WatchCalls);

        rig.Time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal("10", (await rig.Source.NextWatchAsync()).Options.ResourceVersion);
        Assert.Single(rig.Source.ListCalls);
        Assert.Empty(rig.Log.Named("CycleFailed"));
    }

    [Fact]
    public async Task Section5_3_AThrottledWatch_WithoutRetryAfter_UsesTheBackoff()
    {
        await using var rig = new ReflectorRig();
        var watch = await rig.ListThenWatchAsync("10");
        watch.Fail(new KubernetesApiException(HttpStatusCode.TooManyRequests, "TooManyRequests", "slow down"));
        await rig.TimerDueIn(FirstBackoff);
        Assert.Equal("pods: the server throttled the watch; retrying in 00:00:00.8000000", rig.Log.Single("WatchThrottled").Message);
        rig.Time.Advance(FirstBackoff);
        Assert.Equal("10", (await rig.Source.NextWatchAsync()).Options.ResourceVersion);
    }

    [Theory]
    [InlineData("Gone", "Gone")]
    [InlineData(null, "Expired")]
    public async Task Section5_1_AnExpiredWatch_IsCounted_AndLoggedWithTheServersReason(string? reason, string logged)
    {
        await using var rig = new ReflectorRig();
        var watch = await rig.ListThenWatchAsync("10");
        watch.Fail(new ResourceExpiredException(HttpStatusCode.Gone, reason, "too old resource version", null, null));
        await rig.TimerDueIn(FirstBackoff);

        var expired = rig.Log.Single("Expired");
        Assert.Equal(LogLevel.Information, expired.Level);
        Assert.Equal($"pods: resource version 10 expired ({logged}); relisting", expired.Message);
        Assert.Equal((1L, 1L), (rig.Stats.Expirations, rig.Stats.WatchFailures));
        await watch.Disposed.WaitAsync(Wait);
    }

    [Fact]
    public async Task Section5_3_ASilentWatch_IsLoggedWithItsSilenceLimit_AndItsStreamCancelledAndReleased()
    {
        await using var rig = new ReflectorRig(minWatchTimeout: TimeSpan.FromSeconds(10));
        var watch = await rig.ListThenWatchAsync("10");
        await rig.TimerDueIn(TimeSpan.FromSeconds(70)); // 10 s server-side timeout + 60 s grace, under the 3 min progress bound
        rig.Time.Advance(TimeSpan.FromSeconds(70));

        var next = await rig.Source.NextWatchAsync();
        Assert.Equal("10", next.Options.ResourceVersion);
        var silent = rig.Log.Single("WatchSilent");
        Assert.Equal(LogLevel.Warning, silent.Level);
        Assert.Equal("pods: no watch event for 00:01:10; the connection looks dead, re-watching", silent.Message);
        Assert.True(watch.Token.IsCancellationRequested);
        await watch.Disposed.WaitAsync(Wait);
    }

    [Fact]
    public async Task Section5_3_EventsReArmTheWatchdog_OnlyMoreThanASecondAfterTheLastReArm()
    {
        await using var rig = new ReflectorRig(watchProgressTimeout: TimeSpan.FromSeconds(10));
        var watch = await rig.ListThenWatchAsync("10");
        Assert.Equal(TimeSpan.FromSeconds(10), rig.Time.NextDueIn);

        rig.Time.Advance(TimeSpan.FromSeconds(1));
        watch.Added(Pod("ns", "a", "11"));
        Assert.Equal("add ns/a@11", await rig.Queue.NextAsync());
        Assert.Equal(TimeSpan.FromSeconds(9), rig.Time.NextDueIn); // exactly a second: not re-armed

        rig.Time.Advance(TimeSpan.FromSeconds(1));
        watch.Modified(Pod("ns", "a", "12"));
        Assert.Equal("update ns/a@12", await rig.Queue.NextAsync());
        Assert.Equal(TimeSpan.FromSeconds(10), rig.Time.NextDueIn); // two seconds: re-armed to the full bound
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Section5_3_AnEventTheQueueRejects_IsCountedLoggedAndSkipped_AndTheWatchGoesOn(bool keyError)
    {
        await using var rig = new ReflectorRig();
        rig.Queue.Reject = p => p.Metadata?.Name != "bad" ? null : keyError ? new KeyException(p, "no name") : new ArgumentException("bad object");
        var watch = await rig.ListThenWatchAsync("10");
        watch.Added(Pod("ns", "bad", "11"));
        watch.Added(Pod("ns", "a", "12"));

        Assert.Equal("add ns/a@12", await rig.Queue.NextAsync());
        var rejected = rig.Log.Single("EventRejected");
        Assert.Equal(LogLevel.Error, rejected.Level);
        Assert.Equal("pods: the queue rejected a Added event at resource version 11; the event is skipped", rejected.Message);
        Assert.IsType(keyError ? typeof(KeyException) : typeof(ArgumentException), rejected.Exception);
        Assert.Equal((1L, 2L, 0L), (rig.Stats.RejectedEvents, rig.Stats.Events, rig.Stats.WatchFailures));
        Assert.Single(rig.Source.WatchCalls);
    }

    [Fact]
    public async Task Section5_3_AnyOtherQueueFailure_FailsTheWatch_AndRelists()
    {
        await using var rig = new ReflectorRig();
        var watch = await rig.ListThenWatchAsync("10");
        rig.Queue.Reject = _ => new InvalidOperationException("queue closed");
        watch.Added(Pod("ns", "a", "11"));
        await rig.TimerDueIn(FirstBackoff);

        Assert.IsType<InvalidOperationException>(rig.Log.Single("CycleFailed").Exception);
        Assert.Equal((0L, 1L), (rig.Stats.RejectedEvents, rig.Stats.WatchFailures));
        Assert.Empty(rig.Log.Named("EventRejected"));
    }

    [Fact]
    public async Task Section5_3_BookmarksAreForwardedToTheQueue_AndEveryEventIsCounted()
    {
        await using var rig = new ReflectorRig();
        var watch = await rig.ListThenWatchAsync("10");
        watch.Bookmark("20");
        watch.Added(Pod("ns", "a", "21"));
        Assert.Equal(["bookmark 20", "add ns/a@21"], [await rig.Queue.NextAsync(), await rig.Queue.NextAsync()]);
        Assert.Equal(2, rig.Stats.Events);
    }

    [Fact]
    public async Task Section5_3_AWatchFromZero_DoesNotAdvanceOnAdded_LikeAWatchFromEmpty()
    {
        await using var rig = new ReflectorRig();
        var watch = await rig.ListThenWatchAsync(""); // a server that returns no list RV
        watch.Bookmark("0");
        Assert.Equal("bookmark 0", await rig.Queue.NextAsync());
        rig.Time.Advance(TimeSpan.FromSeconds(2));
        watch.End();

        var fromZero = await rig.Source.NextWatchAsync();
        Assert.Equal("0", fromZero.Options.ResourceVersion);
        fromZero.Added(Pod("ns", "a", "7")); // a synthetic initial ADDED: not RV-ordered
        Assert.Equal("add ns/a@7", await rig.Queue.NextAsync());
        rig.Time.Advance(TimeSpan.FromSeconds(2));
        fromZero.End();
        Assert.Equal("0", (await rig.Source.NextWatchAsync()).Options.ResourceVersion);
    }

    [Fact]
    public async Task Section5_3_WatchTimeout_IsTheMinimumTimesOnePlusTheRandomFactor()
    {
        await using var rig = new ReflectorRig(random: () => 0.5);
        var watch = await rig.ListThenWatchAsync("10");
        Assert.Equal(450, watch.Options.TimeoutSeconds); // 300 s × 1.5
        Assert.Equal(TimeSpan.FromMinutes(3), rig.Time.NextDueIn); // the progress bound is shorter than 450 s + 60 s
    }

    [Fact]
    public async Task Section5_3_AFinishedWatch_IsUnlinkedFromTheReflector_AndStoppingReleasesEverything()
    {
        await using var rig = new ReflectorRig();
        var first = await rig.ListThenWatchAsync("10");
        first.Added(Pod("ns", "a", "11"));
        first.End();
        var second = await rig.Source.NextWatchAsync();
        await first.Disposed.WaitAsync(Wait);

        await rig.StopAsync();
        Assert.True(rig.Run.IsCompletedSuccessfully);
        Assert.True(second.Token.IsCancellationRequested);
        Assert.False(first.Token.IsCancellationRequested); // its cancellation no longer hangs off the reflector's
        await second.Disposed.WaitAsync(Wait);
        Assert.Equal(0, rig.Time.ActiveTimerCount);
    }

    [Fact]
    public async Task Section5_1_AServerTimeoutWithoutTheTooLargeCause_IsAnOrdinaryListFailure()
    {
        await using var rig = new ReflectorRig();
        (await rig.Source.NextListAsync()).Reply.SetException(new KubernetesApiException(HttpStatusCode.GatewayTimeout, "Timeout", "the list timed out"));
        await rig.TimerDueIn(FirstBackoff);
        Assert.Equal((1L, 0L), (rig.Stats.ListFailures, rig.Stats.Expirations));
        Assert.Single(rig.Source.ListCalls);
    }

    [Theory]
    [InlineData("""[{"reason":"ResourceVersionTooLarge"}]""")]
    [InlineData("""[{"reason":"FieldValueInvalid"},{"reason":"ResourceVersionTooLarge"}]""")]
    public async Task Section5_1_AListAtATooLargeRv_IsRetriedImmediatelyFromEmpty(string causes)
    {
        await using var rig = new ReflectorRig();
        var status = JsonDocument.Parse("""{"kind":"Status","reason":"Timeout","details":{"causes":""" + causes + "}}").RootElement;
        (await rig.Source.NextListAsync()).Reply.SetException(new KubernetesApiException(HttpStatusCode.GatewayTimeout, "Timeout", "the resource version is newer than the server's", null, status));

        var (retry, reply) = await rig.Source.NextListAsync();
        Assert.Equal("", retry.ResourceVersion);
        reply.SetResult(FakeListWatch.Page("30", []));
        Assert.Equal("replace []@30", await rig.Queue.NextAsync());
        Assert.Equal((1L, 0L), (rig.Stats.Expirations, rig.Stats.ListFailures));
        Assert.Equal("pods: resource version 0 expired (Timeout); relisting", rig.Log.Single("Expired").Message);
    }
}

public sealed class ExponentialBackoffEdgeTests
{
    [Fact]
    public void Section5_TheBackoffResets_OnlyMoreThanTwoMinutesAfterThePreviousStep()
    {
        var time = new ManualTimeProvider();
        var backoff = new ExponentialBackoff(time, () => 0.0);
        Assert.Equal(TimeSpan.FromSeconds(0.8), backoff.Next());
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(TimeSpan.FromSeconds(1.6), backoff.Next()); // exactly two minutes: no reset
        time.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromTicks(1));
        Assert.Equal(TimeSpan.FromSeconds(0.8), backoff.Next());
    }
}
