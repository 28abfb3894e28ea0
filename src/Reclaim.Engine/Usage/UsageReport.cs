using Reclaim.Core.Planning;

namespace Reclaim.Engine;

/// <summary>Objects and bytes under one prefix.</summary>
/// <param name="Store">The store.</param>
/// <param name="Prefix">The prefix (the first N segments of the keys, ending in <c>/</c>), or a key with fewer segments.</param>
/// <param name="Objects">Objects.</param>
/// <param name="Bytes">Bytes.</param>
/// <param name="Oldest">The oldest object's modification time.</param>
/// <param name="Newest">The newest object's modification time.</param>
public sealed record UsageRow(string Store, string Prefix, long Objects, long Bytes, DateTimeOffset Oldest, DateTimeOffset Newest);

/// <summary>A store's totals and what they cost.</summary>
/// <param name="Store">The store.</param>
/// <param name="Objects">Objects (trash included).</param>
/// <param name="Bytes">Bytes (trash included).</param>
/// <param name="PricePerGbMonth">The configured price per GB-month (GB = 2^30 bytes, as S3-style bills count), or <see langword="null"/>.</param>
/// <param name="CostPerMonth">Bytes × price, or <see langword="null"/> when unpriced.</param>
/// <param name="Provider">An s3 store's <c>provider</c> (<c>aws</c>, <c>wasabi</c>, <c>r2</c>, <c>b2</c>, <c>generic</c>), or <see langword="null"/> when it names none.</param>
public sealed record UsageStore(string Store, long Objects, long Bytes, decimal? PricePerGbMonth, decimal? CostPerMonth, string? Provider = null);

/// <summary>What a policy would reclaim now (a dry run), and what that saves.</summary>
/// <param name="Policy">The policy.</param>
/// <param name="Store">Its store.</param>
/// <param name="Objects">Objects it would remove.</param>
/// <param name="Bytes">Bytes it would remove.</param>
/// <param name="SavingPerMonth">Bytes × the store's price, or <see langword="null"/> when unpriced.</param>
/// <param name="Refused">Whether a guard would refuse it.</param>
/// <param name="Cost">
/// On a store that names its <c>provider</c>: the plan's cost (bytes and $/month saving now and only after the minimum
/// storage duration, the sweep's requests, the trash copies' new minimum), as <c>reclaim plan</c> gives it; otherwise <see langword="null"/>.
/// </param>
/// <param name="CostWarnings">The plan's cost warnings (<see cref="StorageCosts.Warnings"/>): bytes that save nothing yet, quarantine copies; empty without a provider.</param>
public sealed record UsageReclaimable(string Policy, string Store, long Objects, long Bytes, decimal? SavingPerMonth, bool Refused, PolicyCost? Cost = null, IReadOnlyList<string>? CostWarnings = null);

/// <summary>The usage report: prefixes, stores and reclaimable bytes.</summary>
/// <param name="Prefixes">Objects and bytes by prefix.</param>
/// <param name="Stores">Per-store totals and cost.</param>
/// <param name="Reclaimable">Per-policy reclaimable bytes from a dry run (empty when not asked for).</param>
public sealed record UsageReport(IReadOnlyList<UsageRow> Prefixes, IReadOnlyList<UsageStore> Stores, IReadOnlyList<UsageReclaimable> Reclaimable);
