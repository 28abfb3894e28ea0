using System.Text;

namespace Reclaim.Core.Storage;

/// <summary>
/// Rules for object keys, shared by every store and policy. Keys compare ordinally, code point by code point
/// (the same order as their UTF-8 bytes, which is S3's listing order): no case folding, no Unicode
/// normalisation, no trimming.
/// </summary>
public static class ObjectKey
{
    /// <summary>The longest key accepted, in UTF-8 bytes: S3's limit (AWS "Object key naming guidelines").</summary>
    public const int MaxKeyBytes = 1024;

    /// <summary>Orders keys by UTF-8 byte sequence (equivalently, by Unicode code point).</summary>
    public static IComparer<string> Comparer { get; } = new Utf8OrdinalComparer();

    /// <summary>Compares two keys in UTF-8 byte order (equivalently, Unicode code point order), as <see cref="Comparer"/> does.</summary>
    /// <param name="x">A key.</param>
    /// <param name="y">Another key.</param>
    /// <returns>Negative when <paramref name="x"/> sorts first, zero when equal, positive when <paramref name="y"/> sorts first.</returns>
    public static int Compare(ReadOnlySpan<char> x, ReadOnlySpan<char> y)
    {
        var length = Math.Min(x.Length, y.Length);
        var index = x[..length].CommonPrefixLength(y[..length]);
        return index == length ? x.Length.CompareTo(y.Length) : CodePointOrder(x[index]).CompareTo(CodePointOrder(y[index]));
    }

    /// <summary>
    /// Checks that <paramref name="key"/> is a relative key a store may act on: not empty, no leading <c>/</c>,
    /// no <c>.</c> or <c>..</c> segment, no NUL, no backslash, at most <see cref="MaxKeyBytes"/> UTF-8 bytes,
    /// and valid UTF-16 (no lone surrogates). Empty segments (<c>a//b</c>) and a trailing <c>/</c> are allowed:
    /// S3 has such keys.
    /// </summary>
    /// <param name="key">The key to check.</param>
    /// <returns>The reason it is invalid, or <see langword="null"/> when it is valid.</returns>
    public static string? Validate(string? key)
    {
        if (string.IsNullOrEmpty(key))
        {
            return "the key is empty";
        }

        if (key[0] == '/')
        {
            return "the key is absolute (starts with '/')";
        }

        if (key.Contains('\0', StringComparison.Ordinal))
        {
            return "the key contains NUL";
        }

        if (key.Contains('\\', StringComparison.Ordinal))
        {
            return "the key contains a backslash";
        }

        var rest = key.AsSpan();
        while (true)
        {
            var slash = rest.IndexOf('/');
            var segment = slash < 0 ? rest : rest[..slash];
            if (segment is "." or "..")
            {
                return $"the key has a '{segment}' segment";
            }

            if (slash < 0)
            {
                break;
            }

            rest = rest[(slash + 1)..];
        }

        int bytes;
        try
        {
            bytes = StrictUtf8.GetByteCount(key);
        }
        catch (EncoderFallbackException)
        {
            return "the key is not valid Unicode (lone surrogate)";
        }

        return bytes > MaxKeyBytes ? $"the key is {bytes} bytes long; at most {MaxKeyBytes} are allowed" : null;
    }

    /// <summary>Throws <see cref="InvalidKeyException"/> when <see cref="Validate"/> finds a problem.</summary>
    /// <param name="key">The key to check.</param>
    /// <returns>The key, for chaining.</returns>
    /// <exception cref="InvalidKeyException">The key is invalid.</exception>
    public static string EnsureValid(string? key)
    {
        var problem = Validate(key);
        return problem is null ? key! : throw new InvalidKeyException(key ?? string.Empty, problem);
    }

    /// <summary>
    /// Whether <paramref name="key"/> lies under <paramref name="prefix"/> on a <c>/</c> boundary: a prefix must
    /// end in <c>/</c> to be a folder, so <c>images/</c> never matches <c>images2/a.jpg</c>. An empty prefix
    /// contains every key.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="prefix">A folder prefix ending in <c>/</c>, or empty.</param>
    /// <returns><see langword="true"/> when the key is inside the folder.</returns>
    /// <exception cref="ArgumentException">The prefix is not empty and does not end in <c>/</c>.</exception>
    public static bool IsUnder(string key, string prefix) => IsUnder(key.AsSpan(), prefix);

    /// <inheritdoc cref="IsUnder(string, string)"/>
    public static bool IsUnder(ReadOnlySpan<char> key, string prefix)
    {
        if (prefix.Length == 0)
        {
            return true;
        }

        if (prefix[^1] != '/')
        {
            throw new ArgumentException($"a folder prefix must end in '/': '{Printable(prefix)}'", nameof(prefix));
        }

        return key.StartsWith(prefix, StringComparison.Ordinal);
    }

    /// <summary>A form of a key safe to print in one line: control characters escaped as <c>\u....</c>.</summary>
    /// <param name="key">Any string.</param>
    /// <returns>The printable form.</returns>
    public static string Printable(string key)
    {
        if (!key.Any(char.IsControl))
        {
            return key;
        }

        var builder = new StringBuilder(key.Length + 8);
        foreach (var c in key)
        {
            if (char.IsControl(c))
            {
                builder.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// A UTF-16 code unit's rank in code point order (0 to 0xFFFF). UTF-16 ordinal order differs from code point
    /// order only where surrogates meet U+E000..U+FFFF; shifting code units fixes that (the technique ICU calls
    /// "code point order" for UTF-16 strings). Comparing keys unit by unit by this rank orders them as their
    /// UTF-8 bytes.
    /// </summary>
    /// <param name="c">A UTF-16 code unit.</param>
    /// <returns>Its rank.</returns>
    public static int CodePointOrder(char c) => c >= 0xD800 ? (c >= 0xE000 ? c - 0x800 : c + 0x2000) : c;

    private sealed class Utf8OrdinalComparer : IComparer<string>
    {
        public int Compare(string? x, string? y)
        {
            if (ReferenceEquals(x, y))
            {
                return 0;
            }

            if (x is null)
            {
                return -1;
            }

            if (y is null)
            {
                return 1;
            }

            return ObjectKey.Compare(x.AsSpan(), y.AsSpan());
        }
    }
}
