namespace Reclaim.Stores.S3;

/// <summary>
/// Reads keys as numbers in [0, 1], character by character after a common prefix, each position in the alphabet of
/// the kinds of characters listed keys use at that position (a mixed-radix number), so that the distance between two
/// keys says about how many keys lie between them. A key of digits alone (<c>clips/000123.mp4</c>) uses 10 characters at each
/// varying position: read in all 95 printable characters, the key space between <c>000199</c> and <c>000200</c>
/// would look as wide as the hundred keys before it, and a split point read off the keys' spacing would fall there, in
/// key space no key uses, costing a request that lists nothing.
/// </summary>
/// <remarks>
/// A position's alphabet is every character of each kind a listed key has there: the ten digits, the 26 lower-case
/// letters, the 26 upper-case letters, or the 33 other printable ASCII characters (space and punctuation), so that
/// keys not listed yet but of the same kinds (<c>001000</c> after <c>000000</c>…<c>000999</c>) read inside it. A
/// key that ends reads as if the first character of each position's alphabet followed. A character outside its
/// position's alphabet ends the reading at the next alphabet character above it (one above <c>~</c>, as any
/// non-ASCII character, above the whole alphabet; one below a space at the bottom), so the reading never decreases
/// along keys in UTF-8 byte order. Positions are read while the product of their alphabets' sizes stays below 2^52
/// (a double holds the number exactly), and up to the first position no listed key reaches.
/// </remarks>
internal sealed class KeyDigits
{
    /// <summary>Positions looked at after the common prefix: 32.</summary>
    public const int MaxPositions = 32;

    private const char First = (char)0x20;
    private const char Last = (char)0x7E;

    private readonly UInt128[] _masks;
    private readonly char[][] _alphabets;
    private readonly int _positions;

    private KeyDigits(int from, UInt128[] masks)
    {
        From = from;
        _masks = masks;
        _alphabets = new char[masks.Length][];
        double bits = 0;
        for (var i = 0; i < masks.Length && masks[i] != UInt128.Zero; i++)
        {
            var size = (int)UInt128.PopCount(masks[i]);
            if (bits + Math.Log2(size) >= 52)
            {
                break;
            }

            bits += Math.Log2(size);
            _alphabets[i] = Characters(masks[i]);
            _positions = i + 1;
        }
    }

    /// <summary>Where the reading starts in a key: the length of the keys' common prefix, in UTF-16 code units.</summary>
    public int From { get; }

    /// <summary>The alphabets of the characters <paramref name="keys"/> use at each position from <paramref name="from"/> on.</summary>
    /// <param name="keys">Keys that all share their first <paramref name="from"/> characters; any count.</param>
    /// <param name="from">The common prefix's length, 0 or more.</param>
    /// <returns>The reading.</returns>
    public static KeyDigits Of(IEnumerable<string> keys, int from)
    {
        var masks = new UInt128[MaxPositions];
        Add(masks, keys, from);
        return new KeyDigits(from, masks);
    }

    /// <summary>This reading with the characters of <paramref name="keys"/> added, when they are read from the same position; else theirs alone.</summary>
    /// <param name="keys">Keys that all share their first <paramref name="from"/> characters.</param>
    /// <param name="from">The common prefix's length.</param>
    /// <returns>The reading.</returns>
    public KeyDigits With(IEnumerable<string> keys, int from)
    {
        if (from != From)
        {
            return Of(keys, from);
        }

        var masks = (UInt128[])_masks.Clone();
        Add(masks, keys, from);
        return new KeyDigits(from, masks);
    }

    /// <summary>The characters of <paramref name="key"/> from <see cref="From"/> on as a number in [0, 1].</summary>
    /// <param name="key">A key that starts with the common prefix.</param>
    /// <returns>The number; 1 only for a key above every key the alphabets can spell.</returns>
    public double Number(string key)
    {
        double value = 0;
        double scale = 1;
        for (var i = 0; i < _positions && From + i < key.Length; i++)
        {
            var mask = _masks[i];
            scale /= _alphabets[i].Length;
            var c = key[From + i];
            if (c < First)
            {
                return value;
            }

            if (c > Last)
            {
                return value + (scale * _alphabets[i].Length);
            }

            var below = (int)UInt128.PopCount(mask & ((UInt128.One << c) - 1));
            value += scale * below;
            if (((mask >> c) & UInt128.One) == UInt128.Zero)
            {
                // Not in the alphabet: after every key with the character below it here, before those with the
                // next character above it, which is where the reading stops.
                return value;
            }
        }

        return value;
    }

    /// <summary>A text of the alphabets' characters whose <see cref="Number"/> is at or just below <paramref name="value"/> (0 ≤ value &lt; 1).</summary>
    /// <param name="value">The point.</param>
    /// <returns>The characters after the common prefix, at least one.</returns>
    public string Text(double value)
    {
        var text = new System.Text.StringBuilder(Math.Max(1, _positions));
        for (var i = 0; i < _positions; i++)
        {
            var alphabet = _alphabets[i];
            value *= alphabet.Length;
            var digit = Math.Clamp((int)Math.Floor(value), 0, alphabet.Length - 1);
            value -= digit;
            text.Append(alphabet[digit]);
            if (value <= 0)
            {
                break;
            }
        }

        return text.Length > 0 ? text.ToString() : First.ToString();
    }

    private static void Add(UInt128[] masks, IEnumerable<string> keys, int from)
    {
        foreach (var key in keys)
        {
            for (var i = 0; i < masks.Length && from + i < key.Length; i++)
            {
                masks[i] |= Kind(key[from + i]);
            }
        }
    }

    private static char[] Characters(UInt128 mask)
    {
        var characters = new char[(int)UInt128.PopCount(mask)];
        var at = 0;
        for (var c = First; c <= Last; c++)
        {
            if (((mask >> c) & UInt128.One) != UInt128.Zero)
            {
                characters[at++] = c;
            }
        }

        return characters;
    }

    /// <summary>Every character of <paramref name="c"/>'s kind, as a mask of code points; none for a character outside printable ASCII.</summary>
    private static UInt128 Kind(char c) => c switch
    {
        >= '0' and <= '9' => Span('0', '9'),
        >= 'a' and <= 'z' => Span('a', 'z'),
        >= 'A' and <= 'Z' => Span('A', 'Z'),
        >= First and <= Last => Span(First, Last) & ~(Span('0', '9') | Span('a', 'z') | Span('A', 'Z')),
        _ => UInt128.Zero,
    };

    private static UInt128 Span(char first, char last) => ((UInt128.One << (last - first + 1)) - 1) << first;
}
