using System.Buffers;

namespace KubeConsistency.Http;

/// <summary>
/// Reads newline-delimited lines from a stream into one pooled, growing buffer. A line stays valid until the
/// next read. Blank lines are skipped. No allocation per line.
/// </summary>
internal sealed class LineReader : IDisposable
{
    /// <summary>Lines longer than this are rejected (etcd caps objects at ~1.5 MiB; this leaves ample room).</summary>
    internal const int MaxLineLength = 128 * 1024 * 1024;

    private const int InitialSize = 16 * 1024;

    private readonly Stream _stream;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private int _scanned;
    private int _lineStart;
    private int _lineLength;
    private bool _eof;

    public LineReader(Stream stream, int initialSize = InitialSize)
    {
        _stream = stream;
        _buffer = ArrayPool<byte>.Shared.Rent(initialSize);
    }

    /// <summary>The current line, without its <c>\n</c> (and a trailing <c>\r</c>).</summary>
    public ReadOnlySpan<byte> Line => _buffer.AsSpan(_lineStart, _lineLength);

    /// <summary>Whether the current line was cut off by the end of the stream (no terminating newline).</summary>
    public bool LineUnterminated { get; private set; }

    /// <summary>The size of the buffer (grows for long lines).</summary>
    public int BufferLength => _buffer.Length;

    /// <summary>Advances to the next non-blank line; <see langword="false"/> at a clean end of the stream.</summary>
    public ValueTask<bool> ReadLineAsync(CancellationToken cancellationToken) =>
        TryTakeLine() ? new ValueTask<bool>(true) : ReadLineSlowAsync(cancellationToken);

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async ValueTask<bool> ReadLineSlowAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_eof)
            {
                return TakeRemainder();
            }

            MakeRoom();
            var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                _eof = true;
            }
            else
            {
                _end += read;
            }

            if (TryTakeLine())
            {
                return true;
            }
        }
    }

    private bool TryTakeLine()
    {
        while (true)
        {
            var pending = _buffer.AsSpan(_scanned, _end - _scanned);
            var nl = pending.IndexOf((byte)'\n');
            if (nl < 0)
            {
                _scanned = _end;
                return false;
            }

            var lineEnd = _scanned + nl;
            var start = _start;
            _start = lineEnd + 1;
            _scanned = _start;
            var length = lineEnd - start;
            if (length > 0 && _buffer[start + length - 1] == (byte)'\r')
            {
                length--;
            }

            if (IsBlank(_buffer.AsSpan(start, length)))
            {
                continue;
            }

            _lineStart = start;
            _lineLength = length;
            LineUnterminated = false;
            return true;
        }
    }

    private bool TakeRemainder()
    {
        var rest = _buffer.AsSpan(_start, _end - _start);
        _lineStart = _start;
        _lineLength = rest.Length;
        _start = _scanned = _end;
        if (IsBlank(rest))
        {
            _lineLength = 0;
            return false;
        }

        LineUnterminated = true;
        return true;
    }

    private void MakeRoom()
    {
        var pending = _end - _start;
        if (pending == 0)
        {
            _start = _end = _scanned = 0;
        }
        else if (_start > 0 && (_end == _buffer.Length || _start >= _buffer.Length / 2))
        {
            // Slide the unfinished line to the front.
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, pending);
            _scanned -= _start;
            _end = pending;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            if (_buffer.Length >= MaxLineLength)
            {
                throw new WatchDecodeException($"line exceeds {MaxLineLength} bytes", _buffer.AsSpan(_start, Math.Min(pending, WatchDecodeException.MaxLineLength)));
            }

            var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(_buffer.Length * 2, MaxLineLength));
            Buffer.BlockCopy(_buffer, _start, bigger, 0, pending);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
            _scanned -= _start;
            _end = pending;
            _start = 0;
        }
    }

    private static bool IsBlank(ReadOnlySpan<byte> span) => span.IndexOfAnyExcept(" \t\r"u8) < 0;
}
