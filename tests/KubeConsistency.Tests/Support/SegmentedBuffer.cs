using System.Buffers;

namespace KubeConsistency.Tests;

/// <summary>Multi-segment buffers, so that a reader exposes values as sequences instead of spans.</summary>
internal static class SegmentedBuffer
{
    /// <summary>
    /// Splits <paramref name="bytes"/> into segments of <paramref name="size"/> bytes, each its own array
    /// (<paramref name="adjacent"/>: slices of <paramref name="bytes"/>, so that the segments are contiguous in memory).
    /// </summary>
    public static ReadOnlySequence<byte> Split(byte[] bytes, int size, bool adjacent = false)
    {
        Segment? first = null;
        Segment? last = null;
        for (var i = 0; i < bytes.Length; i += size)
        {
            var chunk = bytes.AsMemory(i, Math.Min(size, bytes.Length - i));
            chunk = adjacent ? chunk : chunk.ToArray();
            if (last is null)
            {
                first = last = new Segment(chunk, 0);
            }
            else
            {
                last = last.Append(chunk);
            }
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
