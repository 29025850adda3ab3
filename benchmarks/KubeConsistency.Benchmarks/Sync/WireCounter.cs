using System.Net;
using System.Net.Sockets;
using KubeConsistency.Http;

namespace KubeConsistency.Benchmarks.Sync;

/// <summary>
/// Counts the bytes the client reads from its sockets (what crossed the wire, before gzip decoding), so the harness
/// reports compression's effect from the client side for any server.
/// </summary>
internal sealed class WireCounter
{
    private long _bytesRead;

    public long BytesRead => Interlocked.Read(ref _bytesRead);

    /// <summary>
    /// A connection like <see cref="KubernetesConnection.ForServer"/>'s, through a handler whose sockets count the
    /// bytes read. <paramref name="gzip"/> false sends no <c>Accept-Encoding</c> (the server then never compresses).
    /// </summary>
    public static (KubernetesConnection Connection, WireCounter Counter, HttpClient Http) Connect(Uri server, bool gzip)
    {
        var counter = new WireCounter();
        var handler = new SocketsHttpHandler
        {
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(90),
            EnableMultipleHttp2Connections = true,
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = gzip ? DecompressionMethods.GZip : DecompressionMethods.None,
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new CountingStream(new NetworkStream(socket, ownsSocket: true), counter);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        return (KubernetesConnection.FromHttpClient(http, server), counter, http);
    }

    private void Add(int bytes) => Interlocked.Add(ref _bytesRead, bytes);

    /// <summary>Passes everything through; counts reads.</summary>
    private sealed class CountingStream(Stream inner, WireCounter counter) : Stream
    {
        public override bool CanRead => inner.CanRead;

        public override bool CanSeek => false;

        public override bool CanWrite => inner.CanWrite;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Counted(inner.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Counted(inner.Read(buffer));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Counted(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.WriteAsync(buffer, offset, count, cancellationToken);

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync();
            await base.DisposeAsync();
        }

        private int Counted(int read)
        {
            counter.Add(read);
            return read;
        }
    }
}
