using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace FilterService.Audit;

// The writer thread: it writes queued chunks with positional writes, fsyncs on the flush cadence, and keeps a failed write's records to retry (never a silent hole).
internal sealed partial class AuditFile
{
    private void WriteLoop()
    {
        try
        {
            WriteUntilClosed();
        }
        finally
        {
            _flushTimer.Dispose();
        }
    }

    /// <summary>
    /// The flush cadence is a one-shot timer on the injected clock, armed when the chunk being filled is sealed for a
    /// flush (so before its bytes can be seen on disk): a record waits at most <c>Audit:FlushInterval</c>, measured on
    /// the same clock the records are dated by.
    /// </summary>
    private void OnFlushDue(object? state)
    {
        lock (_gate)
        {
            _flushDue = true;
            Monitor.PulseAll(_gate);
        }
    }

    private void WriteUntilClosed()
    {
        int failuresWhileStopping = 0;
        var backoff = FirstRetry;
        bool retrying = false;
        while (true)
        {
            bool flush, stopping;
            lock (_gate)
            {
                while (_sealed.Count == 0 && !_stopping && !_flushDue)
                {
                    Monitor.Wait(_gate);
                }
                stopping = _stopping;
                // A retry also writes the chunk being filled and fsyncs: recovered means on disk.
                flush = stopping || retrying || _flushDue;
                if (flush)
                {
                    Seal();
                    _flushDue = false;
                    _flushTimer.Change(_flushInterval, Timeout.InfiniteTimeSpan);
                }
            }
            if (WritePending(flush))
            {
                failuresWhileStopping = 0;
                backoff = FirstRetry;
                retrying = false;
            }
            else if (stopping && ++failuresWhileStopping >= 5)
            {
                long lost;
                lock (_gate)
                {
                    lost = _pendingBytes;
                }
                LogLost(_logger, lost, PathFor(_day));
                CloseFile();
                return;
            }
            else
            {
                // A failing disk: retry with backoff, the records kept; once stopping, every second five times.
                WaitForRetry(stopping ? StoppingRetry : backoff, stopping);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, LastRetry.Ticks));
                retrying = true;
            }
            if (stopping)
            {
                lock (_gate)
                {
                    if (_sealed.Count == 0 && _current.Length == 0)
                    {
                        CloseFile();
                        return;
                    }
                }
            }
        }
    }

    /// <summary>Waits <paramref name="delay"/> on the <see cref="TimeProvider"/>; a Dispose cuts a backoff short.</summary>
    private void WaitForRetry(TimeSpan delay, bool stopping)
    {
        lock (_gate)
        {
            _retryDue = false;
        }
        using var timer = _time.CreateTimer(_ =>
        {
            lock (_gate)
            {
                _retryDue = true;
                Monitor.PulseAll(_gate);
            }
        }, null, delay, Timeout.InfiniteTimeSpan);
        lock (_gate)
        {
            while (!_retryDue && (stopping || !_stopping))
            {
                Monitor.Wait(_gate);
            }
        }
    }

    /// <summary>
    /// Writes every sealed chunk in order and, if <paramref name="flush"/>, fsyncs. Any exception is a failed write
    /// (one escaping would end this thread and the process with it). On the writer thread, or under
    /// _gate once closed. False if a write failed; the chunk that failed and those after it stay queued.
    /// </summary>
    private bool WritePending(bool flush)
    {
        while (true)
        {
            Chunk? chunk;
            lock (_gate)
            {
                _sealed.TryPeek(out chunk);
            }
            if (chunk is null)
            {
                break;
            }
            long start = _offset;
            Volatile.Write(ref _busySince, _time.GetTimestamp());
            try
            {
                if (_file is null || chunk.Day != _fileDay)
                {
                    OpenFile(chunk.Day);
                    start = _offset;
                }
                if (_pipe is not null)
                {
                    _pipe.Write(chunk.Data, 0, chunk.Length);
                }
                else
                {
                    RandomAccess.Write(_file!, chunk.Data.AsSpan(0, chunk.Length), _offset);
                    _unflushed = true;
                }
                _offset += chunk.Length;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Failed(ex, start);
                return false;
            }
            finally
            {
                Volatile.Write(ref _busySince, 0);
            }
            lock (_gate)
            {
                _sealed.Dequeue();
                Volatile.Write(ref _pendingBytes, _pendingBytes - chunk.Length);
                Volatile.Write(ref _pendingRecords, _pendingRecords - chunk.Records);
                if (_pendingBytes < MaxBacklogBytes)
                {
                    _dropping = false; // the next drop is logged again
                }
                if (chunk.Data.Length == ChunkSize && _free.Count < FreeChunksKept)
                {
                    _free.Push(chunk);
                }
            }
        }
        if (flush && _unflushed)
        {
            Volatile.Write(ref _busySince, _time.GetTimestamp());
            try
            {
                if (_file is null)
                {
                    OpenFile(_fileDay); // closed by a failure after its last write
                }
                RandomAccess.FlushToDisk(_file!);
                _unflushed = false;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Failed(ex, _offset);
                return false;
            }
            finally
            {
                Volatile.Write(ref _busySince, 0);
            }
        }
        if (_failing && (flush || !_unflushed))
        {
            _failing = false;
            long dropped = DroppedRecords - _droppedWhenFailed;
            if (dropped == 0)
            {
                LogRecovered(_logger, PathFor(_fileDay));
            }
            else
            {
                LogRecoveredWithDrops(_logger, PathFor(_fileDay), dropped);
            }
            _writable = true; // after the log line, so whoever sees traffic resume finds it
        }
        return true;
    }

    private void Failed(Exception ex, long wholeChunksEnd)
    {
        Interlocked.Increment(ref _writeErrors);
        _writable = false;
        if (!_failing)
        {
            _failing = true;
            _droppedWhenFailed = DroppedRecords;
            LogWriteFailed(_logger, ex, _file is null ? PathFor(_day) : PathFor(_fileDay));
        }
        // A partial write would leave a torn line that the retry then repeats: cut the file back to its last
        // whole chunk, or reopen it next time if even that fails.
        try
        {
            if (_file is not null && RandomAccess.GetLength(_file) > wholeChunksEnd)
            {
                RandomAccess.SetLength(_file, wholeChunksEnd);
            }
            _offset = wholeChunksEnd;
            // The retry opens the file by name again (the path may now lead elsewhere: a remounted or replaced
            // directory); what was written but not fsynced is fsynced through the new handle.
            _pipe?.Dispose();
            _file?.Dispose();
            _file = null;
            _pipe = null;
        }
        catch (Exception) when (_file is not null)
        {
            CloseFile();
        }
    }
}
