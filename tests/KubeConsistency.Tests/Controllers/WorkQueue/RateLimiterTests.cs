using KubeConsistency.Controllers;
using KubeConsistency.Testing;

namespace KubeConsistency.Tests.Controllers.WorkQueue;

/// <summary>Client-go <c>default_rate_limiters.go</c> arithmetic (default_rate_limiters_test.go; §8.1).</summary>
public sealed class RateLimiterTests
{
    private static TimeSpan Ms(double value) => TimeSpan.FromMilliseconds(value);

    [Fact]
    public void ItemExponentialFailure_doubles_per_failure_per_key_and_Forget_resets()
    {
        var limiter = RateLimiters.ItemExponentialFailure<string>(Ms(1), TimeSpan.FromSeconds(1));
        Assert.Equal([Ms(1), Ms(2), Ms(4), Ms(8), Ms(16)], Enumerable.Range(0, 5).Select(_ => limiter.When("one")));
        Assert.Equal(5, limiter.NumRequeues("one"));

        Assert.Equal(Ms(1), limiter.When("two"));
        Assert.Equal(Ms(2), limiter.When("two"));
        Assert.Equal(2, limiter.NumRequeues("two"));

        limiter.Forget("one");
        Assert.Equal(0, limiter.NumRequeues("one"));
        Assert.Equal(Ms(1), limiter.When("one"));
        Assert.Equal(2, limiter.NumRequeues("two"));
    }

    [Fact]
    public void Controller_backoff_is_5ms_doubling_capped_at_1000s()
    {
        var limiter = RateLimiters.ItemExponentialFailure<string>(Ms(5), TimeSpan.FromSeconds(1000));
        var delays = Enumerable.Range(0, 25).Select(_ => limiter.When("key")).ToList();

        // 5 ms * 2^17 = 655.36 s is the last uncapped value; 5 ms * 2^18 = 1310.72 s is capped.
        for (var n = 0; n <= 17; n++)
        {
            Assert.Equal(TimeSpan.FromMilliseconds(5 * Math.Pow(2, n)), delays[n]);
        }

        Assert.All(delays.Skip(18), d => Assert.Equal(TimeSpan.FromSeconds(1000), d));
        Assert.Equal(25, limiter.NumRequeues("key"));
    }

    [Fact]
    public void ItemExponentialFailure_never_overflows()
    {
        var limiter = RateLimiters.ItemExponentialFailure<string>(Ms(1), TimeSpan.FromSeconds(1000));
        for (var i = 0; i < 5; i++)
        {
            limiter.When("one");
        }

        Assert.Equal(Ms(32), limiter.When("one"));
        for (var i = 0; i < 1000; i++)
        {
            limiter.When("overflow1");
        }

        Assert.Equal(TimeSpan.FromSeconds(1000), limiter.When("overflow1"));

        limiter = RateLimiters.ItemExponentialFailure<string>(TimeSpan.FromMinutes(1), TimeSpan.FromHours(1000));
        limiter.When("two");
        limiter.When("two");
        Assert.Equal(TimeSpan.FromMinutes(4), limiter.When("two"));
        for (var i = 0; i < 1000; i++)
        {
            limiter.When("overflow2");
        }

        Assert.Equal(TimeSpan.FromHours(1000), limiter.When("overflow2"));

        var unbounded = RateLimiters.ItemExponentialFailure<string>(TimeSpan.FromDays(1), TimeSpan.MaxValue);
        for (var i = 0; i < 100; i++)
        {
            Assert.True(unbounded.When("x") > TimeSpan.Zero);
        }

        Assert.Equal(TimeSpan.MaxValue, unbounded.When("x"));
    }

    [Fact]
    public void ItemFastSlow_switches_after_the_fast_attempts()
    {
        var limiter = RateLimiters.ItemFastSlow<string>(Ms(5), TimeSpan.FromSeconds(10), 3);
        Assert.Equal([Ms(5), Ms(5), Ms(5), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10)], Enumerable.Range(0, 5).Select(_ => limiter.When("one")));
        Assert.Equal(5, limiter.NumRequeues("one"));
        Assert.Equal(Ms(5), limiter.When("two"));
        Assert.Equal(Ms(5), limiter.When("two"));
        Assert.Equal(2, limiter.NumRequeues("two"));

        limiter.Forget("one");
        Assert.Equal(0, limiter.NumRequeues("one"));
        Assert.Equal(Ms(5), limiter.When("one"));
    }

    [Fact]
    public void MaxOf_returns_the_worst_case_and_forgets_everywhere()
    {
        var limiter = RateLimiters.MaxOf(
            RateLimiters.ItemFastSlow<string>(Ms(5), TimeSpan.FromSeconds(3), 3),
            RateLimiters.ItemExponentialFailure<string>(Ms(1), TimeSpan.FromSeconds(1)));

        Assert.Equal([Ms(5), Ms(5), Ms(5), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(3)], Enumerable.Range(0, 5).Select(_ => limiter.When("one")));
        Assert.Equal(5, limiter.NumRequeues("one"));
        Assert.Equal(Ms(5), limiter.When("two"));
        Assert.Equal(Ms(5), limiter.When("two"));
        Assert.Equal(2, limiter.NumRequeues("two"));

        limiter.Forget("one");
        Assert.Equal(0, limiter.NumRequeues("one"));
        Assert.Equal(Ms(5), limiter.When("one"));
    }

    [Fact]
    public void WithMaxWait_caps_delays()
    {
        var step = new StepLimiter(Ms(5), TimeSpan.FromSeconds(1000), 100);
        var limiter = RateLimiters.WithMaxWait(step, TimeSpan.FromSeconds(500));
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(Ms(5), limiter.When(i));
        }

        for (var i = 100; i < 200; i++)
        {
            Assert.Equal(TimeSpan.FromSeconds(500), limiter.When(i));
        }
    }

    [Fact]
    public void Bucket_allows_the_burst_then_spaces_reservations_by_one_over_the_limit()
    {
        var time = new ManualTimeProvider();
        var limiter = RateLimiters.Bucket<string>(10, 100, time);

        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(TimeSpan.Zero, limiter.When($"k{i}"));
        }

        // Reserve().Delay() once the bucket is empty: 100 ms, 200 ms, 300 ms ... from the same instant.
        Assert.Equal(Ms(100), limiter.When("x"));
        Assert.Equal(Ms(200), limiter.When("x"));
        Assert.Equal(Ms(300), limiter.When("x"));

        // Time refills the bucket: the ready times stay 100 ms apart.
        time.Advance(Ms(100));
        Assert.Equal(Ms(300), limiter.When("y"));
        time.Advance(Ms(250));
        Assert.Equal(Ms(150), limiter.When("y"));

        // Per-key bookkeeping does not exist for the bucket.
        Assert.Equal(0, limiter.NumRequeues("x"));
        limiter.Forget("x");
        Assert.Equal(Ms(250), limiter.When("x"));

        // Fully refilled after long enough (capped at the burst).
        time.Advance(TimeSpan.FromHours(1));
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(TimeSpan.Zero, limiter.When("z"));
        }

        Assert.Equal(Ms(100), limiter.When("z"));
    }

    [Fact]
    public void Bucket_edge_limits_follow_x_time_rate()
    {
        var time = new ManualTimeProvider();
        var unlimited = RateLimiters.Bucket<string>(double.PositiveInfinity, 0, time);
        Assert.All(Enumerable.Range(0, 1000).Select(_ => unlimited.When("a")), d => Assert.Equal(TimeSpan.Zero, d));

        // A zero limit spends the burst once and then never allows another event.
        var zero = RateLimiters.Bucket<string>(0, 2, time);
        Assert.Equal(TimeSpan.Zero, zero.When("a"));
        Assert.Equal(TimeSpan.Zero, zero.When("a"));
        Assert.Equal(TimeSpan.MaxValue, zero.When("a"));
        time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(TimeSpan.MaxValue, zero.When("a"));

        // A zero burst can never reserve a token.
        var noBurst = RateLimiters.Bucket<string>(10, 0, time);
        Assert.Equal(TimeSpan.MaxValue, noBurst.When("a"));

        Assert.Throws<ArgumentOutOfRangeException>(() => RateLimiters.Bucket<string>(-1, 1, time));
        Assert.Throws<ArgumentOutOfRangeException>(() => RateLimiters.Bucket<string>(double.NaN, 1, time));
        Assert.Throws<ArgumentOutOfRangeException>(() => RateLimiters.Bucket<string>(1, -1, time));
    }

    [Fact]
    public void DefaultController_is_the_max_of_the_exponential_backoff_and_the_bucket()
    {
        var time = new ManualTimeProvider();
        var limiter = RateLimiters.DefaultController<string>(time);

        // Per-key exponential backoff while the bucket still has tokens.
        Assert.Equal(Ms(5), limiter.When("a"));
        Assert.Equal(Ms(10), limiter.When("a"));
        Assert.Equal(Ms(20), limiter.When("a"));
        Assert.Equal(3, limiter.NumRequeues("a"));

        for (var i = 0; i < 97; i++)
        {
            Assert.Equal(Ms(5), limiter.When($"k{i}"));
        }

        // The 101st requeue overall within the same instant waits for the bucket.
        Assert.Equal(Ms(100), limiter.When("b"));
        Assert.Equal(Ms(200), limiter.When("c"));

        limiter.Forget("a");
        Assert.Equal(0, limiter.NumRequeues("a"));
    }

    [Fact]
    public void DefaultItemBased_starts_at_1ms()
    {
        var limiter = RateLimiters.DefaultItemBased<string>();
        Assert.Equal(Ms(1), limiter.When("a"));
        Assert.Equal(Ms(2), limiter.When("a"));
    }

    [Fact]
    public async Task Limiters_are_thread_safe()
    {
        var limiter = RateLimiters.DefaultController<int>(new ManualTimeProvider());
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            for (var i = 0; i < 1000; i++)
            {
                limiter.When(i % 10);
            }
        })));
        Assert.All(Enumerable.Range(0, 10), k => Assert.Equal(400, limiter.NumRequeues(k)));
    }

    private sealed class StepLimiter(TimeSpan baseDelay, TimeSpan maxDelay, int threshold) : IRateLimiter<int>
    {
        private int _count;

        public TimeSpan When(int item) => ++_count <= threshold ? baseDelay : maxDelay;

        public void Forget(int item)
        {
        }

        public int NumRequeues(int item) => 0;
    }
}
