using System.Data.Common;

namespace Reclaim.Data;

/// <summary>Small ADO.NET helpers shared by the state store and the queue's table access.</summary>
public static class DbCommands
{
    /// <summary>A command on <paramref name="connection"/>, in <paramref name="transaction"/> when given.</summary>
    /// <param name="connection">An open connection.</param>
    /// <param name="transaction">The transaction, or <see langword="null"/>.</param>
    /// <param name="sql">The SQL.</param>
    /// <returns>The command; the caller disposes it.</returns>
    public static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    /// <summary>Runs a statement.</summary>
    /// <param name="connection">An open connection.</param>
    /// <param name="transaction">The transaction, or <see langword="null"/>.</param>
    /// <param name="sql">The SQL.</param>
    /// <param name="cancellationToken">Cancels the statement.</param>
    /// <returns>A task.</returns>
    public static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Adds a named parameter; <see langword="null"/> is SQL NULL.</summary>
    /// <param name="command">The command.</param>
    /// <param name="name">The name without <c>@</c>.</param>
    /// <param name="value">The value.</param>
    public static void Add(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }
}
