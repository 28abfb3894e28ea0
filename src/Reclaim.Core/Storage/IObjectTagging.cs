namespace Reclaim.Core.Storage;

/// <summary>
/// Optional store capability: an object's tags (S3 object tagging), read and written in place. A store that has it
/// and is configured for it (<see cref="QuarantinesByTag"/>, an s3 store's <c>quarantine_mode: tag</c>) quarantines by
/// tagging an object where it lies instead of copying it into the trash; restore removes the tag, purge deletes it.
/// </summary>
/// <remarks>
/// Tags are not in a listing (ListObjectsV2 returns none): what is quarantined in place is known from the state's
/// actions, and each tag is read again before it is relied on.
/// </remarks>
public interface IObjectTagging
{
    /// <summary>Whether this store quarantines by tag (<c>quarantine_mode: tag</c>) rather than by copy or move.</summary>
    bool QuarantinesByTag { get; }

    /// <summary>An object's tags.</summary>
    /// <param name="key">The object's key.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The tags (key → value, ordinal), or <see langword="null"/> when there is no object at <paramref name="key"/>.</returns>
    Task<IReadOnlyDictionary<string, string>?> GetTagsAsync(string key, CancellationToken cancellationToken);

    /// <summary>Replaces an object's tags with <paramref name="tags"/> (at most 10, S3's limit per object; none removes them all).</summary>
    /// <param name="key">The object's key.</param>
    /// <param name="tags">The whole new tag set.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that completes once the service has the tags.</returns>
    /// <exception cref="ObjectNotFoundException">There is no object at <paramref name="key"/>.</exception>
    Task PutTagsAsync(string key, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken);
}
