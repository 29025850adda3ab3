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
    public void Timers_FireInDueOrder_AtTheirOwnDueTime_AndPeriodicallyRepeat()
    {
        var time = new ManualTimeProvider();
        var start = time.GetUtcNow();
        var fired = new List<(string, TimeSpan)>();
        using var late = time.CreateTimer(_ => fired.Add(("late", time.GetUtcNow() - start)), null, TimeSpan.FromSeconds(3), Timeout.InfiniteTimeSpan);
        using var periodic = time.CreateTimer(_ => fired.Add(("tick", time.GetUtcNow() - start)), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        time.Advance(TimeSpan.FromSeconds(3.5));
        Assert.Equal([("tick", TimeSpan.FromSeconds(1)), ("tick", TimeSpan.FromSeconds(2)), ("late", TimeSpan.FromSeconds(3)), ("tick", TimeSpan.FromSeconds(3))], fired);
        Assert.Equal(TimeSpan.FromSeconds(3.5), time.GetUtcNow() - start);
        Assert.Equal(1, time.ActiveTimerCount);
        Assert.Equal(TimeSpan.FromSeconds(0.5), time.NextDueIn);
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
