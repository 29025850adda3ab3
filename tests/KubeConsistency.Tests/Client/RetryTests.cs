using KubeConsistency.Client;
using KubeConsistency.Http;
using KubeConsistency.Testing;

namespace KubeConsistency.Tests.Client;

/// <summary>client-go's Retry-After handling, with every wait on a <see cref="ManualTimeProvider"/> (no sleeps).</summary>
public sealed class RetryTests
{
    private const string EmptyList = "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"9\"},\"items\":[]}";
    private const string TooMany = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"too many requests, please try again later\",\"reason\":\"TooManyRequests\",\"code\":429}";
    private const string Pod = "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"a\",\"namespace\":\"wire\",\"resourceVersion\":\"10\"}}";

    [Fact]
    public async Task Too_many_requests_with_retry_after_is_retried_then_succeeds()
    {
        var time = new ManualTimeProvider();
        var start = time.GetUtcNow();
        var calls = 0;
        await using var server = await LoopbackServer.StartAsync((ctx, _) =>
        {
            if (Interlocked.Increment(ref calls) <= 2)
            {
                ctx.Response.Headers.RetryAfter = "2";
                return Respond.Json(ctx, 429, TooMany);
            }

            return Respond.Json(ctx, 200, EmptyList);
        });
        using var connection = Clients.Connect(server, time);

        var listing = connection.Resource(Clients.Pods()).ListAsync(new ListOptions()).AsTask();
        for (var i = 0; i < 2; i++)
        {
            await time.WaitForTimersAsync().WaitAsync(Clients.Guard);
            Assert.Equal(TimeSpan.FromSeconds(2), time.NextDueIn);
            Assert.False(listing.IsCompleted);
            time.Advance(TimeSpan.FromSeconds(2));
        }

        var page = await listing.WaitAsync(Clients.Guard);

        Assert.Equal("9", page.ResourceVersion);
        Assert.Equal(3, calls);
        Assert.Equal(TimeSpan.FromSeconds(4), time.GetUtcNow() - start);
    }

    [Fact]
    public async Task Too_many_requests_without_retry_after_waits_one_second_even_for_writes()
    {
        var time = new ManualTimeProvider();
        var calls = 0;
        await using var server = await LoopbackServer.StartAsync((ctx, _) =>
            Interlocked.Increment(ref calls) == 1 ? Respond.Json(ctx, 429, TooMany) : Respond.Json(ctx, 201, Pod));
        using var connection = Clients.Connect(server, time);

        var creating = connection.Resource(Clients.Pods()).CreateAsync(new TestPod { Metadata = new TestObjectMeta { Name = "a" } }).AsTask();
        await time.WaitForTimersAsync().WaitAsync(Clients.Guard);
        Assert.Equal(TimeSpan.FromSeconds(1), time.NextDueIn);
        time.Advance(TimeSpan.FromSeconds(1));
        var created = await creating.WaitAsync(Clients.Guard);

        Assert.Equal("10", created.Metadata!.ResourceVersion);
        Assert.Equal(2, calls);
        Assert.All(server.Requests, r => Assert.Equal("{\"metadata\":{\"name\":\"a\"}}", r.BodyText));
    }

    [Fact]
    public async Task Exhausted_retries_throw_with_retry_after()
    {
        var time = new ManualTimeProvider();
        await using var server = await LoopbackServer.StartAsync((ctx, _) =>
        {
            ctx.Response.Headers.RetryAfter = "3";
            return Respond.Json(ctx, 429, TooMany);
        });
        using var connection = Clients.Connect(server, time, maxRetries: 2);

        var listing = connection.Resource(Clients.Pods()).ListAsync(new ListOptions()).AsTask();
        for (var i = 0; i < 2; i++)
        {
            await time.WaitForTimersAsync().WaitAsync(Clients.Guard);
            time.Advance(TimeSpan.FromSeconds(3));
        }

        var ex = await Assert.ThrowsAsync<KubernetesApiException>(() => listing.WaitAsync(Clients.Guard));
        Assert.True(ex.IsTooManyRequests);

        Assert.Equal(TimeSpan.FromSeconds(3), ex.RetryAfter);
        Assert.Equal("too many requests, please try again later", ex.Message);
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task Server_error_with_retry_after_is_retried_for_reads()
    {
        var time = new ManualTimeProvider();
        var calls = 0;
        await using var server = await LoopbackServer.StartAsync((ctx, _) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                ctx.Response.Headers.RetryAfter = "1";
                return Respond.Json(ctx, 504, "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"Timeout: Too large resource version: 100000, current: 44\",\"reason\":\"Timeout\",\"code\":504}");
            }

            return Respond.Json(ctx, 200, Pod);
        });
        using var connection = Clients.Connect(server, time);

        var getting = connection.Resource(Clients.Pods()).GetAsync("wire", "a").AsTask();
        await time.WaitForTimersAsync().WaitAsync(Clients.Guard);
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal("a", (await getting.WaitAsync(Clients.Guard)).Metadata!.Name);
        Assert.Equal(2, calls);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(504)]
    public async Task Server_error_with_retry_after_is_not_retried_for_writes_that_may_have_been_applied(int code)
    {
        var time = new ManualTimeProvider();
        await using var server = await LoopbackServer.StartAsync((ctx, _) =>
        {
            ctx.Response.Headers.RetryAfter = "1";
            return Respond.Json(ctx, code, "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"boom\",\"code\":" + code + "}");
        });
        using var connection = Clients.Connect(server, time);

        var ex = await Assert.ThrowsAnyAsync<KubernetesApiException>(() => connection.Resource(Clients.Pods()).UpdateAsync(new TestPod { Metadata = new TestObjectMeta { Name = "a" } }).AsTask().WaitAsync(Clients.Guard));

        Assert.Equal(code, (int)ex.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), ex.RetryAfter);
        Assert.Single(server.Requests);
        Assert.Equal(0, time.ActiveTimerCount);
    }

    [Fact]
    public async Task Service_unavailable_with_retry_after_is_retried_for_writes()
    {
        var time = new ManualTimeProvider();
        var calls = 0;
        await using var server = await LoopbackServer.StartAsync((ctx, _) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                ctx.Response.Headers.RetryAfter = "5";
                return Respond.Json(ctx, 503, "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"shutting down\",\"reason\":\"ServiceUnavailable\",\"code\":503}");
            }

            return Respond.Json(ctx, 200, Pod);
        });
        using var connection = Clients.Connect(server, time);

        var deleting = connection.Resource(Clients.Pods()).DeleteAsync("wire", "a").AsTask();
        await time.WaitForTimersAsync().WaitAsync(Clients.Guard);
        Assert.Equal(TimeSpan.FromSeconds(5), time.NextDueIn);
        time.Advance(TimeSpan.FromSeconds(5));

        Assert.NotNull(await deleting.WaitAsync(Clients.Guard));
        Assert.Equal(["DELETE", "DELETE"], server.Requests.Select(r => r.Method));
    }

    [Fact]
    public async Task Server_error_without_retry_after_is_not_retried()
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 500, "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"internal\",\"reason\":\"InternalError\",\"code\":500}"));
        using var connection = Clients.Connect(server, new ManualTimeProvider());

        await Assert.ThrowsAsync<KubernetesApiException>(() => connection.Resource(Clients.Pods()).GetAsync("wire", "a").AsTask().WaitAsync(Clients.Guard));

        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task Cancellation_during_a_retry_wait_is_prompt()
    {
        var time = new ManualTimeProvider();
        await using var server = await LoopbackServer.StartAsync((ctx, _) =>
        {
            ctx.Response.Headers.RetryAfter = "60";
            return Respond.Json(ctx, 429, TooMany);
        });
        using var connection = Clients.Connect(server, time);
        using var cts = new CancellationTokenSource();

        var listing = connection.Resource(Clients.Pods()).ListAsync(new ListOptions(), cts.Token).AsTask();
        await time.WaitForTimersAsync().WaitAsync(Clients.Guard);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => listing.WaitAsync(Clients.Guard));
        Assert.Single(server.Requests);
    }

    [Theory]
    [InlineData(429, null, true, 1)]
    [InlineData(429, 4, false, 4)]
    [InlineData(500, 2, true, 2)]
    [InlineData(500, 2, false, null)]
    [InlineData(503, 2, false, 2)]
    [InlineData(504, null, true, null)]
    [InlineData(409, 2, true, null)]
    public void Retry_rules(int code, int? retryAfterSeconds, bool isRead, int? expectedSeconds)
    {
        var delay = ApiTransport.RetryDelay((System.Net.HttpStatusCode)code, retryAfterSeconds is { } s ? TimeSpan.FromSeconds(s) : null, isRead);

        Assert.Equal(expectedSeconds is { } e ? TimeSpan.FromSeconds(e) : null, delay);
    }
}
