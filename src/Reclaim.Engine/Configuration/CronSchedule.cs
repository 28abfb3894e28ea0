using Quartz;

namespace Reclaim.Engine.Configuration;

/// <summary>
/// The cron syntax of <c>schedule[].cron</c>, read by Quartz.NET's own parser: the five fields of a Unix crontab
/// (<c>minute hour day month weekday</c>, weekdays 0–7 with 0 and 7 Sunday; <see cref="CronFormat.Unix"/>), Quartz's
/// six or seven fields (seconds first, an optional year; <see cref="CronFormat.Quartz"/>), or an <c>@</c> macro
/// (<c>@daily</c>, <c>@hourly</c>, ...). The loader checks every entry with it, so an expression Quartz would refuse
/// when <c>serve</c> starts is a config error at <c>validate</c>, with its position.
/// </summary>
public static class CronSchedule
{
    /// <summary>The expression in Quartz's canonical form (with seconds), as the scheduler runs it.</summary>
    /// <param name="cron">The expression as written in the config.</param>
    /// <returns>The Quartz expression, for example <c>0 0 3 * * ?</c> for <c>0 3 * * *</c>.</returns>
    /// <exception cref="FormatException">
    /// Not a cron expression Quartz reads (the message is Quartz's, for example "Minute and Second values must be
    /// between 0 and 59" for <c>61 * * * *</c>); a field count other than 5, 6 or 7 (or one macro); or, in the five-field
    /// form, both the day of the month and the weekday restricted (keep one of them <c>*</c>, as Reclaim has always
    /// required, so the schedule reads the same in every cron).
    /// </exception>
    public static string ToQuartz(string cron)
    {
        ArgumentNullException.ThrowIfNull(cron);
        var fields = cron.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (fields is [var macro] && macro.StartsWith('@'))
        {
            return CronExpression.Parse(macro).CronExpressionString;
        }

        if (fields.Length is not (5 or 6 or 7))
        {
            throw new FormatException($"'{cron}' has {fields.Length} field{(fields.Length == 1 ? string.Empty : "s")}: write 5 fields (minute hour day month weekday, like \"0 3 * * *\"), Quartz's 6 or 7 (with seconds first), or a macro such as @daily");
        }

        if (fields.Length == 5)
        {
            if (fields[2] is not ("*" or "?") && fields[4] is not ("*" or "?"))
            {
                throw new FormatException($"'{cron}' restricts both the day of the month and the weekday: keep one of them '*'");
            }

            return CronExpression.Parse(string.Join(' ', fields), CronFormat.Unix).CronExpressionString;
        }

        return CronExpression.Parse(string.Join(' ', fields), CronFormat.Quartz).CronExpressionString;
    }

    /// <summary>Checks an expression as <see cref="ToQuartz"/> reads it.</summary>
    /// <param name="cron">The expression.</param>
    /// <returns>Why it is not a valid schedule, or <see langword="null"/> when it is.</returns>
    public static string? Problem(string cron)
    {
        try
        {
            _ = ToQuartz(cron);
            return null;
        }
        catch (FormatException e)
        {
            return e.Message;
        }
    }
}
