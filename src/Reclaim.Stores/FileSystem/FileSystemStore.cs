using System.IO.Enumeration;
using System.Runtime.CompilerServices;
using System.Text;
using Reclaim.Core.Storage;

namespace Reclaim.Stores.FileSystem;

/// <summary>
/// A store whose objects are the regular files under a root folder (store type <c>filesystem</c>). A key is
/// the file's path relative to the root with <c>/</c> separators; its size is the file length in bytes, its last
/// modification the file's last write time (UTC); it has no ETag. Folders are not objects: a folder exists only
/// while it holds files, and a delete removes the folders it leaves empty.
/// </summary>
/// <remarks>
/// <para>
/// Symbolic links are never followed: a linked file or folder is not listed, and a key whose path is a link or
/// passes through a linked folder is refused with <see cref="InvalidKeyException"/>, so nothing outside the root
/// can be listed, read, moved or deleted. The checks read each existing folder of the key's path with
/// <c>lstat</c> before acting; a link swapped in between that check and the action is not detected (no
/// <c>openat</c>/<c>O_NOFOLLOW</c> in .NET).
/// </para>
/// <para>
/// A filesystem cannot hold two names that differ only by an empty segment, so keys with one (<c>a//b</c>, a
/// trailing <c>/</c>) are refused here, although S3 stores accept them.
/// </para>
/// </remarks>
public sealed partial class FileSystemStore : IObjectStore, IKeyListing, IObjectContent
{
    /// <summary>The most keys one <see cref="DeleteAsync"/> takes: 1000, as for S3 stores.</summary>
    public const int DeleteBatchSize = 1000;

    private static readonly EnumerationOptions ReadFolderOptions = new()
    {
        // Skipping links here uses the entry type readdir reports (d_type), not a stat per entry. Only links
        // themselves, and every entry on filesystems that report DT_UNKNOWN, cost a stat inside .NET.
        AttributesToSkip = FileAttributes.ReparsePoint,
        RecurseSubdirectories = false,
        ReturnSpecialDirectories = false,
        IgnoreInaccessible = false,
        MatchType = MatchType.Simple,
    };

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly string _rootWithSeparator;

    /// <summary>Creates a store over an existing folder.</summary>
    /// <param name="name">The store's name in the configuration.</param>
    /// <param name="root">The root folder, absolute or relative to the current directory. It must exist.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> or <paramref name="root"/> is empty.</exception>
    /// <exception cref="DirectoryNotFoundException">The root folder does not exist.</exception>
    public FileSystemStore(string name, string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Name = name;
        Root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        _rootWithSeparator = Root.EndsWith(Path.DirectorySeparatorChar) ? Root : Root + Path.DirectorySeparatorChar;
        EnsureRootExists();
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>The root folder as a full path, without a trailing separator.</summary>
    public string Root { get; }

    /// <inheritdoc/>
    /// <value>Always <see cref="DeleteBatchSize"/> (1000).</value>
    public int MaxDeleteBatch => DeleteBatchSize;

    /// <inheritdoc/>
    /// <remarks>
    /// Reads each folder once, sorts its entries (a folder as its name + <c>/</c>) and descends into folders in
    /// that order, then reads each file's metadata with one <c>lstat</c> as it is yielded. A file removed
    /// between the two is skipped. Files whose names are not addressable as keys (a backslash, a name that is
    /// not valid UTF-8, a key over <see cref="ObjectKey.MaxKeyBytes"/> bytes) are skipped.
    /// </remarks>
    /// <exception cref="InvalidKeyException">The prefix is not empty and not a valid key prefix.</exception>
    /// <exception cref="DirectoryNotFoundException">The root folder no longer exists.</exception>
    public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        ValidatePrefix(prefix);
        return StreamAsync(ObjectsUnder(prefix), cancellationToken);
    }

    /// <inheritdoc/>
    /// <remarks>Reads folder entries only (name and type from readdir): no stat per file, no string per file.</remarks>
    /// <exception cref="InvalidKeyException">The prefix is not empty and not a valid key prefix.</exception>
    /// <exception cref="DirectoryNotFoundException">The root folder no longer exists.</exception>
    public IAsyncEnumerable<KeyBatch> ListKeyBatchesAsync(string prefix, Func<KeyBatch> nextBatch, CancellationToken cancellationToken)
    {
        ValidatePrefix(prefix);
        ArgumentNullException.ThrowIfNull(nextBatch);
        return StreamAsync(KeyBatchesUnder(prefix, nextBatch), cancellationToken);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Planning stats every unreferenced file, in key order: the folder chain's link check is remembered for the
    /// last folder, so a folder of thousands of files costs one check of its chain, and each file one lstat. A
    /// stat never changes anything; deletes and moves check the whole chain every time.
    /// </remarks>
    public Task<StoredObject?> StatAsync(string key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var path = ResolvePath(key, normalize: false);
        var folder = Path.GetDirectoryName(path.AsSpan());
        if (Volatile.Read(ref _statFolder) is not { } known || !folder.SequenceEqual(known))
        {
            var checkedFolder = folder.ToString();
            if (checkedFolder.Length >= _rootWithSeparator.Length)
            {
                CheckNoLinkOnPath(key, checkedFolder);
            }

            Volatile.Write(ref _statFolder, checkedFolder);
        }

        var info = new FileInfo(path);
        var attributes = info.Attributes;
        if ((int)attributes == -1 || (attributes & FileAttributes.Directory) != 0)
        {
            return Task.FromResult<StoredObject?>(null);
        }

        if ((attributes & FileAttributes.ReparsePoint) != 0)
        {
            throw new InvalidKeyException(key, "the key is a symbolic link, which the store never follows");
        }

        return Task.FromResult<StoredObject?>(new StoredObject(key, info.Length, new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero)));
    }

    private string? _statFolder;

    /// <inheritdoc/>
    /// <remarks>
    /// Every key is checked before any file is touched. A key that names a folder is reported as a
    /// <see cref="KeyError"/>. Emptied folders are removed bottom-up, stopping at the first that is not empty
    /// (another writer may have added a file) and never removing the root.
    /// </remarks>
    public Task<IReadOnlyList<KeyError>> DeleteAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count > MaxDeleteBatch)
        {
            throw new ArgumentException($"at most {MaxDeleteBatch} keys can be deleted at once; {keys.Count} were given", nameof(keys));
        }

        var paths = keys.Select(PathOf).ToArray();
        var errors = new List<KeyError>();
        for (var i = 0; i < paths.Length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var error = DeleteFile(paths[i]);
            if (error is null)
            {
                RemoveEmptyFolders(Path.GetDirectoryName(paths[i])!);
            }
            else
            {
                errors.Add(new KeyError(keys[i], error));
            }
        }

        return Task.FromResult<IReadOnlyList<KeyError>>(errors);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// A rename (<see cref="File.Move(string, string, bool)"/> without overwrite): the content and last write
    /// time are kept. Creates the destination's folders and removes the folders the source leaves empty.
    /// </remarks>
    public Task MoveAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var source = PathOf(sourceKey);
        var destination = PathOf(destinationKey);
        if (!File.Exists(source))
        {
            throw new ObjectNotFoundException(sourceKey);
        }

        if (Path.Exists(destination))
        {
            throw new ObjectExistsException(destinationKey);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        try
        {
            File.Move(source, destination, overwrite: false);
        }
        catch (IOException) when (Path.Exists(destination))
        {
            throw new ObjectExistsException(destinationKey);
        }
        catch (FileNotFoundException)
        {
            throw new ObjectNotFoundException(sourceKey);
        }

        RemoveEmptyFolders(Path.GetDirectoryName(source)!);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    /// <remarks>Creates the key's folders; replaces an existing file in place.</remarks>
    /// <exception cref="IOException">A folder of the key's path is a file.</exception>
    /// <exception cref="UnauthorizedAccessException">The key names a folder, or the process may not write there.</exception>
    public async Task WriteAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var path = PathOf(key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 81920, useAsync: true);
        await using (file.ConfigureAwait(false))
        {
            await content.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async Task<byte[]> ReadAllAsync(string key, CancellationToken cancellationToken)
    {
        var path = PathOf(key);
        try
        {
            return await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException || (e is UnauthorizedAccessException && Directory.Exists(path)))
        {
            throw new ObjectNotFoundException(key);
        }
    }

    /// <summary>Nothing to release: the store holds no open handles between calls.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static async IAsyncEnumerable<T> StreamAsync<T>(IEnumerable<T> items, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var item in items)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return item;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    private static void ValidatePrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (prefix.Length > 0)
        {
            ObjectKey.EnsureValid(prefix);
        }
    }

    private static StoredObject? ReadObject(string key, string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists || (info.Attributes & FileAttributes.ReparsePoint) != 0)
        {
            return null;
        }

        return new StoredObject(key, info.Length, new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero));
    }

    private static bool IsLink(string path)
    {
        // FileInfo reads the entry itself (lstat); Attributes is -1 when nothing is there.
        var attributes = new FileInfo(path).Attributes;
        return (int)attributes != -1 && (attributes & FileAttributes.ReparsePoint) != 0;
    }

    private static string? DeleteFile(string path)
    {
        try
        {
            File.Delete(path);
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Directory.Exists(path) ? "the key names a folder, not an object" : e.Message;
        }
    }

    private IEnumerable<StoredObject> ObjectsUnder(string prefix)
    {
        var reused = new KeyBatch(256);
        foreach (var batch in KeyBatchesUnder(prefix, () => { reused.Clear(); return reused; }))
        {
            for (var i = 0; i < batch.Count; i++)
            {
                var key = batch.GetString(i);
                if (ReadObject(key, Path.Join(Root, key)) is { } stored)
                {
                    yield return stored;
                }
            }
        }
    }

    /// <summary>The folder a folder key (ending in <c>/</c>) names, or null when it does not exist or is not a plain folder.</summary>
    private string? FolderOf(string folderKey)
    {
        var path = Path.Join(Root, folderKey.TrimEnd('/'));
        try
        {
            CheckNoLinkOnPath(folderKey, path);
        }
        catch (InvalidKeyException)
        {
            return null;
        }

        return Directory.Exists(path) && !IsLink(path) ? path : null;
    }

    /// <summary>
    /// The full path of <paramref name="key"/>, after checking that the key is valid, that it stays under the
    /// root and that no existing part of its path is a symbolic link.
    /// </summary>
    private string PathOf(string key)
    {
        var path = ResolvePath(key);
        CheckNoLinkOnPath(key, path);
        return path;
    }

    /// <summary>The full path of <paramref name="key"/>, after checking that the key is valid and stays under the root (links not checked).</summary>
    /// <param name="key">The key.</param>
    /// <param name="normalize">
    /// Whether to pass the joined path through <see cref="Path.GetFullPath(string)"/> as a second guard (the default,
    /// kept for everything that changes the store). A valid key — not absolute, no <c>.</c>, <c>..</c> or empty
    /// segment, no backslash — joined to the full root path is already a full path, so a stat, which a plan
    /// makes for every unreferenced object, skips it.
    /// </param>
    private string ResolvePath(string key, bool normalize = true)
    {
        ObjectKey.EnsureValid(key);
        if (key.EndsWith('/') || key.Contains("//", StringComparison.Ordinal))
        {
            throw new InvalidKeyException(key, "the key has an empty segment ('//' or a trailing '/'), which a filesystem store cannot hold");
        }

        var path = normalize ? Path.GetFullPath(Path.Join(Root, key)) : string.Concat(_rootWithSeparator, key);
        if (!path.StartsWith(_rootWithSeparator, StringComparison.Ordinal))
        {
            throw new InvalidKeyException(key, "the key resolves outside the store's root");
        }

        return path;
    }

    /// <summary>Refuses a path when it, or a folder on the way to it from the root, is a symbolic link.</summary>
    private void CheckNoLinkOnPath(string key, string path)
    {
        var index = _rootWithSeparator.Length;
        while (true)
        {
            var next = path.IndexOf(Path.DirectorySeparatorChar, index);
            var part = next < 0 ? path : path[..next];
            var attributes = new FileInfo(part).Attributes;
            if ((int)attributes == -1)
            {
                return; // nothing below a missing entry exists, links included
            }

            if ((attributes & FileAttributes.ReparsePoint) != 0)
            {
                throw new InvalidKeyException(key, next < 0
                    ? "the key names a symbolic link, which is never an object of a filesystem store"
                    : "the key's path passes through a symbolic link, which a filesystem store never follows");
            }

            if (next < 0)
            {
                return;
            }

            index = next + 1;
        }
    }

    /// <summary>Removes <paramref name="folder"/> and its parents while they are empty, never the root.</summary>
    private void RemoveEmptyFolders(string folder)
    {
        while (folder.Length > _rootWithSeparator.Length && folder.StartsWith(_rootWithSeparator, StringComparison.Ordinal))
        {
            try
            {
                Directory.Delete(folder, recursive: false);
            }
            catch (DirectoryNotFoundException)
            {
                // Another delete removed it first; its parent may be empty now.
            }
            catch (IOException)
            {
                return; // not empty: a file is still there or was just added
            }
            catch (UnauthorizedAccessException)
            {
                return;
            }

            folder = Path.GetDirectoryName(folder)!;
        }
    }

    private void EnsureRootExists()
    {
        if (!Directory.Exists(Root))
        {
            throw new DirectoryNotFoundException($"the root folder of filesystem store '{Name}' does not exist: '{Root}'");
        }
    }
}
