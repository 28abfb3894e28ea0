using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Reclaim.Engine.Planning;

/// <summary>
/// A temporary file a plan spills to: created in a folder, then unlinked at once (on Unix), so it disappears with its
/// handle whatever ends the process (a crash or SIGKILL included); on Windows it is deleted on close. Appends go at
/// the end; reads are positional, so several readers can run at once while nothing is appended.
/// </summary>
internal sealed class SpillFile : IDisposable
{
    private readonly SafeFileHandle _handle;
    private long _length;

    private SpillFile(SafeFileHandle handle) => _handle = handle;

    /// <summary>Bytes appended so far.</summary>
    public long Length => Interlocked.Read(ref _length);

    /// <summary>Creates an empty spill file in <paramref name="directory"/> (created when missing).</summary>
    /// <param name="directory">Where to put it (the planner's spill folder, by default the system's temporary folder).</param>
    /// <returns>The file.</returns>
    /// <exception cref="IOException">The folder cannot be written.</exception>
    public static SpillFile Create(string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"reclaim-spill-{Guid.NewGuid():N}.tmp");
        var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete,
            OperatingSystem.IsWindows() ? FileOptions.DeleteOnClose : FileOptions.None);
        if (!OperatingSystem.IsWindows())
        {
            File.Delete(path);
        }

        return new SpillFile(handle);
    }

    /// <summary>Appends bytes at the end.</summary>
    /// <param name="bytes">The bytes.</param>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        RandomAccess.Write(_handle, bytes, _length);
        Interlocked.Add(ref _length, bytes.Length);
    }

    /// <summary>Appends values' bytes at the end.</summary>
    /// <typeparam name="T">An unmanaged type.</typeparam>
    /// <param name="values">The values.</param>
    public void Append<T>(ReadOnlySpan<T> values)
        where T : unmanaged => Append(MemoryMarshal.AsBytes(values));

    /// <summary>Reads up to <paramref name="buffer"/>'s length from <paramref name="offset"/>.</summary>
    /// <param name="buffer">Where to read into.</param>
    /// <param name="offset">Byte offset, 0 to <see cref="Length"/>.</param>
    /// <returns>Bytes read; 0 at the end.</returns>
    public int Read(Span<byte> buffer, long offset) =>
        offset >= Length ? 0 : RandomAccess.Read(_handle, buffer[..(int)Math.Min(buffer.Length, Length - offset)], offset);

    /// <summary>A buffered stream that appends to the file; flush it before reading what it wrote.</summary>
    /// <param name="bufferBytes">Buffer size in bytes.</param>
    /// <returns>The stream (disposing it flushes it; the file stays).</returns>
    public Stream OpenAppend(int bufferBytes = 1 << 16) => new BufferedStream(new AppendStream(this), bufferBytes);

    /// <summary>A buffered stream that reads the file from its start up to what was appended by now.</summary>
    /// <param name="bufferBytes">Buffer size in bytes.</param>
    /// <returns>The stream.</returns>
    public Stream OpenRead(int bufferBytes = 1 << 16) => new BufferedStream(new ReadStream(this), bufferBytes);

    /// <inheritdoc />
    public void Dispose() => _handle.Dispose();

    private sealed class AppendStream(SpillFile file) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => file.Length;

        public override long Position { get => file.Length; set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => file.Append(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer) => file.Append(buffer);
    }

    private sealed class ReadStream(SpillFile file) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => file.Length;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var read = file.Read(buffer, _position);
            _position += read;
            return read;
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
