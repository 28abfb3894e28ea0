using System.Text.Json.Serialization;

namespace Reclaim.Core.Planning;

/// <summary>
/// A policy's kind (its <c>type:</c> in the config). In plan files and JSON output it is written as the config
/// spells it (<c>orphans</c>, <c>retention</c>, <c>records</c>, <c>queue</c>), so plan files made before the kind was
/// typed still read.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<PolicyKind>))]
public enum PolicyKind
{
    /// <summary><c>orphans</c>: groups of a layout that no reference renders to.</summary>
    [JsonStringEnumMemberName("orphans")]
    Orphans,

    /// <summary><c>retention</c>: groups of a layout older than <c>max_age</c>, except those a keep query renders to.</summary>
    [JsonStringEnumMemberName("retention")]
    Retention,

    /// <summary><c>records</c>: rows a catalog query selects; their objects go, then the row.</summary>
    [JsonStringEnumMemberName("records")]
    Records,

    /// <summary><c>queue</c>: the application's own deletion-request table.</summary>
    [JsonStringEnumMemberName("queue")]
    Queue,
}

/// <summary>Names of <see cref="PolicyKind"/> values.</summary>
public static class PolicyKinds
{
    /// <summary>The kind as the config's <c>type:</c> spells it.</summary>
    /// <param name="kind">A kind.</param>
    /// <returns><c>orphans</c>, <c>retention</c>, <c>records</c> or <c>queue</c>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kind"/> is not a defined value.</exception>
    public static string Name(this PolicyKind kind) => kind switch
    {
        PolicyKind.Orphans => "orphans",
        PolicyKind.Retention => "retention",
        PolicyKind.Records => "records",
        PolicyKind.Queue => "queue",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a policy kind"),
    };
}
