namespace KubeConsistency.Informers;

/// <summary>
/// client-go's reflector backoff (<c>NewExponentialBackoffManager(800ms, 30s, 2m, 2.0, 1.0)</c>, §5): the
/// delay doubles from <see cref="Initial"/> up to <see cref="Cap"/>, each step gets up to 100% jitter on top,
/// and the sequence restarts when more than <see cref="ResetAfter"/> passed since the previous backoff began.
/// </summary>
internal sealed class ExponentialBackoff(TimeProvider time, Func<double> random, TimeSpan initial, TimeSpan cap)
{
    public static readonly TimeSpan DefaultInitial = TimeSpan.FromMilliseconds(800);
    public static readonly TimeSpan DefaultCap = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan ResetAfter = TimeSpan.FromMinutes(2);

    public ExponentialBackoff(TimeProvider time, Func<double> random)
        : this(time, random, DefaultInitial, DefaultCap)
    {
    }

    public TimeSpan Initial => initial;

    public TimeSpan Cap => cap;
    private const double Factor = 2.0;
    private const double Jitter = 1.0;

    private TimeSpan _next = TimeSpan.Zero;
    private DateTimeOffset? _lastStart;

    /// <summary>The next delay to wait (apimachinery <c>Backoff.Step</c> semantics: cap before jitter).</summary>
    public TimeSpan Next()
    {
        var now = time.GetUtcNow();
        if (_lastStart is null || now - _lastStart.Value > ResetAfter)
        {
            _next = initial;
        }

        _lastStart = now;
        var duration = _next;
        var grown = TimeSpan.FromTicks((long)(_next.Ticks * Factor));
        _next = grown > Cap ? Cap : grown;
        return duration + TimeSpan.FromTicks((long)(random() * Jitter * duration.Ticks));
    }
}
