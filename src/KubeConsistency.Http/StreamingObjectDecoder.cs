using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace KubeConsistency.Http;

/// <summary>
/// Deserializes the objects of one watch stream, one at a time, through a single System.Text.Json streaming decode
/// (<see cref="JsonSerializer.DeserializeAsyncEnumerable{TValue}(PipeReader, JsonTypeInfo{TValue}, bool, CancellationToken)"/>
/// with top-level values) instead of one <see cref="JsonSerializer.Deserialize{TValue}(ReadOnlySpan{byte}, JsonTypeInfo{TValue})"/>
/// per event.
/// </summary>
/// <remarks>
/// Why: every <c>Deserialize</c> call allocates System.Text.Json's read-stack frames afresh, about 1.35 KB for a pod
/// (benchmarks: <c>ProbeWatchDecodeBenchmarks</c>); one streaming decode keeps them for the whole watch. The objects
/// are the same: same contract, same converters. Each object is written whole, after a newline, before its
/// value is asked for, so the decode completes synchronously; if it ever does not, or a value fails to decode, this
/// watch falls back to one <c>Deserialize</c> per object (the error is reported exactly as that path reports it).
/// One watch stream, one thread at a time. Given a <see cref="DirectDecoding"/> contract, it decodes each object with
/// that instead and starts no streaming decode: value converters have no frames to keep.
/// </remarks>
/// <typeparam name="T">The object type.</typeparam>
internal sealed class StreamingObjectDecoder<T> : IDisposable
{
    // Never pause the writer: an object is written whole before it is read, whatever its size.
    private static readonly PipeOptions s_options = new(pauseWriterThreshold: 0, resumeWriterThreshold: 0, useSynchronizationContext: false);

    private readonly JsonTypeInfo<T> _typeInfo;
    private readonly JsonTypeInfo<T>? _direct;
    private readonly Func<PipeReader, PipeReader>? _observeReader;
    private Pipe? _pipe;
    private IAsyncEnumerator<T?>? _values;
    private bool _inFlight;

    public StreamingObjectDecoder(JsonTypeInfo<T> typeInfo)
        : this(typeInfo, observeReader: null)
    {
    }

    /// <param name="typeInfo">The object contract.</param>
    /// <param name="direct">
    /// The same contract from <see cref="DirectDecoding"/>, or <see langword="null"/>. With it, each object is one
    /// <c>Deserialize</c> through value converters (no read-stack frames to keep, so no streaming decode), and an
    /// object it rejects is decoded again with <paramref name="typeInfo"/>, whose result or error stands.
    /// </param>
    public StreamingObjectDecoder(JsonTypeInfo<T> typeInfo, JsonTypeInfo<T>? direct)
    {
        _typeInfo = typeInfo;
        _direct = direct;
        if (direct is null)
        {
            Start();
        }
    }

    /// <param name="typeInfo">The object contract.</param>
    /// <param name="observeReader">Wraps the pipe reader the decode reads from (tests observe its reads).</param>
    internal StreamingObjectDecoder(JsonTypeInfo<T> typeInfo, Func<PipeReader, PipeReader>? observeReader)
    {
        _typeInfo = typeInfo;
        _observeReader = observeReader;
        Start();
    }

    /// <summary>The <see cref="DirectDecoding"/> contract objects are decoded with, or <see langword="null"/>.</summary>
    internal JsonTypeInfo<T>? Direct => _direct;

    /// <summary>Whether objects still go through the streaming decode (false after a fallback).</summary>
    internal bool Streaming => _values is not null;

    /// <summary>Deserializes one JSON object; throws <see cref="JsonException"/> as <see cref="JsonSerializer.Deserialize{TValue}(ReadOnlySpan{byte}, JsonTypeInfo{TValue})"/> does.</summary>
    public T? Decode(ReadOnlySpan<byte> json)
    {
        if (_direct is not null)
        {
            return DecodeDirectly(json, _direct);
        }

        if (_values is null || _pipe is null)
        {
            return JsonSerializer.Deserialize(json, _typeInfo);
        }

        // The separator goes before the object, not after it: once the object is read nothing of the segment is
        // left unconsumed, so the pipe recycles it and the next object starts a segment of its own. A separator left
        // behind would put the next object in a new segment linked to it, and the reader would take the slower
        // multi-segment path for that whole object (about every second pod with the pipe's 4 KiB segments).
        var writer = _pipe.Writer;
        var span = writer.GetSpan(json.Length + 1);
        span[0] = (byte)'\n';
        json.CopyTo(span[1..]);
        writer.Advance(json.Length + 1);
        var flushed = writer.FlushAsync();
        if (!flushed.IsCompletedSuccessfully)
        {
            return FallBack(json);
        }

        // An async iterator reports its errors through the returned task, never by throwing from MoveNextAsync.
        var next = _values.MoveNextAsync();
        if (!next.IsCompleted)
        {
            _inFlight = true;
            return FallBack(json);
        }

        if (!next.IsCompletedSuccessfully)
        {
            // Observe the fault (the iterator is finished); the object's error then comes from the plain path.
            _ = next.AsTask().Exception;
            try
            {
                return FallBack(json);
            }
            finally
            {
                // A fresh streaming decode for the rest of the watch, whether or not this object decodes.
                Start();
            }
        }

        return next.Result ? _values.Current : FallBack(json);
    }

    public void Dispose() => Stop();

    private T? DecodeDirectly(ReadOnlySpan<byte> json, JsonTypeInfo<T> direct)
    {
        try
        {
            return JsonSerializer.Deserialize(json, direct);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
            // The serializer's own decode gives the error its exact message and path (it adds the path to both).
            return JsonSerializer.Deserialize(json, _typeInfo);
        }
    }

    private void Start()
    {
        _pipe = new Pipe(s_options);
        var reader = _observeReader is null ? _pipe.Reader : _observeReader(_pipe.Reader);
        _values = JsonSerializer.DeserializeAsyncEnumerable(reader, _typeInfo, topLevelValues: true).GetAsyncEnumerator();
        _inFlight = false;
    }

    private T? FallBack(ReadOnlySpan<byte> json)
    {
        Stop();
        return JsonSerializer.Deserialize(json, _typeInfo);
    }

    private void Stop()
    {
        var pipe = _pipe;
        var values = _values;
        _pipe = null;
        _values = null;
        if (pipe is null || values is null)
        {
            return;
        }

        // Completing the writer ends the decode. An iterator stopped at a value is disposed now (its buffers go back
        // to the pool); one still waiting for input (never expected) finishes by itself on reading the completed pipe.
        pipe.Writer.Complete();
        if (!_inFlight)
        {
            var disposed = values.DisposeAsync();
            if (disposed.IsCompleted)
            {
                disposed.GetAwaiter().GetResult();
            }
        }
    }
}
