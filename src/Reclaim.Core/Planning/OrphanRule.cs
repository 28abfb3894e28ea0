namespace Reclaim.Core.Planning;

/// <summary>What the orphans policy decides about one group.</summary>
public enum GroupVerdictKind
{
    /// <summary>Some reference renders to the group: kept.</summary>
    Referenced,

    /// <summary>No reference, but the newest object is younger than the grace period: kept.</summary>
    TooYoung,

    /// <summary>No reference and every object older than the grace period: proposed for removal.</summary>
    Orphaned,
}

/// <summary>The orphans rule (docs/configuration.md, "orphans"; docs/safety.md, invariants 1 and 2). Pure.</summary>
public static class OrphanRule
{
    /// <summary>Decides a group's fate.</summary>
    /// <param name="referenced">Whether some reference renders to the group.</param>
    /// <param name="newest">The newest object's modification time, UTC.</param>
    /// <param name="now">The current time, UTC.</param>
    /// <param name="minAge">The grace period, 0 or more.</param>
    /// <returns>The verdict. A group whose newest object is dated in the future counts as young.</returns>
    public static GroupVerdictKind Classify(bool referenced, DateTimeOffset newest, DateTimeOffset now, TimeSpan minAge)
    {
        if (referenced)
        {
            return GroupVerdictKind.Referenced;
        }

        return now - newest < minAge || newest > now ? GroupVerdictKind.TooYoung : GroupVerdictKind.Orphaned;
    }
}
