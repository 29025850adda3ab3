namespace KubeConsistency.Testing;

/// <summary>
/// A <see cref="TimeProvider"/> whose clock moves only when a test says so, for deterministic tests of
/// code that waits (backoff, resync periods, rate limiters, watch timeouts, delayed queues).
/// </summary>
/// <remarks>
/// Timers created through this provider (including <c>Task.Delay(delay, provider)</c>) fire synchronously
/// on the thread that calls <see cref="Advance"/> or <see cref="SetUtcNow"/>, each at its own due time and
/// in due-time order; the clock reads the due time while a callback runs. Use
/// <see cref="WaitForTimersAsync(int, CancellationToken)"/> or <see cref="WaitForTimerDueInAsync"/> to learn that the code under test has started waiting before advancing,
/// instead of sleeping.
/// </remarks>
public sealed class ManualTimeProvider : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<ManualTimer> _timers = [];
    private readonly List<(Func<IReadOnlyList<TimeSpan>, bool> Condition, TaskCompletionSource Signal)> _timerWaiters = [];
    private DateTimeOffset _now;
    private long _sequence;

    /// <summary>Creates the provider with the clock at <paramref name="start"/> (default 2026-01-01T00:00:00Z).</summary>
    /// <param name="start">The initial UTC time.</param>
    public ManualTimeProvider(DateTimeOffset? start = null) => _now = start ?? new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <inheritdoc/>
    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <inheritdoc/>
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <summary>The number of scheduled timers that have not fired (one-shot) or been disposed.</summary>
    public int ActiveTimerCount
    {
        get
        {
            lock (_lock)
            {
                return _timers.Count;
            }
        }
    }

    /// <summary>The time until the earliest scheduled timer, or <see langword="null"/> when none is scheduled.</summary>
    public TimeSpan? NextDueIn
    {
        get
        {
            lock (_lock)
            {
                return _timers.Count == 0 ? null : _timers.Min(t => t.DueAt) - _now;
            }
        }
    }

    /// <inheritdoc/>
    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    /// <inheritdoc/>
    public override long GetTimestamp()
    {
        lock (_lock)
        {
            return _now.UtcTicks;
        }
    }

    /// <summary>Moves the clock forward, firing every timer that falls due on the way.</summary>
    /// <param name="delta">How far to move; must not be negative.</param>
    public void Advance(TimeSpan delta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        DateTimeOffset target;
        lock (_lock)
        {
            target = _now + delta;
        }

        SetUtcNow(target);
    }

    /// <summary>Moves the clock forward to <paramref name="value"/>, firing every timer that falls due on the way.</summary>
    /// <param name="value">The new time; must not be earlier than the current time.</param>
    public void SetUtcNow(DateTimeOffset value)
    {
        while (true)
        {
            ManualTimer? due;
            lock (_lock)
            {
                ArgumentOutOfRangeException.ThrowIfLessThan(value, _now);
                due = null;
                foreach (var t in _timers)
                {
                    if (t.DueAt <= value && (due is null || t.DueAt < due.DueAt || (t.DueAt == due.DueAt && t.Sequence < due.Sequence)))
                    {
                        due = t;
                    }
                }

                if (due is null)
                {
                    _now = value;
                    return;
                }

                _now = due.DueAt;
                if (due.Period > TimeSpan.Zero)
                {
                    due.DueAt += due.Period;
                    due.Sequence = ++_sequence;
                }
                else
                {
                    _timers.Remove(due);
                }
            }

            due.Fire();
        }
    }

    /// <summary>
    /// Completes when at least <paramref name="count"/> timers are scheduled: the signal that the code under
    /// test is now waiting on this clock.
    /// </summary>
    /// <param name="count">How many active timers to wait for.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public Task WaitForTimersAsync(int count = 1, CancellationToken cancellationToken = default) =>
        WaitForTimersAsync(dueIn => dueIn.Count >= count, cancellationToken);

    /// <summary>
    /// Completes when a timer is scheduled to fire exactly <paramref name="dueIn"/> from now — e.g. a backoff of a
    /// known length — even while other timers (timeouts, watchdogs) are also scheduled.
    /// </summary>
    /// <param name="dueIn">The expected time until the timer fires.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public Task WaitForTimerDueInAsync(TimeSpan dueIn, CancellationToken cancellationToken = default) =>
        WaitForTimersAsync(all => all.Contains(dueIn), cancellationToken);

    /// <summary>Completes when the due-in times of the scheduled timers satisfy <paramref name="condition"/>.</summary>
    /// <param name="condition">Evaluated, under the clock's lock, on the time until each scheduled timer fires.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public Task WaitForTimersAsync(Func<IReadOnlyList<TimeSpan>, bool> condition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        lock (_lock)
        {
            if (condition(DueInLocked()))
            {
                return Task.CompletedTask;
            }

            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _timerWaiters.Add((condition, signal));
            return signal.Task.WaitAsync(cancellationToken);
        }
    }

    /// <inheritdoc/>
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    private void Schedule(ManualTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        List<TaskCompletionSource>? release = null;
        lock (_lock)
        {
            _timers.Remove(timer);
            if (dueTime == Timeout.InfiniteTimeSpan)
            {
                return;
            }

            timer.DueAt = _now + dueTime;
            timer.Period = period == Timeout.InfiniteTimeSpan ? TimeSpan.Zero : period;
            timer.Sequence = ++_sequence;
            _timers.Add(timer);
            var dueIn = DueInLocked();
            for (var i = _timerWaiters.Count - 1; i >= 0; i--)
            {
                if (_timerWaiters[i].Condition(dueIn))
                {
                    (release ??= []).Add(_timerWaiters[i].Signal);
                    _timerWaiters.RemoveAt(i);
                }
            }
        }

        release?.ForEach(s => s.TrySetResult());
    }

    private List<TimeSpan> DueInLocked() => [.. _timers.Select(t => t.DueAt - _now)];

    private void Unschedule(ManualTimer timer)
    {
        lock (_lock)
        {
            _timers.Remove(timer);
        }
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        private bool _disposed;

        public DateTimeOffset DueAt { get; set; }

        public TimeSpan Period { get; set; }

        public long Sequence { get; set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (_disposed)
            {
                return false;
            }

            ArgumentOutOfRangeException.ThrowIfLessThan(dueTime, Timeout.InfiniteTimeSpan);
            ArgumentOutOfRangeException.ThrowIfLessThan(period, Timeout.InfiniteTimeSpan);
            owner.Schedule(this, dueTime, period);
            return true;
        }

        public void Fire()
        {
            if (!_disposed)
            {
                callback(state);
            }
        }

        public void Dispose()
        {
            _disposed = true;
            owner.Unschedule(this);
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
