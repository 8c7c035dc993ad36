using Microsoft.Data.Sqlite;

namespace FilterService.Admin;

/// <summary>
/// The console's embedded SQLite database (<c>console.db</c> in <c>Console:DataPath</c>): admin accounts, the change
/// history and incidents, each feature in its own tables behind its own store interface (Admin/README.md). WAL
/// journal, so the console reads while the service writes; a busy timeout instead of SQLITE_BUSY errors; foreign keys
/// on. Every store opens a connection per operation (Microsoft.Data.Sqlite pools them) and creates its own tables with
/// <see cref="EnsureSchema"/> when first constructed.
/// </summary>
internal sealed class ConsoleDatabase
{
    private readonly string _connectionString;

    public ConsoleDatabase(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        using var connection = Open();
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA journal_mode=WAL;";
        pragma.ExecuteNonQuery();
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>A new open connection with foreign keys on and a 10 s busy timeout; dispose it after the operation.</summary>
    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000; PRAGMA synchronous=FULL;";
        pragma.ExecuteNonQuery();
        return connection;
    }

    /// <summary>Runs a feature's <c>CREATE TABLE IF NOT EXISTS</c> statements in one transaction.</summary>
    public void EnsureSchema(string sql)
    {
        using var connection = Open();
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
        transaction.Commit();
    }
}
