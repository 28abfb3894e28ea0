using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using YamlDotNet.RepresentationModel;

namespace Reclaim.Cli;

/// <summary>
/// One-time setup a command needs right after its arguments are parsed, started on another thread while they are:
/// the YAML parser's first document (YamlDotNet compiles a regular expression and loads its types, some 20 ms) and
/// SQLite's native library (Microsoft.Data.Sqlite's static setup). The command then finds both ready instead of
/// waiting for them one after the other.
/// </summary>
internal static class StartupWarmup
{
    /// <summary>Starts the warm-up; its result is never awaited (the command does the same work itself if it gets there first).</summary>
    public static void Start() => ThreadPool.UnsafeQueueUserWorkItem(static _ => Run(), null);

    private static void Run()
    {
        new YamlStream().Load(new StringReader("version: 1\n"));
        RuntimeHelpers.RunClassConstructor(typeof(SqliteConnection).TypeHandle);
    }
}
