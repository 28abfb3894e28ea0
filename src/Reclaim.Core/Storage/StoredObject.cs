using System.Text.Json.Serialization;

namespace Reclaim.Core.Storage;

/// <summary>
/// One object as a store reports it.
/// </summary>
/// <param name="Key">The object's key: relative, <c>/</c>-separated, UTF-8; compared ordinally.</param>
/// <param name="Size">The object's size in bytes, 0 or more.</param>
/// <param name="LastModified">When the object was last written, UTC. S3 reports whole seconds.</param>
/// <param name="ETag">The store's entity tag (S3), or <see langword="null"/> where the store has none (filesystem).</param>
public readonly record struct StoredObject(string Key, long Size, DateTimeOffset LastModified, [property: JsonPropertyName("etag")] string? ETag = null)
{
    /// <summary>
    /// Whether <paramref name="other"/> describes the same object content as this one: same size, and the same
    /// ETag where both have one, otherwise the same modification time to the second (S3 listings and HEAD
    /// responses carry whole seconds).
    /// </summary>
    /// <param name="other">The object as seen later (for example by the gate's re-stat).</param>
    /// <returns><see langword="true"/> when nothing indicates the object was rewritten.</returns>
    public bool IsUnchangedSince(StoredObject other)
    {
        if (Size != other.Size)
        {
            return false;
        }

        if (ETag is not null && other.ETag is not null)
        {
            return string.Equals(ETag, other.ETag, StringComparison.Ordinal);
        }

        return LastModified.ToUnixTimeSeconds() == other.LastModified.ToUnixTimeSeconds();
    }
}
