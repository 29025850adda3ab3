using System.Buffers;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.Sockets;
using KubeConsistency.Metrics;
using Microsoft.Extensions.Logging;

namespace KubeConsistency.Http;

/// <summary>
/// Sends requests to one API server: authentication, <c>Accept</c>/<c>User-Agent</c>, error mapping and
/// client-go's retry rules (<c>rest/with_retry.go</c>): a response that asks for a wait is retried up to
/// <see cref="KubernetesConnectionOptions.MaxRetries"/> times, waiting through the <see cref="TimeProvider"/>.
/// </summary>
/// <remarks>
/// What is retried:
/// <list type="bullet">
/// <item>429 for every verb (the server did not process the request): wait <c>Retry-After</c>, or 1 s without one.</item>
/// <item>5xx with <c>Retry-After</c> for reads (GET, list, watch establishment).</item>
/// <item>5xx with <c>Retry-After</c> for writes only when it is 503 (not processed); a 500/504 write may have
/// been applied, so it is thrown rather than repeated (client-go repeats it; see docs/compatibility.md).</item>
/// <item>For reads, a connection that the server closed before answering (Go: <c>IsProbableEOF</c>), after 1 s.</item>
/// </list>
/// </remarks>
internal sealed class ApiTransport : IDisposable
{
    private static readonly MediaTypeWithQualityHeaderValue s_json = new("application/json");
    private static readonly TimeSpan s_defaultRetryAfter = TimeSpan.FromSeconds(1);

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly string _base;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly int _maxRetries;
    private readonly string _userAgent;
    private readonly Func<HttpRequestMessage, CancellationToken, Task>? _prepareRequest;

    /// <summary>A transport with its own pooled <see cref="HttpClient"/> built from <paramref name="settings"/>.</summary>
    public ApiTransport(ConnectionSettings settings, KubernetesConnectionOptions options, ILogger logger)
        : this(settings, options, logger, CreateHttpClient(settings), ownsHttp: true, prepareRequest: null)
    {
    }

    /// <summary>
    /// A transport over a caller's <see cref="HttpClient"/> (e.g. KubernetesClient's, whose handler already carries TLS and
    /// client certificates), with <paramref name="prepareRequest"/> adding per-request credentials.
    /// </summary>
    public ApiTransport(ConnectionSettings settings, KubernetesConnectionOptions options, ILogger logger, HttpClient http, bool ownsHttp, Func<HttpRequestMessage, CancellationToken, Task>? prepareRequest)
    {
        Settings = settings;
        _time = options.TimeProvider;
        _logger = logger;
        _maxRetries = Math.Max(0, options.MaxRetries);
        _base = settings.Server.GetLeftPart(UriPartial.Path).TrimEnd('/');
        _http = http;
        _ownsHttp = ownsHttp;
        _userAgent = options.UserAgent ?? DefaultUserAgent;
        _prepareRequest = prepareRequest;
    }

    /// <summary><c>KubeConsistency/&lt;version&gt;</c>.</summary>
    public static string DefaultUserAgent { get; } = "KubeConsistency/" + (KubeConsistencyMeter.Version ?? "0.0.0");

    public ConnectionSettings Settings { get; }

    public TimeProvider TimeProvider => _time;

    public ILogger Logger => _logger;

    /// <summary>
    /// Sends a request and returns the successful response with only its headers read (the caller reads and
    /// disposes the body). Errors are thrown as <see cref="KubernetesApiException"/> subtypes after retries.
    /// </summary>
    /// <param name="method">The method.</param>
    /// <param name="pathAndQuery">The path below the server URL, e.g. <c>/api/v1/namespaces/a/pods?limit=2</c>.</param>
    /// <param name="body">The request body, or empty.</param>
    /// <param name="contentType">The body's content type; <see langword="null"/> sends no body.</param>
    /// <param name="cancellationToken">Cancels sending and every retry wait.</param>
    /// <param name="accept">The <c>Accept</c> header sent verbatim; <see langword="null"/> sends <c>application/json</c>.</param>
    public async ValueTask<HttpResponseMessage> SendAsync(HttpMethod method, string pathAndQuery, ReadOnlyMemory<byte> body, string? contentType, CancellationToken cancellationToken, string? accept = null)
    {
        var isRead = method == HttpMethod.Get;
        var uri = new Uri(_base + pathAndQuery, UriKind.Absolute);
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, uri) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionOrLower };
            if (accept is null)
            {
                request.Headers.Accept.Add(s_json);
            }
            else
            {
                // Verbatim: the parsed header collection would re-render the parameters (client-go sends this exact string).
                request.Headers.TryAddWithoutValidation("Accept", accept);
            }

            request.Headers.TryAddWithoutValidation("User-Agent", _userAgent);
            if (contentType is not null)
            {
                request.Content = new ReadOnlyMemoryContent(body);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
            }

            if (Settings.Authenticator.GetHeader() is { } authorization)
            {
                request.Headers.Authorization = authorization;
            }

            if (_prepareRequest is not null)
            {
                await _prepareRequest(request, cancellationToken).ConfigureAwait(false);
            }

            var started = _time.GetTimestamp();
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException ex) when (!cancellationToken.IsCancellationRequested)
            {
                if (isRead && attempt < _maxRetries && IsProbableEof(ex))
                {
                    Log.RetryingAfterTransportError(_logger, method.Method, pathAndQuery, s_defaultRetryAfter, attempt + 1, _maxRetries, ex);
                    await Task.Delay(s_defaultRetryAfter, _time, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                throw new KubernetesTransportException($"{method.Method} {pathAndQuery}: {ex.Message}", ex);
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new KubernetesTransportException($"{method.Method} {pathAndQuery}: the request timed out", ex);
            }

            if (response.IsSuccessStatusCode)
            {
                return response;
            }

            KubernetesApiException error;
            var headerRetryAfter = response.Headers.RetryAfter?.Delta;
            using (response)
            {
                error = await ReadErrorAsync(response, method, headerRetryAfter, cancellationToken).ConfigureAwait(false);
            }

            Log.RequestFailed(_logger, method.Method, pathAndQuery, (int)response.StatusCode, error.Reason);
            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                Settings.Authenticator.OnUnauthorized(started);
            }

            if (attempt < _maxRetries && RetryDelay(response.StatusCode, headerRetryAfter, isRead) is { } delay)
            {
                Log.RetryingAfterStatus(_logger, method.Method, pathAndQuery, delay, attempt + 1, _maxRetries, (int)response.StatusCode);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                continue;
            }

            throw error;
        }
    }

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private static HttpClient CreateHttpClient(ConnectionSettings settings) =>
        new(settings.CreateHandler(), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>How long to wait before retrying, or <see langword="null"/> when the response is final.</summary>
    internal static TimeSpan? RetryDelay(HttpStatusCode status, TimeSpan? retryAfter, bool isRead)
    {
        var code = (int)status;
        if (code == 429)
        {
            return retryAfter ?? s_defaultRetryAfter;
        }

        if (code >= 500 && retryAfter is { } wait && (isRead || code == 503))
        {
            return wait;
        }

        return null;
    }

    private static bool IsProbableEof(HttpRequestException ex) =>
        ex.HttpRequestError == HttpRequestError.ResponseEnded ||
        (ex.InnerException is IOException { InnerException: SocketException { SocketErrorCode: SocketError.ConnectionReset } });

    private static async ValueTask<KubernetesApiException> ReadErrorAsync(HttpResponseMessage response, HttpMethod method, TimeSpan? retryAfter, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        var length = 0;
        try
        {
            try
            {
                var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                while (length < StatusErrors.MaxErrorBody)
                {
                    if (length == buffer.Length)
                    {
                        var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, StatusErrors.MaxErrorBody));
                        Buffer.BlockCopy(buffer, 0, bigger, 0, length);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }

                    var read = await stream.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, StatusErrors.MaxErrorBody) - length), cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }

                    length += read;
                }
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
            {
                // A broken error body still maps by status code.
            }

            var mediaType = response.Content.Headers.ContentType?.MediaType;
            var isText = mediaType is null || mediaType.StartsWith("text/", StringComparison.OrdinalIgnoreCase);
            return StatusErrors.FromResponse(response.StatusCode, buffer.AsSpan(0, length), isText, retryAfter, method);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
