using System.IO.Enumeration;
using Reclaim.Core.Storage;

namespace Reclaim.Stores.FileSystem;

/// <summary>Range listings: the gate's re-read of a sub-batch, walking only the folders the range reaches.</summary>
public sealed partial class FileSystemStore : IRangeListing
{
    /// <inheritdoc/>
    /// <remarks>
    /// Starts at the folder of the range's <see cref="KeyRange.CommonPrefix"/> and walks it in key order, as
    /// <see cref="ListAsync"/> does, but skips every sub-folder whose keys all lie before the range without reading
    /// it, and stops at the first entry past the range. Each file in the range costs one <c>lstat</c>; links are
    /// never followed.
    /// </remarks>
    /// <exception cref="DirectoryNotFoundException">The root folder no longer exists.</exception>
    public IAsyncEnumerable<StoredObject> ListRangeAsync(KeyRange range, CancellationToken cancellationToken)
    {
        range.EnsureValid();
        return StreamAsync(ObjectsInRange(range), cancellationToken);
    }

    private IEnumerable<StoredObject> ObjectsInRange(KeyRange range)
    {
        if (StartFolder(range.CommonPrefix) is not var (start, folderKey, namePrefix))
        {
            yield break;
        }

        foreach (var item in WalkRange(start, folderKey, namePrefix, range, new RangeWalk()))
        {
            yield return item;
        }
    }

    /// <summary>
    /// Where a walk of the keys under <paramref name="prefix"/> starts: the folder holding them (its path and key)
    /// and the start of the names to take from it; <see langword="null"/> when no key can have that prefix.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The root folder no longer exists.</exception>
    private (string Path, string FolderKey, string NamePrefix)? StartFolder(string prefix)
    {
        EnsureRootExists();
        if (prefix.Contains("//", StringComparison.Ordinal))
        {
            return null; // no key of a filesystem store has an empty segment
        }

        var split = prefix.LastIndexOf('/') + 1;
        var folderKey = prefix[..split];
        var start = folderKey.Length == 0 ? Root : FolderOf(folderKey);
        return start is null ? null : (start, folderKey, prefix[split..]);
    }

    /// <summary>One folder of a range walk, in key order; sets <see cref="RangeWalk.Past"/> at the first key past the range.</summary>
    private IEnumerable<StoredObject> WalkRange(string path, string folderKey, string namePrefix, KeyRange range, RangeWalk walk)
    {
        foreach (var entry in SortedEntries(path, folderKey, namePrefix))
        {
            var key = folderKey + entry;
            if (range.IsPast(key))
            {
                walk.Past = true;
                yield break;
            }

            if (entry[^1] == '/')
            {
                // Every key in the folder starts with its key: all before the range unless the range starts inside it.
                if (ObjectKey.Compare(key, range.From) < 0 && !range.From.StartsWith(key, StringComparison.Ordinal))
                {
                    continue;
                }

                foreach (var item in WalkRange(Path.Join(path, entry[..^1]), key, string.Empty, range, walk))
                {
                    yield return item;
                }

                if (walk.Past)
                {
                    yield break;
                }
            }
            else if (range.Contains(key) && ReadObject(key, Path.Join(Root, key)) is { } stored)
            {
                yield return stored;
            }
        }
    }

    /// <summary>A folder's addressable entries whose names start with <paramref name="namePrefix"/>, a folder as its name + <c>/</c>, in key order.</summary>
    private static List<string> SortedEntries(string path, string folderKey, string namePrefix)
    {
        var entries = new List<string>();
        try
        {
            var read = new FileSystemEnumerable<string?>(path, (ref FileSystemEntry entry) =>
                IsAddressable(path, folderKey, entry.FileName)
                    ? entry.IsDirectory ? string.Concat(entry.FileName, "/") : entry.FileName.ToString()
                    : null, ReadFolderOptions)
            {
                ShouldIncludePredicate = (ref FileSystemEntry entry) => entry.FileName.StartsWith(namePrefix, StringComparison.Ordinal),
            };
            entries.AddRange(read.OfType<string>());
        }
        catch (DirectoryNotFoundException)
        {
            // Removed while the walk ran: it holds nothing now.
        }

        entries.Sort(ObjectKey.Comparer);
        return entries;
    }

    private sealed class RangeWalk
    {
        public bool Past { get; set; }
    }
}
