using Reclaim.Core.Storage;
using Reclaim.Stores.Inventory;

namespace Reclaim.Stores.Tests;

/// <summary>
/// The inventory's external sort: whatever the order objects come in, from however many threads, and however small
/// its runs, it reads back exactly the objects an in-memory sort by key gives, each key exactly as it went in.
/// </summary>
public sealed class SortedObjectSpillTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sorted-spill-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(1, 0)]
    [InlineData(1, 1)]
    [InlineData(7, 1000)]
    [InlineData(1000, 999)]
    [InlineData(1000, 5000)]
    public void ReadSorted_IsTheInMemorySort(int runObjects, int count)
    {
        // Arrange: keys where '-', '.', '/' interleave, with non-ASCII, a character outside the BMP and a lone surrogate.
        var random = new Random(count + runObjects);
        string[] parts = ["a", "a-", "a.", "a/", "b", "\u00e9", "e\u0301", "\U0001F3AC", "\uD800", "0", "~"];
        var objects = Enumerable.Range(0, count)
            .Select(i => new StoredObject(
                string.Concat(Enumerable.Range(0, random.Next(1, 5)).Select(_ => parts[random.Next(parts.Length)])) + $"/{i}",
                random.NextInt64(0, long.MaxValue),
                new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(random.NextInt64(0, TimeSpan.TicksPerDay * 400)),
                i % 3 == 0 ? null : $"\"{i:x}\""))
            .ToList();
        using var spill = new SortedObjectSpill(_dir, runObjects);

        // Act: four threads add batches of different sizes.
        Parallel.ForEach(objects.Chunk(13), new ParallelOptions { MaxDegreeOfParallelism = 4 }, batch => spill.Add(batch));
        var sorted = spill.ReadSorted().ToList();

        // Assert
        sorted.Should().Equal(objects.OrderBy(o => o.Key, ObjectKey.Comparer));
        spill.Runs.Should().Be(count / runObjects, "every full run goes to disk");
        spill.ReadSorted().Should().Equal(sorted, "it can be read again");
    }

    [Fact]
    public void ReadSorted_PutsEqualKeysNextToEachOther_AcrossRuns()
    {
        using var spill = new SortedObjectSpill(_dir, runObjects: 2);
        var at = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        spill.Add([new("b", 1, at), new("dup", 1, at)]);
        spill.Add([new("a", 1, at), new("c", 1, at)]);
        spill.Add([new("dup", 2, at), new("z", 1, at)]);

        spill.ReadSorted().Select(o => o.Key).Should().Equal("a", "b", "c", "dup", "dup", "z");
    }
}
