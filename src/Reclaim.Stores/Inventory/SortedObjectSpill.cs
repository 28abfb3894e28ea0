using Reclaim.Core.Storage;

namespace Reclaim.Stores.Inventory;

/// <summary>
/// An external sort of objects by key (<see cref="ObjectKey.Comparer"/>): objects are added in any order, from several
/// threads; every <c>runObjects</c> of them are sorted and written to a temporary file (a run), and reading merges the
/// runs and the last objects in memory back into one sequence in key order. So an inventory of any size is put in
/// key order holding at most <c>runObjects</c> objects, plus a 64 KiB buffer per run.
/// </summary>
/// <remarks>
/// Run files are unlinked as soon as they are made (on Unix), so they disappear with their handles whatever ends the
/// process; on Windows they are deleted on close. Strings are written as their UTF-16 code units, so every key comes
/// back exactly as it went in. Objects with equal keys come out next to each other (in no set order among themselves).
/// </remarks>
internal sealed class SortedObjectSpill : IDisposable
{
    /// <summary>Objects held in memory before a run is written: 131,072 (about 20 MB of objects with short keys).</summary>
    public const int DefaultRunObjects = 1 << 17;

    private readonly Lock _sync = new();
    private readonly string _directory;
    private readonly int _runObjects;
    private readonly List<FileStream> _runs = [];
    private List<StoredObject> _current = [];

    /// <summary>Creates an empty spill.</summary>
    /// <param name="directory">Where run files go (created when missing).</param>
    /// <param name="runObjects">Objects per run, 1 or more.</param>
    public SortedObjectSpill(string directory, int runObjects = DefaultRunObjects)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(runObjects, 1);
        _directory = directory;
        _runObjects = runObjects;
    }

    /// <summary>Run files written so far, for tests and logs.</summary>
    public int Runs
    {
        get
        {
            lock (_sync)
            {
                return _runs.Count;
            }
        }
    }

    /// <summary>Adds objects; may be called from several threads at once.</summary>
    /// <param name="items">The objects.</param>
    public void Add(IReadOnlyList<StoredObject> items)
    {
        lock (_sync)
        {
            foreach (var item in items)
            {
                _current.Add(item);
                if (_current.Count >= _runObjects)
                {
                    WriteRun();
                }
            }
        }
    }

    /// <summary>Every object added, in key order: the runs merged with the objects still in memory. Add nothing more once reading starts.</summary>
    /// <returns>The objects, read lazily.</returns>
    public IEnumerable<StoredObject> ReadSorted()
    {
        List<IEnumerator<StoredObject>> sources;
        lock (_sync)
        {
            _current.Sort(static (x, y) => ObjectKey.Comparer.Compare(x.Key, y.Key));
            sources = [.. _runs.Select(ReadRun), _current.GetEnumerator()];
        }

        return Merge(sources);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_sync)
        {
            foreach (var run in _runs)
            {
                run.Dispose();
            }

            _runs.Clear();
            _current = [];
        }
    }

    private static IEnumerable<StoredObject> Merge(List<IEnumerator<StoredObject>> sources)
    {
        var heads = new PriorityQueue<int, string>(sources.Count, ObjectKey.Comparer);
        try
        {
            for (var i = 0; i < sources.Count; i++)
            {
                if (sources[i].MoveNext())
                {
                    heads.Enqueue(i, sources[i].Current.Key);
                }
            }

            while (heads.TryDequeue(out var source, out _))
            {
                yield return sources[source].Current;
                if (sources[source].MoveNext())
                {
                    heads.Enqueue(source, sources[source].Current.Key);
                }
            }
        }
        finally
        {
            foreach (var source in sources)
            {
                source.Dispose();
            }
        }
    }

    private static IEnumerator<StoredObject> ReadRun(FileStream run)
    {
        var length = run.Length;
        run.Position = 0;
        using var reader = new BinaryReader(run, System.Text.Encoding.UTF8, leaveOpen: true);
        while (run.Position < length)
        {
            var key = reader.ReadNullableString()!;
            var size = reader.ReadInt64();
            var ticks = reader.ReadInt64();
            var offset = TimeSpan.FromMinutes(reader.ReadInt16());
            yield return new StoredObject(key, size, new DateTimeOffset(ticks, offset), reader.ReadNullableString());
        }
    }

    /// <summary>Sorts the objects in memory and writes them as a new run; under the lock.</summary>
    private void WriteRun()
    {
        _current.Sort(static (x, y) => ObjectKey.Comparer.Compare(x.Key, y.Key));
        Directory.CreateDirectory(_directory);
        var path = Path.Combine(_directory, $"reclaim-inventory-run-{Guid.NewGuid():N}.tmp");
        var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, 1 << 16, OperatingSystem.IsWindows() ? FileOptions.DeleteOnClose : FileOptions.None);
        if (!OperatingSystem.IsWindows())
        {
            File.Delete(path);
        }

        _runs.Add(file);
        using (var writer = new BinaryWriter(file, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            foreach (var item in _current)
            {
                writer.WriteNullableString(item.Key);
                writer.Write(item.Size);
                writer.Write(item.LastModified.Ticks);
                writer.Write((short)item.LastModified.Offset.TotalMinutes);
                writer.WriteNullableString(item.ETag);
            }
        }

        _current = new List<StoredObject>(_runObjects);
    }
}
