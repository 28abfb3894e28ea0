namespace Reclaim.Testing;

/// <summary>A new empty folder under the system's temporary folder, removed with everything in it on dispose.</summary>
public sealed class TemporaryFolder : IDisposable
{
    /// <summary>Creates the folder.</summary>
    /// <param name="label">A word to recognise the folder by (it appears in its name).</param>
    public TemporaryFolder(string label = "test")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "reclaim-tests", $"{label}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    /// <summary>The folder's full path.</summary>
    public string Path { get; }

    /// <summary>A path inside the folder.</summary>
    /// <param name="relative">A relative path, <c>/</c>-separated.</param>
    /// <returns>The full path.</returns>
    public string Combine(string relative) => System.IO.Path.Combine(Path, relative);

    /// <summary>Removes the folder; symbolic links inside are removed, never followed.</summary>
    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
