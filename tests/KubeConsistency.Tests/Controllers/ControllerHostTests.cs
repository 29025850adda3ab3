using System.Threading.Channels;
using KubeConsistency.Consistency;
using KubeConsistency.Controllers;
using KubeConsistency.Testing;
using KubeConsistency.Tests.Controllers.WorkQueue;
using Microsoft.Extensions.Logging;

namespace KubeConsistency.Tests.Controllers;

/// <summary>The work-queue controller host: Go's Run/worker/processNextWorkItem loop.</summary>
public sealed class ControllerHostTests
{
    private static readonly TimeSpan BaseDelay = TimeSpan.FromMilliseconds(5);

    [Fact]
    public async Task Workers_start_only_after_every_handler_registration_has_synced()
    {
        var calls = Channel.CreateUnbounded<string>();
        var controller = Controller.Create(Options(workers: 2), (key, _) =>
        {
            calls.Writer.TryWrite(key);
            return ValueTask.FromResult(ReconcileResult.Done);
        });
        controller.Queue.Add("ns/a");
        var first = new FakeRegistration();
        var second = new FakeRegistration();
        using var stop = new CancellationTokenSource();

        var run = controller.RunAsync([first, second], stop.Token);
        first.MarkSynced();

        Assert.False(controller.IsRunning);
        Assert.Equal(1, controller.Queue.Len);
        Assert.False(calls.Reader.TryRead(out _));

        second.MarkSynced();
        Assert.Equal("ns/a", await calls.Reader.NextAsync());

        await stop.CancelAsync();
        await run.WaitAsync(ControllerTest.Guard);
        Assert.True(controller.Queue.ShuttingDown);
        Assert.False(controller.IsRunning);
    }

    [Fact]
    public async Task Sync_functions_are_polled_on_the_time_provider()
    {
        var time = new ManualTimeProvider();
        var calls = Channel.CreateUnbounded<string>();
        var controller = Controller.Create(Options(time: time), (key, _) =>
        {
            calls.Writer.TryWrite(key);
            return ValueTask.FromResult(ReconcileResult.Done);
        });
        controller.Queue.Add("ns/a");
        var synced = 0;
        using var stop = new CancellationTokenSource();

        var run = controller.RunAsync([() => Volatile.Read(ref synced) == 1], stop.Token);
        await time.WaitForTimerDueInAsync(TimeSpan.FromMilliseconds(100)).WaitAsync(ControllerTest.Guard);
        Assert.Equal(1, controller.Queue.Len);

        Volatile.Write(ref synced, 1);
        time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal("ns/a", await calls.Reader.NextAsync());

        await stop.CancelAsync();
        await run.WaitAsync(ControllerTest.Guard);
    }

    [Fact]
    public async Task Stopped_before_the_caches_synced_starts_no_worker()
    {
        var called = false;
        var controller = Controller.Create(Options(), (_, _) =>
        {
            called = true;
            return ValueTask.FromResult(ReconcileResult.Done);
        });
        controller.Queue.Add("ns/a");
        using var stop = new CancellationTokenSource();

        var run = controller.RunAsync([new FakeRegistration()], stop.Token);
        await stop.CancelAsync();
        await run.WaitAsync(ControllerTest.Guard);

        Assert.False(called);
        Assert.True(controller.Queue.ShuttingDown);
    }

    [Fact]
    public async Task A_failing_reconcile_is_logged_and_retried_with_exponential_backoff_then_forgotten_on_success()
    {
        var time = new ManualTimeProvider();
        var logger = new FakeLogger();
        var attempts = Channel.CreateUnbounded<(int Attempt, int RequeuesAtEntry)>();
        var attempt = 0;
        IController? controller = null;
        controller = Controller.Create(Options(time: time, logger: logger), (key, _) =>
        {
            var n = Interlocked.Increment(ref attempt);
            attempts.Writer.TryWrite((n, controller!.Queue.NumRequeues(key)));
            return n is >= 1 and <= 3 ? throw new InvalidOperationException("boom " + n) : ValueTask.FromResult(ReconcileResult.Done);
        });
        controller.Queue.Add("ns/a");
        using var stop = new CancellationTokenSource();
        var run = controller.RunAsync(stop.Token);

        Assert.Equal((1, 0), await attempts.Reader.NextAsync());
        foreach (var (delay, expected) in new[] { (BaseDelay, (2, 1)), (BaseDelay * 2, (3, 2)), (BaseDelay * 4, (4, 3)) })
        {
            // The default controller rate limiter: 5 ms doubling per failure of this key.
            await time.WaitForTimerDueInAsync(delay).WaitAsync(ControllerTest.Guard);
            time.Advance(delay);
            Assert.Equal(expected, await attempts.Reader.NextAsync());
        }

        // Success forgot the key: the next reconcile starts with no requeues.
        controller.Queue.Add("ns/a");
        Assert.Equal((5, 0), await attempts.Reader.NextAsync());

        var errors = logger.Collector.GetSnapshot().Where(e => e.Id.Id == 5007).ToList();
        Assert.Equal(3, errors.Count);
        Assert.All(errors, e => Assert.Equal(LogLevel.Error, e.Level));
        Assert.Contains("ns/a", errors[2].Message, StringComparison.Ordinal);

        await stop.CancelAsync();
        await run.WaitAsync(ControllerTest.Guard);
    }

    [Fact]
    public async Task Results_drive_the_queue_requeue_after_rate_limited_and_stale_skips()
    {
        var time = new ManualTimeProvider();
        var logger = new FakeLogger();
        var results = new Queue<ReconcileResult>(
        [
            ReconcileResult.RequeueAfter(TimeSpan.FromSeconds(30)),
            ReconcileResult.RequeueRateLimited,
            ReconcileResult.StaleSyncSkipped(new ConsistencyError("5", "10", GroupResource.Pods)),
            ReconcileResult.Done,
        ]);
        var entries = Channel.CreateUnbounded<int>();
        IController? controller = null;
        controller = Controller.Create(Options(time: time, logger: logger), (key, _) =>
        {
            entries.Writer.TryWrite(controller!.Queue.NumRequeues(key));
            lock (results)
            {
                return ValueTask.FromResult(results.Dequeue());
            }
        });
        controller.Queue.Add("ns/a");
        using var stop = new CancellationTokenSource();
        var run = controller.RunAsync(stop.Token);

        Assert.Equal(0, await entries.Reader.NextAsync());

        // RequeueAfter: forgotten, then added after exactly the delay.
        await time.WaitForTimerDueInAsync(TimeSpan.FromSeconds(30)).WaitAsync(ControllerTest.Guard);
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(0, await entries.Reader.NextAsync());

        // RequeueRateLimited: first backoff step.
        await time.WaitForTimerDueInAsync(BaseDelay).WaitAsync(ControllerTest.Guard);
        time.Advance(BaseDelay);
        Assert.Equal(1, await entries.Reader.NextAsync());

        // StaleSyncSkipped: rate limited as well (§8.1 step 3), next backoff step, no error log.
        await time.WaitForTimerDueInAsync(BaseDelay * 2).WaitAsync(ControllerTest.Guard);
        time.Advance(BaseDelay * 2);
        Assert.Equal(2, await entries.Reader.NextAsync());
        Assert.DoesNotContain(logger.Collector.GetSnapshot(), e => e.Level == LogLevel.Error);
        Assert.Contains(logger.Collector.GetSnapshot(), e => e.Id.Id == 5009 && e.Message.Contains("pods", StringComparison.Ordinal));

        await stop.CancelAsync();
        await run.WaitAsync(ControllerTest.Guard);
    }

    [Fact]
    public async Task A_key_is_never_reconciled_concurrently_while_other_keys_run_in_parallel()
    {
        var entered = Channel.CreateUnbounded<string>();
        var releaseA = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var inA = 0;
        var maxInA = 0;
        var aRuns = 0;
        var controller = Controller.Create(Options(workers: 4), async (key, _) =>
        {
            if (key == "ns/a")
            {
                var now = Interlocked.Increment(ref inA);
                InterlockedMax(ref maxInA, now);
                entered.Writer.TryWrite(key + "#" + Interlocked.Increment(ref aRuns));
                if (aRuns == 1)
                {
                    await releaseA.Task;
                }

                Interlocked.Decrement(ref inA);
            }
            else
            {
                entered.Writer.TryWrite(key);
            }

            return ReconcileResult.Done;
        });
        using var stop = new CancellationTokenSource();
        var run = controller.RunAsync(stop.Token);

        controller.Queue.Add("ns/a");
        Assert.Equal("ns/a#1", await entered.Reader.NextAsync());
        controller.Queue.Add("ns/a");
        controller.Queue.Add("ns/a");
        controller.Queue.Add("ns/b");
        Assert.Equal("ns/b", await entered.Reader.NextAsync());

        releaseA.SetResult();
        Assert.Equal("ns/a#2", await entered.Reader.NextAsync());
        Assert.Equal(1, Volatile.Read(ref maxInA));

        await stop.CancelAsync();
        await run.WaitAsync(ControllerTest.Guard);
        Assert.Equal(2, Volatile.Read(ref aRuns));
    }

    [Fact]
    public async Task Stopping_lets_reconciles_in_flight_finish_and_drops_queued_keys()
    {
        var logger = new FakeLogger();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sawCancellation = false;
        var reconciled = new List<string>();
        var controller = Controller.Create(Options(logger: logger), async (key, ct) =>
        {
            lock (reconciled)
            {
                reconciled.Add(key);
            }

            entered.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
                sawCancellation = true;
                throw;
            }

            return ReconcileResult.Done;
        });
        controller.Queue.Add("ns/a");
        controller.Queue.Add("ns/b");
        using var stop = new CancellationTokenSource();
        var run = controller.RunAsync(stop.Token);
        await entered.Task.WaitAsync(ControllerTest.Guard);
        Assert.True(controller.IsRunning);

        await stop.CancelAsync();
        await run.WaitAsync(ControllerTest.Guard);

        Assert.True(sawCancellation);
        Assert.Equal(new[] { "ns/a" }, reconciled);
        Assert.True(controller.Queue.ShuttingDown);
        Assert.DoesNotContain(logger.Collector.GetSnapshot(), e => e.Level == LogLevel.Error);
        Assert.Contains(logger.Collector.GetSnapshot(), e => e.Id.Id == 5006);
    }

    [Fact]
    public async Task A_controller_runs_once_and_validates_its_options()
    {
        var controller = Controller.Create(Options(), (_, _) => ValueTask.FromResult(ReconcileResult.Done));
        using var stop = new CancellationTokenSource();
        await stop.CancelAsync();
        await controller.RunAsync(stop.Token).WaitAsync(ControllerTest.Guard);

        await Assert.ThrowsAsync<InvalidOperationException>(() => controller.RunAsync(stop.Token));
        Assert.Throws<ArgumentOutOfRangeException>(() => Controller.Create(new ControllerOptions { Name = "x", Workers = 0 }, (_, _) => default));
        Assert.Throws<ArgumentException>(() => Controller.Create(new ControllerOptions { Name = string.Empty }, (_, _) => default));
        Assert.Throws<ArgumentOutOfRangeException>(() => ReconcileResult.RequeueAfter(TimeSpan.FromSeconds(-1)));
    }

    private static ControllerOptions Options(int workers = 1, TimeProvider? time = null, ILogger? logger = null) => new()
    {
        Name = ControllerTest.UniqueName("host"),
        Workers = workers,
        TimeProvider = time ?? TimeProvider.System,
        Logger = logger,
    };

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
