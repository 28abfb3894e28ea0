using Reclaim.Core.Storage;
using Reclaim.Stores.S3;

namespace Reclaim.Stores.Tests;

/// <summary>Keys read as numbers in the alphabets their characters use, where a partitioned listing cuts its ranges.</summary>
public sealed class KeyDigitsTests
{
    private static readonly string[] Mixed =
        ["", " ", "0", "000199", "0002", "000200", "0:", "1", "1-a", "1.a", "1/a", "10", "A", "a", "a b", "a-b", "a.b", "a/b", "ab", "z", "~", "~~", "\u00e9"];

    private static IEnumerable<string> Numbered(int count) => Enumerable.Range(0, count).Select(i => $"{i:D6}.mp4");

    [Fact]
    public void Reading_NeverDecreasesAlongKeysInByteOrder_WhateverTheAlphabets()
    {
        var sorted = Mixed.Order(ObjectKey.Comparer).ToList();
        foreach (var digits in new[] { KeyDigits.Of(Mixed, 0), KeyDigits.Of(Numbered(1000), 0), KeyDigits.Of(["ab/", "b"], 0), KeyDigits.Of(["~"], 0) })
        {
            var numbers = sorted.Select(digits.Number).ToList();
            numbers.Should().BeInAscendingOrder();
            numbers.Should().OnlyContain(n => n >= 0 && n <= 1);
        }
    }

    [Fact]
    public void NeighbouringKeysOfTheListedAlphabets_AreEquallyFarApart_AcrossACarry()
    {
        var digits = KeyDigits.Of(Numbered(1000), 0);

        var beforeCarry = digits.Number("000199.mp4") - digits.Number("000198.mp4");
        var acrossCarry = digits.Number("000200.mp4") - digits.Number("000199.mp4");

        beforeCarry.Should().BePositive();
        acrossCarry.Should().BeApproximately(beforeCarry, beforeCarry * 1e-6);
        var printable = KeyDigits.Of(["      ", "000000", "aaaaaa", "AAAAAA"], 0); // every kind at every position: all 95 printable characters
        (printable.Number("000200") - printable.Number("000199")).Should().BeGreaterThan(50 * (printable.Number("000199") - printable.Number("000198")),
            "read in all 95 printable characters at every position a carry spans most of the key space");
    }

    [Fact]
    public void Text_OfAPointBetweenTwoKeys_IsSpeltInEachPositionsAlphabet_AndLiesBetweenThem()
    {
        var digits = KeyDigits.Of(Numbered(1000).Select(k => "clips/" + k), 6);
        var (low, high) = (digits.Number("clips/000100.mp4"), digits.Number("clips/000200.mp4"));

        var middle = "clips/" + digits.Text((low + high) / 2);

        middle.Should().StartWith("clips/000150", "half-way between the 100th and the 200th key, in the digits the keys use there");
        digits.Number(middle).Should().BeApproximately((low + high) / 2, 1e-12);
    }

    [Fact]
    public void Text_IsAtOrJustBelowThePoint()
    {
        var digits = KeyDigits.Of(Enumerable.Range(0, 4096).Select(i => $"{i:x3}"), 0);
        foreach (var point in new[] { 0.0, 0.001, 0.25, 0.5, 0.7321, 0.999 })
        {
            var reading = digits.Number(digits.Text(point));
            reading.Should().BeLessThanOrEqualTo(point + 1e-12).And.BeGreaterThan(point - (1.0 / 4096), $"point {point}");
        }
    }

    [Fact]
    public void APositionsAlphabet_IsEveryCharacterOfTheKindsListedThere()
    {
        var digits = KeyDigits.Of(["a0", "c5"], 0);

        digits.Number("b1").Should().BeGreaterThan(digits.Number("a9")).And.BeLessThan(digits.Number("c0"), "b is a letter as a and c are");
        (digits.Number("a1") - digits.Number("a0")).Should().BeApproximately(1.0 / 26 / 10, 1e-12, "26 letters, then 10 digits");
        digits.Number("A").Should().Be(0, "an upper-case letter is below every lower-case one, not in this alphabet");
        digits.Number("~").Should().Be(1, "above every key the alphabets spell");
        digits.Number("\u00e9").Should().Be(1, "a character above ASCII is above the whole alphabet");
        digits.Number("a\t").Should().Be(digits.Number("a"), "one below a space is below every character");
        digits.From.Should().Be(0);
        digits.With(["x"], 1).From.Should().Be(1);
        var more = digits.With(["a-"], 0);
        more.Number("a-").Should().BeLessThan(more.Number("a0"), "punctuation read there once a key used it");
        more.Number("a0").Should().BeGreaterThan(0);
    }
}
