using System.Buffers;
using System.IO.Compression;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;

namespace KubeConsistency.Testing.ApiServer;

/// <summary>
/// gzip response encoding as kube-apiserver does it (k8s.io/apiserver/pkg/endpoints/handlers/responsewriters:
/// writers.go <c>deferredResponseWriter</c>, compression.go <c>ContentEncodingSupported</c>; handlers/watch.go
/// <c>perFlushGzipWriter</c> for v1.37's watch-list compression).
/// </summary>
internal static class ResponseCompression
{
    /// <summary>kube-apiserver's <c>defaultGzipThresholdBytes</c>: bodies of at most this many bytes go out plain.</summary>
    public const int ThresholdBytes = 128 * 1024;

    /// <summary>kube-apiserver's <c>gzipContentEncodingLevel = 1</c> (gzip.BestSpeed).</summary>
    public const CompressionLevel Level = CompressionLevel.Fastest;

    /// <summary>
    /// Whether the client accepts gzip, by kube-apiserver's rule: the first <c>Accept-Encoding</c> header split at commas
    /// has a token that is exactly <c>gzip</c> once trimmed (no q-values parsed, so <c>gzip;q=0</c> does not count).
    /// </summary>
    public static bool AcceptsGzip(HttpRequest request)
    {
        var values = request.Headers.AcceptEncoding;
        if (values.Count == 0 || values[0] is not { Length: > 0 } header)
        {
            return false;
        }

        var span = header.AsSpan();
        foreach (var range in span.Split(','))
        {
            if (span[range].Trim().SequenceEqual("gzip"))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Marks the request as one whose large non-watch bodies may be gzipped (option on, client accepts gzip).</summary>
    public static void Negotiate(HttpContext context, bool enabled, CompressionStats stats)
    {
        if (enabled && AcceptsGzip(context.Request))
        {
            context.Features.Set(stats);
        }
    }

    /// <summary>Whether <see cref="Negotiate"/> allowed gzip for this request.</summary>
    public static bool Negotiated(HttpContext context) => context.Features.Get<CompressionStats>() is not null;

    /// <summary>The headers of a gzipped response, set before it starts; counts it.</summary>
    public static void MarkGzip(HttpResponse response, CompressionStats? stats)
    {
        (stats ?? response.HttpContext.Features.Get<CompressionStats>())?.Count();
        response.Headers.ContentEncoding = "gzip";

        // Appended, not set: aggregated discovery already varies on Accept (kube-apiserver: header.Add).
        response.Headers.Append("Vary", "Accept-Encoding");
        response.ContentLength = null;
    }

    /// <summary>A gzip stream over the response body that leaves it open.</summary>
    public static GZipStream Create(Stream body) => new(body, Level, leaveOpen: true);

    /// <summary>
    /// Writes a whole body (an object, a Table, discovery, a Status): gzipped when negotiated and larger than
    /// <see cref="ThresholdBytes"/>, as kube-apiserver decides on a single-object response's one write; otherwise plain
    /// with a Content-Length.
    /// </summary>
    public static async Task WriteBodyAsync(HttpContext context, ReadOnlyMemory<byte> body, bool appendNewline, bool compressible)
    {
        var response = context.Response;
        var ct = context.RequestAborted;
        var length = body.Length + (appendNewline ? 1 : 0);
        if (compressible && length > ThresholdBytes && Negotiated(context))
        {
            MarkGzip(response, null);
            var gzip = Create(response.Body);
            await using (gzip.ConfigureAwait(false))
            {
                await gzip.WriteAsync(body, ct).ConfigureAwait(false);
                if (appendNewline)
                {
                    await gzip.WriteAsync("\n"u8.ToArray(), ct).ConfigureAwait(false);
                }
            }

            return;
        }

        response.ContentLength = length;
        await response.Body.WriteAsync(body, ct).ConfigureAwait(false);
        if (appendNewline)
        {
            await response.Body.WriteAsync("\n"u8.ToArray(), ct).ConfigureAwait(false);
        }
    }

}

/// <summary>The server's count of gzipped responses (tests check that a client really got compressed bodies); also the request feature that says gzip was negotiated.</summary>
internal sealed class CompressionStats
{
    private long _gzipped;

    public long Gzipped => Interlocked.Read(ref _gzipped);

    public void Count() => Interlocked.Increment(ref _gzipped);
}

/// <summary>
/// The body of a streamed LIST, kube-apiserver's <c>deferredResponseWriter</c>: its JSON list encoder's first write is
/// tiny (<c>{</c>), so the response is buffered until it exceeds <see cref="ResponseCompression.ThresholdBytes"/> (then
/// it is gzipped from the start) or ends below it (then it goes out plain). The outcome is the same as upstream's —
/// gzip exactly when the whole body is larger than 128 KiB — although the size is checked at each
/// <see cref="FlushAsync"/> rather than after every item.
/// </summary>
internal sealed class DeferredListBody : IBufferWriter<byte>
{
    private readonly HttpResponse _response;
    private ArrayBufferWriter<byte>? _pending;
    private IBufferWriter<byte> _current;
    private PipeWriter? _pipe;
    private GZipStream? _gzip;

    private DeferredListBody(HttpResponse response, ArrayBufferWriter<byte>? pending)
    {
        _response = response;
        _pending = pending;
        _current = pending ?? (IBufferWriter<byte>)response.BodyWriter;
    }

    /// <summary>Opens the body; without negotiated gzip the response starts at once and is written straight through.</summary>
    public static async Task<DeferredListBody> StartAsync(HttpContext context, CancellationToken ct)
    {
        if (ResponseCompression.Negotiated(context))
        {
            return new DeferredListBody(context.Response, new ArrayBufferWriter<byte>(64 * 1024));
        }

        await context.Response.StartAsync(ct).ConfigureAwait(false);
        return new DeferredListBody(context.Response, null);
    }

    /// <summary>Whether the body went out gzipped (known once it is past the threshold or complete).</summary>
    public bool Compressed => _gzip is not null;

    public void Advance(int count) => _current.Advance(count);

    public Memory<byte> GetMemory(int sizeHint = 0) => _current.GetMemory(sizeHint);

    public Span<byte> GetSpan(int sizeHint = 0) => _current.GetSpan(sizeHint);

    /// <summary>Sends what was written, or keeps buffering while the gzip decision is still open.</summary>
    public async ValueTask FlushAsync(CancellationToken ct)
    {
        if (_pending is { } pending)
        {
            if (pending.WrittenCount <= ResponseCompression.ThresholdBytes)
            {
                return;
            }

            await CommitGzipAsync(pending, ct).ConfigureAwait(false);
        }

        await (_pipe ?? _response.BodyWriter).FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Ends the body: a small buffered one goes out plain, a gzip stream is finished.</summary>
    public async Task CompleteAsync(CancellationToken ct)
    {
        if (_pending is { } pending)
        {
            if (pending.WrittenCount > ResponseCompression.ThresholdBytes)
            {
                await CommitGzipAsync(pending, ct).ConfigureAwait(false);
            }
            else
            {
                _pending = null;
                _response.ContentLength = pending.WrittenCount;
                await _response.StartAsync(ct).ConfigureAwait(false);
                await _response.Body.WriteAsync(pending.WrittenMemory, ct).ConfigureAwait(false);
                return;
            }
        }

        if (_pipe is { } pipe)
        {
            await pipe.CompleteAsync().ConfigureAwait(false);
            await _gzip!.DisposeAsync().ConfigureAwait(false);
            return;
        }

        await _response.BodyWriter.FlushAsync(ct).ConfigureAwait(false);
    }

    private async Task CommitGzipAsync(ArrayBufferWriter<byte> pending, CancellationToken ct)
    {
        _pending = null;
        ResponseCompression.MarkGzip(_response, null);
        await _response.StartAsync(ct).ConfigureAwait(false);
        _gzip = ResponseCompression.Create(_response.Body);
        _pipe = PipeWriter.Create(_gzip, new StreamPipeWriterOptions(leaveOpen: true));
        _pipe.Write(pending.WrittenSpan);
        _current = _pipe;
    }
}

/// <summary>
/// The body of a gzipped watch-list stream, kube-apiserver v1.37's <c>perFlushGzipWriter</c> (handlers/watch.go): the
/// events written since the last flush become one complete gzip member, so a client sees every flushed event at once
/// (Go's and .NET's gzip readers read concatenated members as one stream) and an idle watch holds no compressor.
/// </summary>
internal sealed class PerFlushGzipBody : IBufferWriter<byte>
{
    private readonly Stream _body;
    private readonly ArrayBufferWriter<byte> _pending = new(16 * 1024);

    public PerFlushGzipBody(Stream body) => _body = body;

    public void Advance(int count) => _pending.Advance(count);

    public Memory<byte> GetMemory(int sizeHint = 0) => _pending.GetMemory(sizeHint);

    public Span<byte> GetSpan(int sizeHint = 0) => _pending.GetSpan(sizeHint);

    /// <summary>Compresses the pending events into one gzip member and sends it; nothing written, nothing sent (as upstream).</summary>
    public async ValueTask FlushAsync(CancellationToken ct)
    {
        if (_pending.WrittenCount == 0)
        {
            return;
        }

        var gzip = ResponseCompression.Create(_body);
        await using (gzip.ConfigureAwait(false))
        {
            await gzip.WriteAsync(_pending.WrittenMemory, ct).ConfigureAwait(false);
        }

        _pending.ResetWrittenCount();
        await _body.FlushAsync(ct).ConfigureAwait(false);
    }
}
