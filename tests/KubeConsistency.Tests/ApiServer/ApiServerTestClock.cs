namespace KubeConsistency.Tests.ApiServer;

/// <summary>
/// A manual <see cref="TimeProvider"/> for the embedded API server tests: time moves only in <see cref="Advance"/>,
/// which fires due timers synchronously. (A public ManualTimeProvider is being added elsewhere; this one is local.)
/// </summary>
internal sealed class ApiServerTestClock : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<ManualTimer> _timers = [];
    private DateTimeOffset _now;

    public ApiServerTestClock(DateTimeOffset? start = null) => _now = start ?? new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => GetUtcNow().UtcTicks;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Moves time forward and runs every timer that becomes due, in due order.</summary>
    public void Advance(TimeSpan by)
    {
        DateTimeOffset target;
        lock (_lock)
        {
            target = _now + by;
        }

        while (true)
        {
            ManualTimer? next;
            lock (_lock)
            {
                next = _timers.Where(t => t.Due is { } d && d <= target).OrderBy(t => t.Due).FirstOrDefault();
                if (next is null)
                {
                    _now = target;
                    return;
                }

                if (next.Due > _now)
                {
                    _now = next.Due!.Value;
                }

                next.Due = next.Period is { } p && p > TimeSpan.Zero ? _now + p : null;
            }

            next.Fire();
        }
    }

    private sealed class ManualTimer : ITimer
    {
        private readonly ApiServerTestClock _clock;
        private readonly TimerCallback _callback;
        private readonly object? _state;

        public ManualTimer(ApiServerTestClock clock, TimerCallback callback, object? state)
        {
            _clock = clock;
            _callback = callback;
            _state = state;
            lock (clock._lock)
            {
                clock._timers.Add(this);
            }
        }

        public DateTimeOffset? Due { get; set; }

        public TimeSpan? Period { get; private set; }

        public void Fire() => _callback(_state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (_clock._lock)
            {
                Period = period == Timeout.InfiniteTimeSpan ? null : period;
                Due = dueTime == Timeout.InfiniteTimeSpan ? null : _clock._now + dueTime;
            }

            // A zero due time fires at once, like a real timer would.
            if (dueTime == TimeSpan.Zero)
            {
                _clock.Advance(TimeSpan.Zero);
            }

            return true;
        }

        public void Dispose()
        {
            lock (_clock._lock)
            {
                Due = null;
                _clock._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
