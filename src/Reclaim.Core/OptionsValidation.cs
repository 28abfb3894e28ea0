using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text;

namespace Reclaim.Core;

/// <summary>
/// Validates an options object the way Polly v8 validates its strategy options: the data annotations on its
/// properties (<see cref="RequiredAttribute"/>, <see cref="RangeAttribute"/>...) and its own
/// <see cref="IValidatableObject.Validate"/>, all of them at once (not stopping at the first failed attribute, as
/// <see cref="Validator.TryValidateObject(object, ValidationContext, ICollection{ValidationResult}?, bool)"/> does), so one error message lists every problem.
/// </summary>
public static class OptionsValidation
{
    /// <summary>Every problem with <paramref name="options"/>.</summary>
    /// <param name="options">An options object.</param>
    /// <returns>One result per problem, each naming the members it is about; empty when the options are usable.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    public static IReadOnlyList<ValidationResult> Validate(object options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var results = new List<ValidationResult>();
        foreach (var property in options.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.CanRead && property.GetIndexParameters().Length == 0)
            {
                var context = new ValidationContext(options) { MemberName = property.Name };
                Validator.TryValidateProperty(property.GetValue(options), context, results);
            }
        }

        // Validator.TryValidateObject would skip IValidatableObject once an attribute failed: both run here, so one
        // pass reports everything (a missing bucket and an access key without its secret together).
        if (options is IValidatableObject validatable)
        {
            results.AddRange(validatable.Validate(new ValidationContext(options)).Where(r => r != ValidationResult.Success));
        }

        return results;
    }

    /// <summary>Throws when <paramref name="options"/> has any problem, listing every one of them.</summary>
    /// <param name="options">An options object.</param>
    /// <param name="primaryMessage">The message's first line, naming what the options are for.</param>
    /// <exception cref="ValidationException">The options are invalid; the message lists every problem, one a line.</exception>
    public static void ThrowIfInvalid(object options, string primaryMessage)
    {
        var results = Validate(options);
        if (results.Count == 0)
        {
            return;
        }

        var message = new StringBuilder(primaryMessage);
        foreach (var result in results)
        {
            message.AppendLine().Append("- ").Append(result.ErrorMessage);
        }

        throw new ValidationException(message.ToString());
    }
}
