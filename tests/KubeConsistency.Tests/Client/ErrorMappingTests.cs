using System.Net;
using System.Text.Json;
using KubeConsistency.Client;
using KubeConsistency.Http;

namespace KubeConsistency.Tests.Client;

/// <summary>Every captured error body (wire/errors) maps to the right exception with code, reason and message.</summary>
public sealed class ErrorMappingTests
{
    public static TheoryData<string, Type, string?> Samples => new()
    {
        { "400-bad-continue.json", typeof(KubernetesApiException), "BadRequest" },
        { "400-bad-fieldSelector.json", typeof(KubernetesApiException), "BadRequest" },
        { "400-bad-labelSelector.json", typeof(KubernetesApiException), "BadRequest" },
        { "400-continue-with-resourceVersion.json", typeof(KubernetesApiException), "BadRequest" },
        { "400-kind-mismatch.json", typeof(KubernetesApiException), "BadRequest" },
        { "400-malformed-json.json", typeof(KubernetesApiException), "BadRequest" },
        { "400-namespace-mismatch.json", typeof(KubernetesApiException), "BadRequest" },
        { "404-not-found.json", typeof(NotFoundException), "NotFound" },
        { "404-unknown-resource.json", typeof(NotFoundException), "NotFound" },
        { "405-delete-on-status.json", typeof(KubernetesApiException), "MethodNotAllowed" },
        { "405-post-to-named-resource.json", typeof(KubernetesApiException), "MethodNotAllowed" },
        { "406-not-acceptable.json", typeof(KubernetesApiException), "NotAcceptable" },
        { "409-already-exists.json", typeof(AlreadyExistsException), "AlreadyExists" },
        { "409-conflict.json", typeof(ConflictException), "Conflict" },
        { "410-continue-expired.json", typeof(ResourceExpiredException), "Expired" },
        { "410-exact-resourceVersion-expired.json", typeof(ResourceExpiredException), "Expired" },
        { "415-patch-with-application-json.json", typeof(KubernetesApiException), "UnsupportedMediaType" },
        { "422-missing-name.json", typeof(KubernetesApiException), "Invalid" },
        { "422-resourceVersionMatch-without-resourceVersion.json", typeof(KubernetesApiException), "Invalid" },
        { "422-watchlist-missing-resourceVersionMatch.json", typeof(KubernetesApiException), "Invalid" },
        { "500-bad-resourceVersion.json", typeof(KubernetesApiException), null },
        { "504-future-resourceVersion.json", typeof(KubernetesApiException), "Timeout" },
    };

    [WireTheory]
    [MemberData(nameof(Samples))]
    public async Task Wire_error_bodies_map_to_typed_exceptions(string file, Type expectedType, string? expectedReason)
    {
        var body = WireFixtures.Bytes("errors/" + file);
        var code = int.Parse(file[..3], System.Globalization.CultureInfo.InvariantCulture);
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, code, body));
        using var connection = Clients.Connect(server, maxRetries: 0);
        var expected = JsonDocument.Parse(body).RootElement;

        var ex = await Assert.ThrowsAnyAsync<KubernetesApiException>(() => connection.Resource(Clients.Pods()).GetAsync("wire", "alpha").AsTask());

        Assert.IsType(expectedType, ex);
        Assert.Equal(code, (int)ex.StatusCode);
        Assert.Equal(expectedReason, ex.Reason);
        AssertClassifiedAs(code, expectedReason, ex);
        Assert.Equal(expected.GetProperty("message").GetString(), ex.Message);
        Assert.True(ex.Status.HasValue);
        Assert.Equal("Status", ex.Status.Value.GetProperty("kind").GetString());
    }

    [WireFact]
    public void Every_error_sample_is_covered()
    {
        var covered = Samples.Select(row => (string)row[0]).ToHashSet();
        var files = WireFixtures.Files("errors", "*.json").Where(f => !f.EndsWith(".request.json", StringComparison.Ordinal) && !f.Contains("trimmed", StringComparison.Ordinal));
        Assert.All(files, f => Assert.Contains(f, covered));
    }

    [WireFact]
    public async Task Details_and_causes_are_exposed()
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 422, WireFixtures.Bytes("errors/422-missing-name.json")));
        using var connection = Clients.Connect(server, maxRetries: 0);

        var ex = await Assert.ThrowsAsync<KubernetesApiException>(() => connection.Resource(Clients.Pods()).CreateAsync(new TestPod()).AsTask());

        Assert.Equal("Pod", ex.Kind);
        var cause = Assert.Single(ex.Causes);
        Assert.Equal(new StatusCause("FieldValueRequired", "Required value: name or generateName is required", "metadata.name"), cause);
    }

    [WireFact]
    public async Task Not_found_details_name_the_object()
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 404, WireFixtures.Bytes("errors/404-not-found.json")));
        using var connection = Clients.Connect(server, maxRetries: 0);

        var ex = await Assert.ThrowsAsync<NotFoundException>(() => connection.Resource(Clients.Pods()).GetAsync("wire", "missing").AsTask());

        Assert.Equal("missing", ex.Name);
        Assert.Equal("pods", ex.Kind);
        Assert.Equal("pods \"missing\" not found", ex.Message);
    }

    [WireFact]
    public async Task Future_resource_version_is_a_too_large_resource_version_timeout_with_retry_after()
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) =>
        {
            ctx.Response.Headers.RetryAfter = "1";
            return Respond.Json(ctx, 504, WireFixtures.Bytes("errors/504-future-resourceVersion.json"));
        });
        using var connection = Clients.Connect(server, maxRetries: 0);

        var ex = await Assert.ThrowsAsync<KubernetesApiException>(() => connection.Resource(Clients.Pods()).ListAsync(new ListOptions { ResourceVersion = "100000", ResourceVersionMatch = ResourceVersionMatch.NotOlderThan }).AsTask());

        Assert.True(ex.IsTooLargeResourceVersion);
        Assert.Equal(TimeSpan.FromSeconds(1), ex.RetryAfter);
        Assert.True(ex.IsServerTimeout);
        Assert.True(ex.IsServerError);
    }

    [Fact]
    public async Task Retry_after_from_status_details_when_no_header()
    {
        const string body = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"slow down\",\"reason\":\"TooManyRequests\",\"details\":{\"retryAfterSeconds\":7},\"code\":429}";
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 429, body));
        using var connection = Clients.Connect(server, maxRetries: 0);

        var ex = await Assert.ThrowsAsync<KubernetesApiException>(() => connection.Resource(Clients.Pods()).GetAsync("wire", "a").AsTask());

        Assert.Equal(TimeSpan.FromSeconds(7), ex.RetryAfter);
        Assert.True(ex.IsTooManyRequests);
    }

    [WireFact]
    public async Task Non_status_404_maps_by_http_status()
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, 404, WireFixtures.Bytes("errors/404-unknown-group.trimmed.json")));
        using var connection = Clients.Connect(server, maxRetries: 0);
        var widgets = connection.Resource(new ResourceClientOptions<JsonElement> { Resource = new GroupVersionResource("nope.example.com", "v1", "widgets") });

        var ex = await Assert.ThrowsAsync<NotFoundException>(() => widgets.ListAsync(new ListOptions()).AsTask());

        Assert.Null(ex.Status);
        Assert.Equal("NotFound", ex.Reason);
        Assert.Equal("the server could not find the requested resource", ex.Message);
        Assert.Equal("/apis/nope.example.com/v1/widgets", Assert.Single(server.Requests).PathAndQuery);
    }

    [Theory]
    [InlineData("POST", 409, typeof(AlreadyExistsException), "AlreadyExists")]
    [InlineData("PUT", 409, typeof(ConflictException), "Conflict")]
    [InlineData("GET", 401, typeof(KubernetesApiException), "Unauthorized")]
    [InlineData("GET", 403, typeof(KubernetesApiException), "Forbidden")]
    [InlineData("GET", 400, typeof(KubernetesApiException), "BadRequest")]
    [InlineData("GET", 410, typeof(ResourceExpiredException), null)]
    [InlineData("GET", 502, typeof(KubernetesApiException), "InternalError")]
    [InlineData("GET", 503, typeof(KubernetesApiException), "ServiceUnavailable")]
    [InlineData("GET", 504, typeof(KubernetesApiException), "Timeout")]
    [InlineData("GET", 418, typeof(KubernetesApiException), null)]
    public async Task Plain_text_error_bodies_map_by_status(string method, int code, Type expectedType, string? expectedReason)
    {
        await using var server = await LoopbackServer.StartAsync((ctx, _) => Respond.Json(ctx, code, "upstream proxy says no"u8.ToArray(), "text/plain"));
        using var connection = Clients.Connect(server, maxRetries: 0);
        var pods = connection.Resource(Clients.Pods());
        var pod = new TestPod { Metadata = new TestObjectMeta { Name = "a" } };

        var ex = await Assert.ThrowsAnyAsync<KubernetesApiException>(() => method switch
        {
            "POST" => pods.CreateAsync(pod).AsTask(),
            "PUT" => pods.UpdateAsync(pod).AsTask(),
            _ => pods.GetAsync("wire", "a").AsTask(),
        });

        Assert.IsType(expectedType, ex);
        Assert.Equal(code, (int)ex.StatusCode);
        Assert.Equal(expectedReason, ex.Reason);
        AssertClassifiedAs(code, expectedReason, ex);
        if (code == 403)
        {
            Assert.Equal("upstream proxy says no", ex.Message);
        }
    }

    [Fact]
    public void Reason_wins_over_code()
    {
        var status = JsonDocument.Parse("{\"kind\":\"Status\",\"reason\":\"Conflict\",\"message\":\"m\",\"code\":500}").RootElement;

        var ex = StatusErrors.FromStatus(status, HttpStatusCode.OK, null);

        Assert.IsType<ConflictException>(ex);
        Assert.Equal(HttpStatusCode.InternalServerError, ex.StatusCode);
    }

    /// <summary>Exactly the one <c>Is…</c> predicate the reason (or, without a known one, the code) stands for is true (apierrors.IsXxx).</summary>
    private static void AssertClassifiedAs(int code, string? reason, KubernetesApiException ex)
    {
        var effective = reason is "BadRequest" or "Unauthorized" or "Forbidden" or "NotFound" or "MethodNotAllowed" or "AlreadyExists" or "Conflict" or "Gone" or "Expired" or "Invalid" or "TooManyRequests" or "Timeout" or "ServerTimeout" or "InternalError" or "ServiceUnavailable" or "NotAcceptable" or "UnsupportedMediaType" or "RequestEntityTooLarge"
            ? reason
            : code switch { 400 => "BadRequest", 401 => "Unauthorized", 403 => "Forbidden", 404 => "NotFound", 405 => "MethodNotAllowed", 409 => "Conflict", 410 => "Expired", 422 => "Invalid", 429 => "TooManyRequests", 504 => "Timeout", >= 500 and < 600 => "InternalError", _ => "" };
        Assert.Equal(effective, ex.EffectiveReason);
        var predicates = new Dictionary<string, bool>
        {
            ["BadRequest"] = ex.IsBadRequest,
            ["Unauthorized"] = ex.IsUnauthorized,
            ["Forbidden"] = ex.IsForbidden,
            ["NotFound"] = ex.IsNotFound,
            ["MethodNotAllowed"] = ex.IsMethodNotSupported,
            ["AlreadyExists"] = ex.IsAlreadyExists,
            ["Conflict"] = ex.IsConflict,
            ["Expired"] = ex.IsResourceExpired,
            ["Invalid"] = ex.IsInvalid,
            ["TooManyRequests"] = ex.IsTooManyRequests,
            ["Timeout"] = ex.IsServerTimeout,
        };
        var key = effective switch { "Gone" => "Expired", "ServerTimeout" => "Timeout", _ => effective };
        Assert.All(predicates, kv => Assert.Equal(kv.Key == key, kv.Value));
        Assert.Equal(code is >= 500 and < 600, ex.IsServerError);
    }
}
