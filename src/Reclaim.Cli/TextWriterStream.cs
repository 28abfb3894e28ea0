using System.Text;

namespace Reclaim.Cli;

/// <summary>
/// A write-only stream of UTF-8 bytes into a <see cref="TextWriter"/>, decoded as they come (a character split
/// between two writes is completed by the next): lets <see cref="System.Text.Json.JsonSerializer"/> write a large
/// document to the command's output in chunks instead of building it as one string first.
/// </summary>
/// <param name="writer">Receives the text; not disposed with the stream.</param>
internal sealed class TextWriterStream(TextWriter writer) : Stream
{
    private readonly Decoder _decoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetDecoder();
    private char[] _chars = new char[4096];

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        var needed = _decoder.GetCharCount(buffer, flush: false);
        if (needed > _chars.Length)
        {
            _chars = new char[Math.Max(needed, _chars.Length * 2)];
        }

        var decoded = _decoder.GetChars(buffer, _chars, flush: false);
        writer.Write(_chars, 0, decoded);
    }

    public override void Flush() => writer.Flush();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
