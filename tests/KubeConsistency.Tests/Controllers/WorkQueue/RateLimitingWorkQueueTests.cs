using KubeConsistency.Controllers;
using KubeConsistency.Testing;

namespace KubeConsistency.Tests.Controllers.WorkQueue;

/// <summary>Client-go <c>rateLimitingType</c> (rate_limiting_queue.go, rate_limiting_queue_test.go; §8.1 requeue on error).</summary>
public sealed class RateLimitingWorkQueueTests
{
    private readonly ManualTimeProvider _time = new();

    [Fact]
    public void AddRateLimited_delays_by_the_limiter_and_Forget_resets_the_backoff()
    {
        using var queue = KubeConsistency.Controllers.WorkQueue.CreateRateLimiting(new WorkQueueOptions<string>
        {
            TimeProvider = _time,
            RateLimiter = RateLimiters.ItemExponentialFailure<string>(TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1)),
        });

        queue.AddRateLimited("one");
        Assert.Equal(0, queue.Len);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, queue.Len);

        queue.AddRateLimited("one");
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, queue.Len); // deduplicated with the queued "one"
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, queue.Len);
        Assert.Equal(2, queue.NumRequeues("one"));

        queue.AddRateLimited("two");
        Assert.Equal(1, queue.NumRequeues("two"));

        queue.Forget("one");
        Assert.Equal(0, queue.NumRequeues("one"));
        queue.Forget("two");
        Assert.Equal(0, queue.NumRequeues("two"));
    }

    [Fact]
    public void The_default_limiter_requeues_a_failing_key_with_growing_delays()
    {
        using var queue = KubeConsistency.Controllers.WorkQueue.CreateRateLimiting(new WorkQueueOptions<string> { TimeProvider = _time });

        // The controller pattern of §8.1: every failed sync returns the key with AddRateLimited.
        var delays = new List<TimeSpan>();
        queue.Add("ns/name");
        var lastReady = _time.GetUtcNow();
        for (var attempt = 0; attempt < 6; attempt++)
        {
            Assert.True(queue.TryGet(out var key));
            delays.Add(_time.GetUtcNow() - lastReady);
            queue.AddRateLimited(key);
            queue.Done(key);
            lastReady = _time.GetUtcNow();
            var due = _time.NextDueIn!.Value;
            _time.Advance(due);
        }

        Assert.Equal(
            new[] { 0, 5, 10, 20, 40, 80 }.Select(ms => TimeSpan.FromMilliseconds(ms)),
            delays);
        Assert.Equal(6, queue.NumRequeues("ns/name"));

        // Success: Forget, and the next failure starts from 5 ms again.
        Assert.True(queue.TryGet(out var done));
        queue.Forget(done);
        queue.Done(done);
        queue.AddRateLimited(done);
        Assert.Equal(TimeSpan.FromMilliseconds(5), _time.NextDueIn);
    }

    [Fact]
    public void AddRateLimited_after_shutdown_still_consults_the_limiter_but_adds_nothing()
    {
        using var queue = KubeConsistency.Controllers.WorkQueue.CreateRateLimiting(new WorkQueueOptions<string> { TimeProvider = _time });
        queue.ShutDown();
        queue.AddRateLimited("a");
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(0, queue.Len);
        Assert.Equal(1, queue.NumRequeues("a"));
    }
}
