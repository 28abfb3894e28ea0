namespace Reclaim.Engine.Tests.Install;

/// <summary>
/// The tests that build Reclaim from this checkout (the launcher's build into <c>.build/cli</c> and
/// <c>scripts/publish.sh</c>): both write the projects' shared <c>obj/Release/net10.0/linux-*</c> folders, so two at once
/// can hand the ReadyToRun compiler a half-written assembly ("Read out of bounds"). They run one after the other, as the
/// tests of one collection do; no other test writes those folders, so the collection runs beside the others rather than
/// alone after them (minutes of building with the machine otherwise idle).
/// </summary>
[CollectionDefinition(Name)]
public sealed class BuildOutputsCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Builds from the checkout";
}
