using System.Globalization;
using Reclaim.Core.State;

namespace Reclaim.Core.Planning;

/// <summary>
/// What a storage provider bills that decides what deleting saves (<c>provider:</c> on an s3 store). Prices are in the
/// bill's currency (US dollars in the table of <see cref="StorageCosts.Providers"/>), GB = 2^30 bytes.
/// </summary>
/// <param name="Provider"><c>aws</c>, <c>wasabi</c>, <c>r2</c>, <c>b2</c> or <c>generic</c>.</param>
/// <param name="PricePerGbMonth">Storage per GB-month; <see langword="null"/> when unknown (generic).</param>
/// <param name="MinStorageDuration">
/// The minimum storage duration: an object deleted younger than this is billed as if it were kept until then, so
/// deleting it saves nothing until it reaches that age. Zero when there is none.
/// </param>
/// <param name="ListPer1000">Price of 1000 LIST requests (ListObjectsV2 pages of up to 1000 keys).</param>
/// <param name="CopyPer1000">Price of 1000 COPY requests (one per quarantined object).</param>
/// <param name="DeletePer1000">Price of 1000 DELETE requests (one DeleteObjects call removes up to 1000 keys); 0 where deletes are free.</param>
/// <param name="ObjectTagging">
/// Whether the provider's S3 API has object tagging (PutObjectTagging, GetObjectTagging), which
/// <c>quarantine_mode: tag</c> needs; <see langword="true"/> unless the provider's documentation says it has none.
/// </param>
public sealed record ProviderCosts(string Provider, decimal? PricePerGbMonth, TimeSpan MinStorageDuration, decimal ListPer1000, decimal CopyPer1000, decimal DeletePer1000, bool ObjectTagging = true)
{
    /// <summary>Whether deletes are free.</summary>
    public bool FreeDeletes => DeletePer1000 == 0;
}

/// <summary>What a policy's plan saves and costs on its store's provider (<see cref="PolicyPlan.Cost"/>).</summary>
/// <param name="Provider">The store's provider.</param>
/// <param name="BytesSavingNow">Bytes of proposed objects at least the minimum storage duration old: deleting them saves now.</param>
/// <param name="SavingNowPerMonth">Those bytes × the price per GB-month, rounded to cents; <see langword="null"/> when unpriced.</param>
/// <param name="BytesSavingLater">Bytes of proposed objects younger than the minimum storage duration: billed until they reach it whatever is done.</param>
/// <param name="SavingLaterPerMonth">Those bytes × the price, once they all save; <see langword="null"/> when unpriced.</param>
/// <param name="SavesFrom">The earliest day a younger object starts to save (UTC), or <see langword="null"/> when none is younger.</param>
/// <param name="SavesAllFrom">The day the last of them starts to save (UTC), or <see langword="null"/>.</param>
/// <param name="ListRequests">LIST requests the sweep makes, about (the plan's listing and the gate's re-reads, 1000 keys a page).</param>
/// <param name="CopyRequests">COPY requests (one per object, for quarantine).</param>
/// <param name="DeleteRequests">DELETE requests (DeleteObjects calls of up to 1000 keys; for quarantine, the originals after their copy).</param>
/// <param name="RequestCost">What those requests cost, rounded to cents.</param>
/// <param name="TrashMinimumBytes">
/// For <c>action: quarantine</c> on a provider with a minimum storage duration: the bytes whose trash copy starts a new
/// minimum (each copy is billed for the whole minimum even when purged sooner); 0 otherwise.
/// </param>
/// <param name="TrashMinimumCost">What those copies cost at least (their bytes × the price × the minimum in months), rounded to cents; <see langword="null"/> when unpriced.</param>
/// <param name="TagRequests">PutObjectTagging requests (one per object) for quarantine in place (<c>quarantine_mode: tag</c>); 0 otherwise.</param>
/// <param name="MinStorageDurationSeconds">The provider's minimum storage duration the figures assume, in seconds (7776000 for Wasabi's 90 days); 0 when none.</param>
public sealed record PolicyCost(
    string Provider,
    long BytesSavingNow,
    decimal? SavingNowPerMonth,
    long BytesSavingLater,
    decimal? SavingLaterPerMonth,
    DateTimeOffset? SavesFrom,
    DateTimeOffset? SavesAllFrom,
    long ListRequests,
    long CopyRequests,
    long DeleteRequests,
    decimal RequestCost,
    long TrashMinimumBytes,
    decimal? TrashMinimumCost,
    long MinStorageDurationSeconds = 0,
    long TagRequests = 0)
{
    /// <summary>The minimum storage duration as a <see cref="TimeSpan"/>.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public TimeSpan MinStorageDuration => TimeSpan.FromSeconds(MinStorageDurationSeconds);
}

/// <summary>The providers' table and the cost of a plan on them.</summary>
public static class StorageCosts
{
    /// <summary>
    /// The documented providers' costs (docs/configuration.md "Cost-aware plans", where each figure's source is; checked
    /// 2026-12-02 against the providers' pricing pages; list prices for a standard storage class, first region, US dollars;
    /// each field can be overridden per store):
    /// <list type="bullet">
    /// <item><c>aws</c>: S3 Standard, us-east-1, $0.023/GB-month (first 50 TB), no minimum, PUT/COPY/POST/LIST $0.005 per 1000, DELETE free;</item>
    /// <item><c>wasabi</c>: pay-as-you-go $6.99/TB-month with TB = 1024 GB ($0.0068/GB-month), 90-day minimum, no request fees;</item>
    /// <item><c>r2</c>: Cloudflare R2 Standard, $0.015/GB-month, no minimum, ListObjects and CopyObject (class A) $4.50 per million, DeleteObject free;</item>
    /// <item><c>b2</c>: Backblaze B2, $0.006/GB-month, no minimum, ListObjectsV2 and CopyObject (class C) $0.004 per 1000 after 2500 free a day, DeleteObjects (class A) free;</item>
    /// <item><c>generic</c>: nothing known: no price, no minimum, free requests (set what applies).</item>
    /// </list>
    /// Free allowances (R2's and B2's free operations, Wasabi's 1 TB monthly minimum charge) are not modelled: the request
    /// cost is an upper bound.
    /// </summary>
    public static IReadOnlyDictionary<string, ProviderCosts> Providers { get; } = new Dictionary<string, ProviderCosts>(StringComparer.Ordinal)
    {
        ["aws"] = new("aws", 0.023m, TimeSpan.Zero, 0.005m, 0.005m, 0m),
        ["wasabi"] = new("wasabi", 0.0068m, TimeSpan.FromDays(90), 0m, 0m, 0m),
        ["r2"] = new("r2", 0.015m, TimeSpan.Zero, 0.0045m, 0.0045m, 0m, ObjectTagging: false),
        ["b2"] = new("b2", 0.006m, TimeSpan.Zero, 0.004m, 0.004m, 0m, ObjectTagging: false),
        ["generic"] = new("generic", null, TimeSpan.Zero, 0m, 0m, 0m),
    };

    /// <summary>Keys per LIST page and per DeleteObjects call: 1000 (the S3 API's limit).</summary>
    public const int KeysPerRequest = 1000;

    /// <summary>Days in a billing month: 30 (how the minimum duration is turned into months).</summary>
    private const decimal DaysPerMonth = 30m;

    /// <summary>
    /// The cost of <paramref name="policyPlan"/> on <paramref name="costs"/>: which proposed bytes save now and which only
    /// once their objects reach the minimum storage duration, the sweep's requests, and for quarantine the trash copies'
    /// new minimum; a warning is added to the plan for bytes that save nothing yet and for such trash copies.
    /// </summary>
    /// <param name="policyPlan">An orphans or retention policy's plan (its groups' objects).</param>
    /// <param name="costs">The store's provider costs, with the config's overrides.</param>
    /// <param name="now">The plan's time.</param>
    /// <param name="trashCopies">
    /// Whether a quarantine copies each object into the trash (the default); <see langword="false"/> for an s3 store's
    /// <c>quarantine_mode: tag</c>, which tags it in place (one PutObjectTagging each, priced as a COPY: both are PUT-class
    /// requests), deletes nothing until purge and starts no new minimum.
    /// </param>
    /// <returns>The cost, also set as <see cref="PolicyPlan.Cost"/>.</returns>
    public static PolicyCost Apply(PolicyPlan policyPlan, ProviderCosts costs, DateTimeOffset now, bool trashCopies = true)
    {
        ArgumentNullException.ThrowIfNull(policyPlan);
        ArgumentNullException.ThrowIfNull(costs);
        long now_ = 0, later = 0, objects = 0;
        DateTimeOffset? first = null, last = null;
        foreach (var item in policyPlan.Groups.SelectMany(g => g.Objects).Concat(policyPlan.Rows.SelectMany(r => r.Objects)))
        {
            objects++;
            var saves = item.LastModified + costs.MinStorageDuration;
            if (saves <= now)
            {
                now_ += item.Size;
                continue;
            }

            later += item.Size;
            first = first is null || saves < first ? saves : first;
            last = last is null || saves > last ? saves : last;
        }

        var quarantine = policyPlan.Action == ActionKind.Quarantine;
        var inPlace = quarantine && !trashCopies;
        var list = Pages(policyPlan.Totals.ObjectsScanned) + Pages(objects);
        var copy = quarantine && trashCopies ? objects : 0;
        var tag = inPlace ? objects : 0;
        var delete = inPlace ? 0 : Pages(objects);
        var requestCost = Math.Round((list * costs.ListPer1000 / 1000m) + ((copy + tag) * costs.CopyPer1000 / 1000m) + (delete * costs.DeletePer1000 / 1000m), 2);
        var trashBytes = quarantine && trashCopies && costs.MinStorageDuration > TimeSpan.Zero ? now_ + later : 0;
        var months = (decimal)costs.MinStorageDuration.TotalDays / DaysPerMonth;
        var cost = new PolicyCost(costs.Provider, now_, PerMonth(now_, costs.PricePerGbMonth), later, PerMonth(later, costs.PricePerGbMonth), first, last,
            list, copy, delete, requestCost, trashBytes, PerMonth(trashBytes, costs.PricePerGbMonth) is { } perMonth ? Math.Round(perMonth * months, 2) : null,
            (long)costs.MinStorageDuration.TotalSeconds, tag);
        policyPlan.Cost = cost;
        policyPlan.Warnings.AddRange(Warnings(cost));
        return cost;
    }

    /// <summary>
    /// What a plan's cost warns about, as the plan, <c>reclaim usage</c> and the dashboard say it: the bytes that save
    /// nothing until their objects reach the minimum storage duration, and, for quarantine on a provider with a
    /// minimum, that each trash copy starts a new one. Empty when neither applies.
    /// </summary>
    /// <param name="cost">A policy's cost (<see cref="Apply"/>).</param>
    /// <returns>Zero, one or two sentences.</returns>
    public static IReadOnlyList<string> Warnings(PolicyCost cost)
    {
        ArgumentNullException.ThrowIfNull(cost);
        var warnings = new List<string>(2);
        var minimum = Duration.Format(cost.MinStorageDuration);
        var provider = cost.Provider;
        if (cost.BytesSavingLater > 0)
        {
            warnings.Add(string.Create(CultureInfo.InvariantCulture,
                $"{cost.BytesSavingLater} bytes are of objects younger than {provider}'s minimum storage duration {minimum}: deleting them saves nothing until they reach it (from {cost.SavesFrom!.Value.UtcDateTime:yyyy-MM-dd} to {cost.SavesAllFrom!.Value.UtcDateTime:yyyy-MM-dd}); {cost.BytesSavingNow} bytes save now"));
        }

        if (cost.TrashMinimumBytes > 0)
        {
            warnings.Add(string.Create(CultureInfo.InvariantCulture,
                $"action quarantine on {provider} copies each object into the trash, and each copy starts a new {minimum} minimum: the trash copies of {cost.TrashMinimumBytes} bytes are billed for {minimum} even if purged sooner{(cost.TrashMinimumCost is { } c ? $" (about {c:0.00})" : string.Empty)}; action: delete avoids it"));
        }

        return warnings;
    }

    private static long Pages(long keys) => (keys + KeysPerRequest - 1) / KeysPerRequest;

    private static decimal? PerMonth(long bytes, decimal? price) => price is { } p ? Math.Round(bytes / (decimal)(1L << 30) * p, 2) : null;
}
