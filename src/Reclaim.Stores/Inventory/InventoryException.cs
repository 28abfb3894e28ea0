namespace Reclaim.Stores.Inventory;

/// <summary>
/// The S3 Inventory a store is configured to plan from (<c>stores.X.inventory.manifest</c>) cannot be used: its
/// manifest or a file it names is missing or malformed, fails its checksum, lacks a field planning needs, or is the
/// inventory of another bucket. A configuration problem: the command refuses before anything is touched (exit 2).
/// </summary>
/// <param name="message">What is wrong and what to change, naming the manifest or file.</param>
/// <param name="inner">The error that revealed it, when there is one.</param>
public sealed class InventoryException(string message, Exception? inner = null) : Exception(message, inner);
