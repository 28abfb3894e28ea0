using System.IO.Enumeration;
using Reclaim.Core.Storage;

namespace Reclaim.Stores.FileSystem;

/// <summary>The ordered walk behind every listing of a filesystem store.</summary>
public sealed partial class FileSystemStore
{
    /// <summary>
    /// The keys under <paramref name="prefix"/> in ordinal key order, in batches: a depth-first walk that reads
    /// each folder once (readdir: name and type, no stat), sorts its entries — a folder as its name + <c>/</c>,
    /// which is where its keys fall among its siblings — and descends into folders in that order. Names are kept
    /// in one char buffer per folder depth, reused, so the walk makes a string per folder, not per file.
    /// </summary>
    private IEnumerable<KeyBatch> KeyBatchesUnder(string prefix, Func<KeyBatch> nextBatch)
    {
        if (StartFolder(prefix) is not var (start, folderKey, namePrefix))
        {
            yield break;
        }

        var levels = new List<FolderEntries> { new() };
        levels[0].Read(start, folderKey, namePrefix);
        var depth = 0;
        KeyBatch? batch = null;
        while (depth >= 0)
        {
            var level = levels[depth];
            if (level.HasFileNext)
            {
                batch ??= EmptyBatch(nextBatch);
                level.CopyFiles(batch);
                if (batch.IsFull)
                {
                    yield return batch;
                    batch = null;
                }

                continue;
            }

            if (!level.TryNext(out var index))
            {
                depth--;
                continue;
            }

            // Not a file: a sub-folder, whose keys come next.
            if (++depth == levels.Count)
            {
                levels.Add(new FolderEntries());
            }

            levels[depth].Read(level.ChildPath(index), level.ChildKey(index), namePrefix: string.Empty);
        }

        if (batch is not null)
        {
            yield return batch;
        }
    }

    private static KeyBatch EmptyBatch(Func<KeyBatch> nextBatch)
    {
        var batch = nextBatch();
        return batch.Count == 0 ? batch : throw new ArgumentException("the batch to fill next must be empty", nameof(nextBatch));
    }

    /// <summary>Whether a listed name maps back to the same file when used as a key <paramref name="folderKey"/> + <paramref name="name"/>.</summary>
    private static bool IsAddressable(string folder, string folderKey, ReadOnlySpan<char> name)
    {
        if (name.Contains('\\'))
        {
            return false;
        }

        // .NET decodes a name that is not valid UTF-8 with U+FFFD, which names another file (or none).
        if (name.Contains('\uFFFD') && !Path.Exists(Path.Join(folder, name)))
        {
            return false;
        }

        // A UTF-16 char is at most 3 UTF-8 bytes: count only when the key might be too long.
        return (folderKey.Length + name.Length + 1) * 3 <= ObjectKey.MaxKeyBytes ||
               StrictUtf8.GetByteCount(folderKey) + StrictUtf8.GetByteCount(name) <= ObjectKey.MaxKeyBytes;
    }

    /// <summary>
    /// One folder's addressable entries, sorted in ordinal key order: names back to back in a char buffer (a
    /// folder's name ends in <c>/</c>), reused for the next folder read at the same depth.
    /// </summary>
    private sealed class FolderEntries : IComparer<int>
    {
        private char[] _names = new char[4096];
        private int[] _ends = new int[256];
        private int[] _order = new int[256];
        private ulong[] _sortKeys = new ulong[256];
        private int _count;
        private int _next;

        /// <summary>The folder's path.</summary>
        public string Path { get; private set; } = string.Empty;

        /// <summary>The folder's key, ending in <c>/</c> (empty for the root).</summary>
        public string Key { get; private set; } = string.Empty;

        /// <summary>Reads and sorts a folder's entries whose names start with <paramref name="namePrefix"/>; a folder removed meanwhile reads as empty.</summary>
        public void Read(string path, string key, string namePrefix)
        {
            Path = path;
            Key = key;
            _count = 0;
            _next = 0;
            try
            {
                using var reader = new FolderReader(path, this, namePrefix);
                while (reader.MoveNext())
                {
                }
            }
            catch (DirectoryNotFoundException)
            {
                // Removed while the listing ran: it holds nothing now.
                _count = 0;
            }

            Sort();
        }

        /// <summary>The next entry in key order.</summary>
        public bool TryNext(out int index)
        {
            if (_next == _count)
            {
                index = -1;
                return false;
            }

            index = _order[_next++];
            return true;
        }

        /// <summary>Whether the next entry in key order is a file.</summary>
        public bool HasFileNext => _next < _count && Entry(_order[_next])[^1] != '/';

        /// <summary>
        /// Adds the files that come next in key order, as keys (the folder's key + the name), to
        /// <paramref name="batch"/>: up to the next sub-folder, the folder's end, or a full batch.
        /// </summary>
        public void CopyFiles(KeyBatch batch)
        {
            while (_next < _count && !batch.IsFull)
            {
                var entry = Entry(_order[_next]);
                if (entry[^1] == '/')
                {
                    return;
                }

                batch.Add(Key, entry);
                _next++;
            }
        }

        /// <summary>A sub-folder's key (its name with the <c>/</c>).</summary>
        public string ChildKey(int index) => string.Concat(Key, Entry(index));

        /// <summary>A sub-folder's path.</summary>
        public string ChildPath(int index) => System.IO.Path.Join(Path, Entry(index)[..^1]);

        public int Compare(int x, int y) => ObjectKey.Compare(Entry(x), Entry(y));

        /// <summary>
        /// Sorts the entries in key order. Comparing names is most of a listing's work in a large folder, so each
        /// entry first gets a 64-bit sort key: the chars after the prefix every name shares (in code point order,
        /// 16 bits each, zero past the end) — three of them followed by the entry's index in a folder of at most
        /// 65536 entries, four in a larger one. Sorting those numbers orders every pair whose leading chars differ;
        /// only runs of equal chars are then compared in full.
        /// </summary>
        private void Sort()
        {
            if (_order.Length < _count)
            {
                _order = new int[_ends.Length];
                _sortKeys = new ulong[_ends.Length];
            }

            var shared = _count == 0 ? 0 : Entry(0).Length;
            for (var i = 1; i < _count && shared > 0; i++)
            {
                shared = Entry(0)[..shared].CommonPrefixLength(Entry(i));
            }

            var packed = _count <= 1 << 16;
            var chars = packed ? 3 : 4;
            for (var i = 0; i < _count; i++)
            {
                var name = Entry(i)[shared..];
                ulong sortKey = 0;
                for (var c = 0; c < chars; c++)
                {
                    sortKey = (sortKey << 16) | (c < name.Length ? (ulong)ObjectKey.CodePointOrder(name[c]) : 0);
                }

                _sortKeys[i] = packed ? (sortKey << 16) | (uint)i : sortKey;
                _order[i] = i;
            }

            var charsMask = packed ? ~0xFFFFUL : ~0UL;
            if (packed)
            {
                Array.Sort(_sortKeys, 0, _count);
                for (var i = 0; i < _count; i++)
                {
                    _order[i] = (int)(_sortKeys[i] & 0xFFFF);
                }
            }
            else
            {
                Array.Sort(_sortKeys, _order, 0, _count);
            }

            for (var start = 0; start < _count;)
            {
                var end = start + 1;
                while (end < _count && (_sortKeys[end] & charsMask) == (_sortKeys[start] & charsMask))
                {
                    end++;
                }

                if (end - start > 1)
                {
                    Array.Sort(_order, start, end - start, this);
                }

                start = end;
            }
        }

        private ReadOnlySpan<char> Entry(int index)
        {
            var start = index == 0 ? 0 : _ends[index - 1];
            return _names.AsSpan(start, _ends[index] - start);
        }

        internal bool Append(ReadOnlySpan<char> name, bool isFolder)
        {
            if (!IsAddressable(Path, Key, name))
            {
                return false;
            }

            var start = _count == 0 ? 0 : _ends[_count - 1];
            var end = start + name.Length + (isFolder ? 1 : 0);
            if (end > _names.Length)
            {
                Array.Resize(ref _names, Math.Max(end, _names.Length * 2));
            }

            if (_count == _ends.Length)
            {
                Array.Resize(ref _ends, _ends.Length * 2);
            }

            name.CopyTo(_names.AsSpan(start));
            if (isFolder)
            {
                _names[end - 1] = '/';
            }

            _ends[_count++] = end;
            return true;
        }
    }

    /// <summary>
    /// Reads one folder's entries into a <see cref="FolderEntries"/>. It yields nothing itself: each entry whose name
    /// starts with the prefix is appended as it is read. Deriving from <see cref="FileSystemEnumerator{TResult}"/>
    /// of a reference type lets the runtime's precompiled enumerator code serve it from the first folder on (an
    /// enumerator of a value type is compiled at first use), with a virtual call per entry instead of two delegates.
    /// </summary>
    private sealed class FolderReader(string path, FolderEntries entries, string namePrefix)
        : FileSystemEnumerator<string?>(path, ReadFolderOptions)
    {
        protected override bool ShouldIncludeEntry(ref FileSystemEntry entry) =>
            entry.FileName.StartsWith(namePrefix, StringComparison.Ordinal);

        protected override string? TransformEntry(ref FileSystemEntry entry)
        {
            entries.Append(entry.FileName, entry.IsDirectory);
            return null;
        }
    }
}
