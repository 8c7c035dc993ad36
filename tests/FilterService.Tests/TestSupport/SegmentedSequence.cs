using System.Buffers;

namespace FilterService.Tests.TestSupport;

/// <summary>
/// Builds a <see cref="ReadOnlySequence{T}"/> of several segments from one array, cut at the given offsets, as a
/// connection's pipe hands a parser bytes that arrived in pieces.
/// </summary>
public static class SegmentedSequence
{
    public static ReadOnlySequence<byte> Of(byte[] bytes, params int[] cuts)
    {
        var bounds = cuts.Where(c => c > 0 && c < bytes.Length).Distinct().Order().Append(bytes.Length).ToArray();
        if (bounds.Length == 1)
        {
            return new ReadOnlySequence<byte>(bytes);
        }
        int from = 0;
        Segment? first = null, last = null;
        foreach (int to in bounds)
        {
            var segment = new Segment(bytes.AsMemory(from, to - from));
            if (last is null)
            {
                first = segment;
            }
            else
            {
                last.Append(segment);
            }
            last = segment;
            from = to;
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public void Append(Segment next)
        {
            next.RunningIndex = RunningIndex + Memory.Length;
            Next = next;
        }
    }
}
