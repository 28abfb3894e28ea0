namespace Reclaim.Core.State;

/// <summary>
/// Optional capability of the state: when each group was first seen orphaned, per policy, for two-sighting
/// confirmation (a policy's <c>confirm_after</c>): a group is acted on only if it was orphaned in a plan made at least
/// that long before too. A sighting is a group key's 64-bit fingerprint and a time, nothing more.
/// </summary>
public interface ISightings
{
    /// <summary>
    /// Records that <paramref name="orphaned"/> are orphaned at <paramref name="now"/> under <paramref name="policy"/>:
    /// a group seen before keeps its first sighting; one not seen before is sighted at <paramref name="now"/>; the
    /// policy's sightings of every other group are forgotten (a group orphaned again after being referenced starts over).
    /// </summary>
    /// <param name="policy">The policy's name (ordinal).</param>
    /// <param name="orphaned">The fingerprints of the groups the plan found orphaned (<c>KeyFingerprint.Of(groupKey)</c>).</param>
    /// <param name="now">The plan's time, UTC.</param>
    /// <param name="cancellationToken">Cancels the write (nothing is changed then).</param>
    /// <returns>Each of <paramref name="orphaned"/>'s first sighting, <paramref name="now"/> for the new ones.</returns>
    Task<IReadOnlyDictionary<ulong, DateTimeOffset>> SightAsync(string policy, IReadOnlyCollection<ulong> orphaned, DateTimeOffset now, CancellationToken cancellationToken);
}
