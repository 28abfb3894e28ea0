namespace Reclaim.Testing;

/// <summary>Application tables exactly as the seeds define them, for tests and benchmarks.</summary>
public static class SeedTables
{
    /// <summary>The RugbyCodex cleanup worker's <c>media_cleanup_jobs</c> on PostgreSQL, verbatim.</summary>
    public const string MediaCleanupJobsPostgres = """
        CREATE TABLE media_cleanup_jobs (
          id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
          media_asset_id uuid NOT NULL,
          bucket text NOT NULL,
          storage_path text NOT NULL,
          created_at timestamp DEFAULT now(),
          processed_at timestamp,
          error text)
        """;

    /// <summary>The same table on SQLite (text ids and times; the application supplies the id).</summary>
    public const string MediaCleanupJobsSqlite = """
        CREATE TABLE media_cleanup_jobs (
          id TEXT PRIMARY KEY,
          media_asset_id TEXT NOT NULL,
          bucket TEXT NOT NULL,
          storage_path TEXT NOT NULL,
          created_at TEXT DEFAULT CURRENT_TIMESTAMP,
          processed_at TEXT,
          error TEXT)
        """;
}
