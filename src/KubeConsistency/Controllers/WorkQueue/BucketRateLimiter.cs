namespace KubeConsistency.Controllers;

/// <summary>
/// A token bucket shared by all keys (Go: <c>TypedBucketRateLimiter</c>), computing what
/// <c>golang.org/x/time/rate</c>'s <c>Limiter.Reserve().Delay()</c> computes: refill <c>limit</c> tokens per second
/// up to <c>burst</c>, take one token per call (the balance may go negative), and wait until the balance would be
/// back at zero.
/// </summary>
internal sealed class BucketRateLimiter<T> : IRateLimiter<T>
    where T : notnull
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly double _limit;
    private int _burst;
    private double _tokens;
    private long _last;

    public BucketRateLimiter(double limit, int burst, TimeProvider time)
    {
        _limit = limit;
        _burst = burst;
        _time = time;
        _tokens = burst;
        _last = time.GetTimestamp();
    }

    public TimeSpan When(T item)
    {
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            if (double.IsPositiveInfinity(_limit))
            {
                return TimeSpan.Zero;
            }

            if (_limit == 0)
            {
                // x/time/rate: with a zero limit only the burst can ever be spent, and it is never refilled.
                if (_burst >= 1)
                {
                    _burst--;
                    return TimeSpan.Zero;
                }

                return TimeSpan.MaxValue;
            }

            // advance(): refill for the time since the last reservation, capped at the burst.
            var last = Math.Min(_last, now);
            var tokens = _tokens + (_time.GetElapsedTime(last, now).TotalSeconds * _limit);
            if (tokens > _burst)
            {
                tokens = _burst;
            }

            // reserveN(now, 1, InfDuration)
            tokens -= 1;
            var wait = tokens < 0 ? DurationFromTokens(-tokens) : TimeSpan.Zero;
            if (_burst < 1)
            {
                return TimeSpan.MaxValue;
            }

            _last = now;
            _tokens = tokens;
            return wait;
        }
    }

    public int NumRequeues(T item) => 0;

    public void Forget(T item)
    {
    }

    private TimeSpan DurationFromTokens(double tokens)
    {
        var ticks = tokens / _limit * TimeSpan.TicksPerSecond;
        return ticks >= TimeSpan.MaxValue.Ticks ? TimeSpan.MaxValue : TimeSpan.FromTicks((long)ticks);
    }
}
