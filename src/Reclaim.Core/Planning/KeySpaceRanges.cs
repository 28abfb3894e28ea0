using Reclaim.Core.Storage;

namespace Reclaim.Core.Planning;

/// <summary>
/// The fixed key ranges of a partitioned run: the keys under a layout's fixed prefix split by the character right
/// after it, at the hexadecimal digits <c>1</c>…<c>9</c>, <c>a</c>…<c>f</c>, into <see cref="Count"/> (16) ranges.
/// Every participant computes the same ranges from the config alone (no listing, nothing to agree on), and a group
/// lies in exactly one range: a group's keys all start with its group key, which is longer than the fixed prefix and
/// one more character, so no bound falls inside a group.
/// </summary>
/// <remarks>
/// Keys whose first variable is hexadecimal (UUIDs, hashes, hex ids) spread evenly over the 16 ranges; decimal ids
/// fill the ten ranges <c>0</c>…<c>9</c> (range 0 also takes every character before <c>1</c>; range 9 every
/// character from <c>9</c> to <c>`</c>, upper-case letters among them; range 15 every character from <c>f</c> on).
/// A run needs no more ranges than that to keep two to sixteen participants busy, and a range is the unit a dead
/// participant's successor takes over.
/// </remarks>
public static class KeySpaceRanges
{
    /// <summary>How many ranges a partitioned run has: 16.</summary>
    public const int Count = 16;

    /// <summary>The first character of each range after the first, in order (<c>1</c>…<c>9</c>, <c>a</c>…<c>f</c>).</summary>
    private const string Bounds = "123456789abcdef";

    /// <summary>
    /// The highest code point (U+10FFFF): a range through <c>prefix</c> + it takes in every later key under the prefix.
    /// </summary>
    private const string Highest = "\U0010FFFF";

    /// <summary>The keys of range <paramref name="index"/> under <paramref name="fixedPrefix"/>.</summary>
    /// <param name="fixedPrefix">A layout's fixed prefix (<see cref="Layouts.Layout.FixedPrefix"/>, for example <c>orgs/</c>); may be empty.</param>
    /// <param name="index">The range, 0 to <see cref="Count"/> − 1.</param>
    /// <returns>
    /// The range: every key that starts with <paramref name="fixedPrefix"/> followed by a character from the range's
    /// first to its last (range 0 also takes the prefix itself). Together the ranges take in every key under the prefix
    /// once.
    /// </returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside 0 to <see cref="Count"/> − 1.</exception>
    public static KeyRange Range(string fixedPrefix, int index)
    {
        ArgumentNullException.ThrowIfNull(fixedPrefix);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        var from = index == 0 ? fixedPrefix : fixedPrefix + Bounds[index - 1];
        var through = index == Count - 1 ? fixedPrefix + Highest : fixedPrefix + (char)(Bounds[index] - 1);
        return new KeyRange(from, through);
    }

    /// <summary>Which range takes in <paramref name="key"/>, a key under <paramref name="fixedPrefix"/>.</summary>
    /// <param name="fixedPrefix">A layout's fixed prefix; may be empty.</param>
    /// <param name="key">A key that starts with <paramref name="fixedPrefix"/>.</param>
    /// <returns>The range's index, 0 to <see cref="Count"/> − 1.</returns>
    /// <exception cref="ArgumentException"><paramref name="key"/> does not start with <paramref name="fixedPrefix"/>.</exception>
    public static int IndexOf(string fixedPrefix, string key)
    {
        ArgumentNullException.ThrowIfNull(fixedPrefix);
        ArgumentNullException.ThrowIfNull(key);
        if (!key.StartsWith(fixedPrefix, StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{ObjectKey.Printable(key)}' is not under '{ObjectKey.Printable(fixedPrefix)}'", nameof(key));
        }

        if (key.Length == fixedPrefix.Length)
        {
            return 0;
        }

        var next = ObjectKey.CodePointOrder(key[fixedPrefix.Length]);
        var index = 0;
        while (index < Bounds.Length && next >= Bounds[index])
        {
            index++;
        }

        return index;
    }
}
