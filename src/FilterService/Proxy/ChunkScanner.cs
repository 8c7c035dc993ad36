namespace FilterService.Proxy;

/// <summary>
/// Follows a chunked body (RFC 9112 7.1) as it is relayed byte for byte, to know where the message ends and how many
/// bytes of data it carried. Chunk extensions and trailers pass through untouched.
/// </summary>
internal struct ChunkScanner
{
    private enum State { Size, Extension, SizeLf, Data, DataCr, DataLf, TrailerStart, TrailerLine, TrailerLf, FinalLf, Done }

    private State _state;
    private long _remaining;
    private int _digits;

    public long DataBytes { get; private set; }
    public readonly bool Done => _state == State.Done;

    /// <summary>Consumes up to the end of the message: the bytes consumed, or -1 if the framing is malformed.</summary>
    public int Feed(ReadOnlySpan<byte> data)
    {
        int i = 0;
        while (i < data.Length && _state != State.Done)
        {
            byte b = data[i];
            switch (_state)
            {
                case State.Size:
                    int v = HexValue(b);
                    if (v >= 0)
                    {
                        if (++_digits > 15)
                        {
                            return -1;
                        }
                        _remaining = _remaining * 16 + v;
                    }
                    else if (_digits > 0 && b is (byte)';' or (byte)' ' or (byte)'\t')
                    {
                        _state = State.Extension;
                    }
                    else if (_digits > 0 && b == '\r')
                    {
                        _state = State.SizeLf;
                    }
                    else
                    {
                        return -1;
                    }
                    i++;
                    break;
                case State.Extension:
                    if (b == '\r')
                    {
                        _state = State.SizeLf;
                    }
                    else if (b == '\n')
                    {
                        return -1;
                    }
                    i++;
                    break;
                case State.SizeLf:
                    if (!Expect(b, (byte)'\n', _remaining == 0 ? State.TrailerStart : State.Data))
                    {
                        return -1;
                    }
                    i++;
                    break;
                case State.Data:
                    int take = (int)Math.Min(_remaining, data.Length - i);
                    _remaining -= take;
                    DataBytes += take;
                    i += take;
                    if (_remaining == 0)
                    {
                        _state = State.DataCr;
                    }
                    break;
                case State.DataCr:
                case State.DataLf:
                    if (!Expect(b, _state == State.DataCr ? (byte)'\r' : (byte)'\n', _state == State.DataCr ? State.DataLf : State.Size))
                    {
                        return -1;
                    }
                    _digits = 0;
                    i++;
                    break;
                case State.TrailerStart:
                    _state = b == '\r' ? State.FinalLf : State.TrailerLine;
                    if (b == '\n')
                    {
                        return -1;
                    }
                    i++;
                    break;
                case State.TrailerLine:
                    if (b == '\r')
                    {
                        _state = State.TrailerLf;
                    }
                    else if (b == '\n')
                    {
                        return -1;
                    }
                    i++;
                    break;
                case State.TrailerLf:
                case State.FinalLf:
                    if (!Expect(b, (byte)'\n', _state == State.TrailerLf ? State.TrailerStart : State.Done))
                    {
                        return -1;
                    }
                    i++;
                    break;
            }
        }
        return i;
    }

    /// <summary>Moves to <paramref name="next"/> if <paramref name="b"/> is the byte the framing requires here.</summary>
    private bool Expect(byte b, byte wanted, State next)
    {
        if (b != wanted)
        {
            return false;
        }
        _state = next;
        return true;
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}
