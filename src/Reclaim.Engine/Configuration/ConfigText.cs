using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Unicode;

namespace Reclaim.Engine.Configuration;

/// <summary>
/// Turns a config file's bytes into text, refusing what would otherwise be changed silently: bytes that are not
/// UTF-8 (a decoder would replace them with U+FFFD), and characters YAML does not allow in a document
/// (NUL and the other control characters but tab, line feed and carriage return; YAML 1.2 §5.1 "c-printable").
/// Each refusal names its line and column (1-based; columns count UTF-16 code units, as the YAML parser's do).
/// </summary>
internal static class ConfigText
{
    private static readonly SearchValues<char> NotPrintable = SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Where(c => c is not (0x09 or 0x0A or 0x0D)).Select(c => (char)c),
         .. Enumerable.Range(0x7F, 0x21).Where(c => c != 0x85).Select(c => (char)c),
         '\uFFFE', '\uFFFF']);

    /// <summary>Decodes <paramref name="bytes"/> (a UTF-8 byte order mark is skipped).</summary>
    /// <param name="path">The file, for the error's location.</param>
    /// <param name="bytes">The file's bytes.</param>
    /// <param name="error">Why the text was refused, with its position; <see langword="null"/> when it was not.</param>
    /// <returns>The text, or <see langword="null"/> when refused.</returns>
    public static string? Decode(string path, ReadOnlySpan<byte> bytes, out ConfigError? error)
    {
        error = null;
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]) || bytes.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF]))
        {
            error = new ConfigError(new ConfigLocation(path, 1, 1), "the file is UTF-16 text (it starts with a UTF-16 byte order mark): save it as UTF-8");
            return null;
        }

        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            bytes = bytes[3..];
        }

        var chars = new char[bytes.Length];
        var status = Utf8.ToUtf16(bytes, chars, out var bytesRead, out var written, replaceInvalidSequences: false);
        if (status != OperationStatus.Done)
        {
            var (line, column) = Position(chars.AsSpan(0, written), written);
            var bad = bytes.Slice(bytesRead, Math.Min(4, bytes.Length - bytesRead));
            error = new ConfigError(new ConfigLocation(path, line, column),
                $"the file is not UTF-8: byte{(bad.Length > 1 ? "s" : string.Empty)} {string.Join(' ', bad.ToArray().Select(b => $"0x{b:X2}"))} at byte offset {bytesRead} cannot be decoded; save the file as UTF-8");
            return null;
        }

        var text = new string(chars, 0, written);
        var index = text.AsSpan().IndexOfAny(NotPrintable);
        if (index >= 0)
        {
            var (line, column) = Position(text, index);
            var code = ((int)text[index]).ToString("X4", CultureInfo.InvariantCulture);
            error = new ConfigError(new ConfigLocation(path, line, column), text[index] == '\0'
                ? "a NUL character (U+0000) is in the file: a config is plain text; remove it (was the file saved by a binary tool, or truncated?)"
                : $"the control character U+{code} is in the file: YAML allows no control characters but tab, line feed and carriage return; remove it");
            return null;
        }

        return text;
    }

    /// <summary>The 1-based line and column of <paramref name="index"/> in <paramref name="text"/>.</summary>
    private static (int Line, int Column) Position(ReadOnlySpan<char> text, int index)
    {
        var before = text[..index];
        var line = before.Count('\n') + 1;
        var start = before.LastIndexOf('\n') + 1;
        return (line, index - start + 1);
    }
}
