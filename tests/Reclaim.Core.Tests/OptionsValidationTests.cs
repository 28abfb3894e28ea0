using System.ComponentModel.DataAnnotations;

namespace Reclaim.Core.Tests;

public sealed class OptionsValidationTests
{
    private sealed class SampleOptions : IValidatableObject
    {
        [Required]
        public string? Bucket { get; set; }

        [Range(1, 1000)]
        public int BatchSize { get; set; } = 1000;

        public string? AccessKey { get; set; }

        public string? SecretKey { get; set; }

        public string this[int index] => index.ToString(System.Globalization.CultureInfo.InvariantCulture);

        public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
        {
            yield return ValidationResult.Success!;
            if ((AccessKey is null) != (SecretKey is null))
            {
                yield return new ValidationResult("access_key and secret_key go together", [nameof(AccessKey), nameof(SecretKey)]);
            }
        }
    }

    [Fact]
    public void Validate_UsableOptions_HaveNoProblem()
    {
        OptionsValidation.Validate(new SampleOptions { Bucket = "media", BatchSize = 1 }).Should().BeEmpty();
        OptionsValidation.ThrowIfInvalid(new SampleOptions { Bucket = "media", AccessKey = "a", SecretKey = "s" }, "unused");
    }

    [Fact]
    public void Validate_EveryProblemAtOnce_AttributesAndTheObjectsOwnRules()
    {
        var results = OptionsValidation.Validate(new SampleOptions { Bucket = null, BatchSize = 0, AccessKey = "a" });

        results.Select(r => r.MemberNames.First()).Should().BeEquivalentTo(["Bucket", "BatchSize", "AccessKey"],
            "a failed attribute does not hide the object's own rule, as Validator.TryValidateObject would");
        results.Should().ContainSingle(r => r.ErrorMessage == "access_key and secret_key go together").Which.MemberNames.Should().Equal("AccessKey", "SecretKey");
    }

    [Fact]
    public void ThrowIfInvalid_ListsEveryProblemOneALineAfterThePrimaryMessage()
    {
        var act = () => OptionsValidation.ThrowIfInvalid(new SampleOptions { Bucket = null, BatchSize = 5000 }, "S3 store 'media' cannot be created:");

        var lines = act.Should().Throw<ValidationException>().Which.Message.Split(Environment.NewLine);
        lines[0].Should().Be("S3 store 'media' cannot be created:");
        lines.Skip(1).Should().HaveCount(2).And.OnlyContain(l => l.StartsWith("- ", StringComparison.Ordinal));
        lines.Should().Contain(l => l.Contains("Bucket", StringComparison.Ordinal)).And.Contain(l => l.Contains("BatchSize", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_Null_Throws()
    {
        var act = () => OptionsValidation.Validate(null!);

        act.Should().Throw<ArgumentNullException>();
    }
}
