using KubeConsistency.Testing;

namespace KubeConsistency.Tests.Testing;

public sealed class ManualTimeProviderTests
{
    [Fact]
    public async Task Delay_CompletesExactlyWhenTheClockReachesIt()
    {
        var time = new ManualTimeProvider();
        var delay = Task.Delay(TimeSpan.FromSeconds(5), time);
        await time.WaitForTimersAsync(1).WaitAsync(TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(4.999));
        Assert.False(delay.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        await delay.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void Timers_FireInDueOrder_AndPeriodicallyRepeat_WithFakeTimeProviderClockSemantics()
    {
        var time = new ManualTimeProvider();
        var start = time.GetUtcNow();
        var fired = new List<(string, TimeSpan)>();
        using var late = time.CreateTimer(_ => fired.Add(("late", time.GetUtcNow() - start)), null, TimeSpan.FromSeconds(3), Timeout.InfiniteTimeSpan);
        using var periodic = time.CreateTimer(_ => fired.Add(("tick", time.GetUtcNow() - start)), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        time.Advance(TimeSpan.FromSeconds(3.5));
        // FakeTimeProvider's rule: every callback that falls due runs, in due order, and reads the time advanced to.
        var at = TimeSpan.FromSeconds(3.5);
        Assert.Equal([("tick", at), ("tick", at), ("late", at), ("tick", at)], fired);
        Assert.Equal(TimeSpan.FromSeconds(3.5), time.GetUtcNow() - start);
        Assert.Equal(1, time.ActiveTimerCount);
        Assert.Equal(TimeSpan.FromSeconds(0.5), time.NextDueIn);
    }

    [Fact]
    public void IsAFakeTimeProvider_AndTracksWhatItSchedules()
    {
        var time = new ManualTimeProvider();
        Assert.IsAssignableFrom<Microsoft.Extensions.Time.Testing.FakeTimeProvider>(time);
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), time.GetUtcNow());
        Assert.Null(time.NextDueIn);
        var waiting = time.WaitForTimerDueInAsync(TimeSpan.FromSeconds(2));
        using var a = time.CreateTimer(_ => { }, null, TimeSpan.FromSeconds(5), Timeout.InfiniteTimeSpan);
        Assert.False(waiting.IsCompleted);
        using var b = time.CreateTimer(_ => { }, null, TimeSpan.FromSeconds(2), Timeout.InfiniteTimeSpan);
        Assert.True(waiting.IsCompletedSuccessfully);
        Assert.Equal(2, time.ActiveTimerCount);
        Assert.Equal(TimeSpan.FromSeconds(2), time.NextDueIn);
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, time.ActiveTimerCount);
        Assert.Equal(TimeSpan.FromSeconds(3), time.NextDueIn);
    }

    [Fact]
    public void AWaiterIsReleasedOnlyOnceItsTimerCanFire()
    {
        // The waiter advances the clock the moment it sees the timer, as a test thread can right after its wait
        // completes. Released before the inner timer was started, the advance came too early and the timer was
        // armed against the advanced clock: an 800 ms delay then never fired at +800 ms (a flaky reflector test).
        var time = new ManualTimeProvider();
        var advanced = time.WaitForTimersAsync(dueIn =>
        {
            if (!dueIn.Contains(TimeSpan.FromMilliseconds(800)))
            {
                return false;
            }

            time.Advance(TimeSpan.FromMilliseconds(800));
            return true;
        });
        var delay = Task.Delay(TimeSpan.FromMilliseconds(800), time);
        Assert.True(advanced.IsCompletedSuccessfully);
        Assert.True(delay.IsCompletedSuccessfully);
        Assert.Equal(0, time.ActiveTimerCount);
    }

    [Fact]
    public void DisposedAndChangedTimers_Behave()
    {
        var time = new ManualTimeProvider();
        var count = 0;
        var timer = time.CreateTimer(_ => count++, null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        Assert.True(timer.Change(TimeSpan.FromSeconds(10), Timeout.InfiniteTimeSpan));
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(0, count);
        timer.Dispose();
        Assert.False(timer.Change(TimeSpan.Zero, Timeout.InfiniteTimeSpan));
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(0, count);
        Assert.Throws<ArgumentOutOfRangeException>(() => time.Advance(TimeSpan.FromSeconds(-1)));
    }

    [Fact]
    public void Timestamps_FollowTheClock()
    {
        var time = new ManualTimeProvider();
        var t0 = time.GetTimestamp();
        time.Advance(TimeSpan.FromMilliseconds(1500));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), time.GetElapsedTime(t0));
    }
}
