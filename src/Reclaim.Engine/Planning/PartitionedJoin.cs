using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Reclaim.Core.Planning;
using Reclaim.Core.References;
using Reclaim.Core.Storage;

namespace Reclaim.Engine.Planning;

/// <summary>
/// The reference join on disk, for reference sets too large to hold (a Grace hash join, Kitsuregawa et al. 1983):
/// reference fingerprints and listed groups' fingerprints are hashed by their top bits into <see cref="Partitions"/>
/// partition files; each partition's references then fit in memory and are looked up by that partition's groups,
/// whose answers are written back in listing order. The listed batches themselves are spilled in listing order and
/// replayed with their answers, so the join that follows (<see cref="ReferenceJoin"/>) sees exactly the batches, in
/// exactly the order, the in-memory join would: the plan is the same, only memory is bounded.
/// </summary>
/// <remarks>
/// Memory: one write buffer per partition (<see cref="BufferFingerprints"/> fingerprints, 16 KB) for references and
/// for groups, one partition's distinct references at a time (8 bytes each: 1/256 of the set), and one read buffer
/// per partition while replaying. Disk: 8 bytes per reference and per group, 1 byte per group, and the listed keys
/// (about 2 bytes per key char plus 9 bytes per key, and the metadata when the listing had it).
/// References and listing are written from different threads (each side from one).
/// </remarks>
internal sealed class PartitionedJoin(string directory) : IDisposable
{
    /// <summary>Bits of a fingerprint that pick its partition: 8.</summary>
    public const int PartitionBits = 8;

    /// <summary>Partitions: 256. A partition then holds 1/256 of the distinct references (62,500 of 16 million).</summary>
    public const int Partitions = 1 << PartitionBits;

    /// <summary>Fingerprints buffered per partition before a write: 2048 (16 KB).</summary>
    public const int BufferFingerprints = 2048;

    private readonly PartitionWriter _references = new(directory);
    private readonly PartitionWriter _groups = new(directory);
    private readonly SpillFile?[] _answers = new SpillFile?[Partitions];
    private SpillFile? _listing;
    private Stream? _listingStream;
    private BinaryWriter? _listingWriter;
    private long _batches;

    /// <summary>References spilled, duplicates included.</summary>
    public long ReferencesSpilled => _references.Written;

    /// <summary>Groups spilled.</summary>
    public long GroupsSpilled => _groups.Written;

    /// <summary>Spills reference fingerprints (a <see cref="FingerprintSpill"/>).</summary>
    /// <param name="fingerprints">Fingerprints, unsorted, duplicates allowed.</param>
    public void AddReferences(ReadOnlySpan<ulong> fingerprints) => _references.Write(fingerprints);

    /// <summary>Spills a classified batch, in listing order, and its groups to their partitions.</summary>
    /// <param name="batch">The next batch.</param>
    public void AddListed(ListedBatch batch)
    {
        if (_listingWriter is null)
        {
            _listing = SpillFile.Create(directory);
            _listingStream = _listing.OpenAppend(1 << 18);
            _listingWriter = new BinaryWriter(_listingStream);
        }

        var writer = _listingWriter;
        var count = batch.Count;
        writer.Write(count);
        writer.Write(batch.GroupCount);
        writer.Write(batch.Metadata is not null);
        writer.Write(MemoryMarshal.AsBytes(batch.GroupLengths.AsSpan(0, count)));
        writer.Write(MemoryMarshal.AsBytes(batch.StartsGroup.AsSpan(0, count)));
        writer.Write(MemoryMarshal.AsBytes(batch.GroupFingerprints.AsSpan(0, batch.GroupCount)));
        for (var i = 0; i < count; i++)
        {
            var key = batch.Keys[i];
            writer.Write(key.Length);
            writer.Write(MemoryMarshal.AsBytes(key));
        }

        if (batch.Metadata is { } metadata)
        {
            for (var i = 0; i < count; i++)
            {
                var item = metadata[i];
                writer.Write(item.Size);
                writer.Write(item.LastModified.Ticks);
                writer.Write(item.LastModified.Offset.Ticks);
                writer.Write(item.ETag is not null);
                if (item.ETag is not null)
                {
                    writer.Write(item.ETag.Length);
                    writer.Write(MemoryMarshal.AsBytes(item.ETag.AsSpan()));
                }
            }
        }

        _groups.Write(batch.GroupFingerprints.AsSpan(0, batch.GroupCount));
        _batches++;
    }

    /// <summary>
    /// Joins partition by partition: loads a partition's references into a <see cref="ReferenceSet"/>, looks its
    /// groups up in their listing order, and writes the answers; each partition's files are released once joined.
    /// </summary>
    /// <param name="cancellationToken">Stops between chunks.</param>
    /// <returns>The most distinct references one partition held.</returns>
    public int Probe(CancellationToken cancellationToken)
    {
        _references.Flush();
        _groups.Flush();
        _listingWriter?.Flush();
        var chunk = new ulong[1 << 14];
        var answers = new bool[chunk.Length];
        var largest = 0;
        for (var p = 0; p < Partitions; p++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var groups = _groups.Take(p);
            var references = _references.Take(p);
            if (groups is null)
            {
                references?.Dispose();
                continue;
            }

            var set = new ReferenceSet();
            if (references is not null)
            {
                long offset = 0;
                int read;
                while ((read = references.Read(MemoryMarshal.AsBytes(chunk.AsSpan()), offset)) > 0)
                {
                    offset += read;
                    foreach (var fingerprint in chunk.AsSpan(0, read / sizeof(ulong)))
                    {
                        set.AddFingerprint(fingerprint);
                    }
                }

                references.Dispose();
            }

            set.Seal();
            largest = Math.Max(largest, set.Count);
            var answerFile = _answers[p] = SpillFile.Create(directory);
            long groupOffset = 0;
            int groupRead;
            while ((groupRead = groups.Read(MemoryMarshal.AsBytes(chunk.AsSpan()), groupOffset)) > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                groupOffset += groupRead;
                var n = groupRead / sizeof(ulong);
                set.ContainsFingerprints(chunk.AsSpan(0, n), answers);
                answerFile.Append(MemoryMarshal.AsBytes(answers.AsSpan(0, n)));
            }

            groups.Dispose();
        }

        return largest;
    }

    /// <summary>
    /// The spilled batches again, in listing order, each with <see cref="ListedBatch.GroupReferenced"/> filled from
    /// the partitions' answers. Each batch is rented from <paramref name="pool"/>; hand it back once joined.
    /// </summary>
    /// <param name="pool">Batches to reuse.</param>
    /// <param name="capacity">Keys per batch (the listing's).</param>
    /// <returns>The batches, read lazily.</returns>
    public IEnumerable<ListedBatch> Replay(ConcurrentQueue<ListedBatch> pool, int capacity)
    {
        if (_listing is null)
        {
            yield break;
        }

        var cursors = new AnswerCursor?[Partitions];
        using var reader = new BinaryReader(_listing.OpenRead(1 << 18));
        var chars = new char[256];
        for (long b = 0; b < _batches; b++)
        {
            var count = reader.ReadInt32();
            var groupCount = reader.ReadInt32();
            var withMetadata = reader.ReadBoolean();
            var batch = ListedBatch.Rent(pool, withMetadata, capacity);
            if (batch.Metadata is not null != withMetadata)
            {
                batch = new ListedBatch(new KeyBatch(capacity), withMetadata ? new StoredObject[capacity] : null);
            }

            reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(batch.GroupLengths.AsSpan(0, count)));
            reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(batch.StartsGroup.AsSpan(0, count)));
            reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(batch.GroupFingerprints.AsSpan(0, groupCount)));
            batch.GroupCount = groupCount;
            var keys = new string[withMetadata ? count : 0];
            for (var i = 0; i < count; i++)
            {
                var length = reader.ReadInt32();
                if (length > chars.Length)
                {
                    chars = new char[Math.Max(length, chars.Length * 2)];
                }

                reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(chars.AsSpan(0, length)));
                batch.Keys.Add(chars.AsSpan(0, length));
                if (withMetadata)
                {
                    keys[i] = new string(chars.AsSpan(0, length));
                }
            }

            if (batch.Metadata is { } metadata)
            {
                for (var i = 0; i < count; i++)
                {
                    var size = reader.ReadInt64();
                    var ticks = reader.ReadInt64();
                    var offset = TimeSpan.FromTicks(reader.ReadInt64());
                    string? etag = null;
                    if (reader.ReadBoolean())
                    {
                        var length = reader.ReadInt32();
                        etag = string.Create(length, reader, static (span, r) => r.BaseStream.ReadExactly(MemoryMarshal.AsBytes(span)));
                    }

                    metadata[i] = new StoredObject(keys[i], size, new DateTimeOffset(ticks, offset), etag);
                }
            }

            for (var g = 0; g < groupCount; g++)
            {
                var p = (int)(batch.GroupFingerprints[g] >> (64 - PartitionBits));
                var cursor = cursors[p] ??= new AnswerCursor(_answers[p] ?? throw new InvalidOperationException($"no answers for partition {p}: probe before replaying"));
                batch.GroupReferenced[g] = cursor.Next();
            }

            yield return batch;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _references.Dispose();
        _groups.Dispose();
        _listingWriter?.Dispose();
        _listing?.Dispose();
        foreach (var answers in _answers)
        {
            answers?.Dispose();
        }
    }

    /// <summary>Reads one partition's answers in order, a buffer at a time.</summary>
    private sealed class AnswerCursor(SpillFile file)
    {
        private readonly byte[] _buffer = new byte[4096];
        private long _offset;
        private int _position;
        private int _filled;

        public bool Next()
        {
            if (_position == _filled)
            {
                _filled = file.Read(_buffer, _offset);
                if (_filled == 0)
                {
                    throw new InvalidOperationException("a partition has fewer answers than groups: the spill is damaged");
                }

                _offset += _filled;
                _position = 0;
            }

            return _buffer[_position++] != 0;
        }
    }

    /// <summary>Fingerprints hashed into partition files, through a buffer per partition; files made at their first write.</summary>
    private sealed class PartitionWriter(string directory) : IDisposable
    {
        private readonly SpillFile?[] _files = new SpillFile?[Partitions];
        private readonly ulong[][] _buffers = new ulong[Partitions][];
        private readonly int[] _counts = new int[Partitions];

        public long Written { get; private set; }

        public void Write(ReadOnlySpan<ulong> fingerprints)
        {
            foreach (var fingerprint in fingerprints)
            {
                var p = (int)(fingerprint >> (64 - PartitionBits));
                var buffer = _buffers[p] ??= new ulong[BufferFingerprints];
                buffer[_counts[p]++] = fingerprint;
                if (_counts[p] == BufferFingerprints)
                {
                    FlushPartition(p);
                }
            }

            Written += fingerprints.Length;
        }

        public void Flush()
        {
            for (var p = 0; p < Partitions; p++)
            {
                FlushPartition(p);
                _buffers[p] = null!;
            }
        }

        /// <summary>Hands over partition <paramref name="p"/>'s file (the caller disposes it), or <see langword="null"/> when nothing went there.</summary>
        public SpillFile? Take(int p)
        {
            var file = _files[p];
            _files[p] = null;
            return file;
        }

        public void Dispose()
        {
            foreach (var file in _files)
            {
                file?.Dispose();
            }
        }

        private void FlushPartition(int p)
        {
            if (_counts[p] == 0)
            {
                return;
            }

            var file = _files[p] ??= SpillFile.Create(directory);
            file.Append<ulong>(_buffers[p].AsSpan(0, _counts[p]));
            _counts[p] = 0;
        }
    }
}
