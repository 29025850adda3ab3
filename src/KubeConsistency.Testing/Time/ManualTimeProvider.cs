using Microsoft.Extensions.Time.Testing;

namespace KubeConsistency.Testing;

/// <summary>
/// <see cref="FakeTimeProvider"/> (its clock, <see cref="FakeTimeProvider.Advance(TimeSpan)"/>,
/// <see cref="FakeTimeProvider.SetUtcNow"/>, timers that fire in due order at their own due time) plus the one thing
/// deterministic tests of waiting code need and it lacks: knowing that the code under test <em>is now waiting</em>.
/// </summary>
/// <remarks>
/// <see cref="WaitForTimersAsync(int, CancellationToken)"/> and <see cref="WaitForTimerDueInAsync"/> complete once timers
/// are scheduled, so a test advances the clock only after the backoff, timeout or delay it means to skip has started,
/// instead of sleeping. <see cref="ActiveTimerCount"/> and <see cref="NextDueIn"/> describe what is scheduled.
/// </remarks>
public sealed class ManualTimeProvider : FakeTimeProvider
{
    private static readonly DateTimeOffset s_defaultStart = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly Lock _lock = new();
    // Armed: the inner timer has been started. Waiters see only armed timers, so a test that advances the clock as
    // soon as it sees a timer never does so before that timer can fire.
    private readonly Dictionary<TrackedTimer, (DateTimeOffset DueAt, TimeSpan Period, bool Armed)> _scheduled = [];
    private readonly List<(Func<IReadOnlyList<TimeSpan>, bool> Condition, TaskCompletionSource Signal)> _waiters = [];

    /// <summary>Creates the provider with the clock at <paramref name="start"/> (default 2026-01-01T00:00:00Z).</summary>
    /// <param name="start">The initial UTC time.</param>
    public ManualTimeProvider(DateTimeOffset? start = null)
        : base(start ?? s_defaultStart)
    {
    }

    /// <summary>The number of scheduled timers that have not fired (one-shot) or been disposed.</summary>
    public int ActiveTimerCount
    {
        get
        {
            lock (_lock)
            {
                return _scheduled.Count;
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
                var dueIn = DueInLocked();
                return dueIn.Count == 0 ? null : dueIn.Min();
            }
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
    /// <param name="condition">Evaluated, under the provider's lock, on the time until each scheduled timer fires.</param>
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
            _waiters.Add((condition, signal));
            return signal.Task.WaitAsync(cancellationToken);
        }
    }

    /// <inheritdoc/>
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var tracked = new TrackedTimer(this, callback);

        // Created stopped and then started through the tracker, so a timer is tracked before it can fire.
        tracked.Inner = base.CreateTimer(static s => ((TrackedTimer.State)s!).Fire(), new TrackedTimer.State(tracked, state), Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        tracked.Change(dueTime, period);
        return tracked;
    }

    private List<TimeSpan> DueInLocked()
    {
        var now = GetUtcNow();
        return [.. _scheduled.Values.Where(static t => t.Armed).Select(t => t.DueAt - now)];
    }

    /// <summary>Records a timer's schedule before its inner timer is started (so that a fire finds it), not yet armed.</summary>
    private void Track(TrackedTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        lock (_lock)
        {
            if (dueTime == Timeout.InfiniteTimeSpan)
            {
                _scheduled.Remove(timer);
                return;
            }

            _scheduled[timer] = (GetUtcNow() + dueTime, period == Timeout.InfiniteTimeSpan ? TimeSpan.Zero : period, false);
        }
    }

    /// <summary>Marks a timer armed once its inner timer runs (unless it already fired) and releases the waiters it satisfies.</summary>
    private void Armed(TrackedTimer timer)
    {
        List<TaskCompletionSource>? release = null;
        lock (_lock)
        {
            if (!_scheduled.TryGetValue(timer, out var entry))
            {
                return;
            }

            _scheduled[timer] = entry with { Armed = true };
            var dueIn = DueInLocked();
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Condition(dueIn))
                {
                    (release ??= []).Add(_waiters[i].Signal);
                    _waiters.RemoveAt(i);
                }
            }
        }

        release?.ForEach(s => s.TrySetResult());
    }

    private void Fired(TrackedTimer timer)
    {
        lock (_lock)
        {
            if (!_scheduled.TryGetValue(timer, out var entry))
            {
                return;
            }

            if (entry.Period > TimeSpan.Zero)
            {
                _scheduled[timer] = entry with { DueAt = entry.DueAt + entry.Period };
            }
            else
            {
                _scheduled.Remove(timer);
            }
        }
    }

    private void Untrack(TrackedTimer timer)
    {
        lock (_lock)
        {
            _scheduled.Remove(timer);
        }
    }

    /// <summary>A <see cref="FakeTimeProvider"/> timer whose schedule this provider mirrors.</summary>
    private sealed class TrackedTimer(ManualTimeProvider owner, TimerCallback callback) : ITimer
    {
        private bool _disposed;

        private ManualTimeProvider Owner => owner;

        private TimerCallback Callback => callback;

        public ITimer Inner { get; set; } = null!;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (Volatile.Read(ref _disposed))
            {
                return false;
            }

            ArgumentOutOfRangeException.ThrowIfLessThan(dueTime, Timeout.InfiniteTimeSpan);
            ArgumentOutOfRangeException.ThrowIfLessThan(period, Timeout.InfiniteTimeSpan);
            owner.Track(this, dueTime, period);
            var changed = Inner.Change(dueTime, period);
            owner.Armed(this);
            return changed;
        }

        public void Dispose()
        {
            Volatile.Write(ref _disposed, true);
            owner.Untrack(this);
            Inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }

        /// <summary>What the inner timer fires with: the tracker and the caller's state.</summary>
        public sealed class State(TrackedTimer timer, object? callerState)
        {
            public void Fire()
            {
                if (Volatile.Read(ref timer._disposed))
                {
                    return;
                }

                timer.Owner.Fired(timer);
                timer.Callback(callerState);
            }
        }
    }
}
