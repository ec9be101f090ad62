// The engine's one T-SQL scanner and what is derived from it: the tokens themselves, the
// read-only check `plan --probe` relies on and the single-statement check behind "nothing took
// effect". Strings, N'...', [brackets]] and "quoted" identifiers, nested and unterminated
// comments, and the attack strings of issue 9 (`'--'`, `'/*'` inside string literals).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeToken, isTrivia, scanSql, unterminatedToken, type SqlToken, type SqlTokenKind } from '../../../engine/drivers/sql/scanner.js';
import { isSingleStatement, readOnlyProblem } from '../../../engine/drivers/sql/checks.js';

const kinds = (sql: string) => scanSql(sql).filter((t) => t.kind !== 'space').map((t) => `${t.kind}:${t.text}`);
const words = (sql: string) => scanSql(sql).filter((t) => t.kind === 'word').map((t) => t.text);

test('the tokens give the text back exactly and carry their line', () => {
  const sql = "SELECT N'a''b', [x]]y], \"q\"\"r\" -- c\r\n/* 1 /* 2 */ 3 */ 0x1F 1.5e3 @v #t;";
  const tokens = scanSql(sql);
  assert.is(tokens.map((t) => t.text).join(''), sql);
  assert.equal(kinds(sql), [
    'word:SELECT', "string:N'a''b'", 'symbol:,', 'bracketed:[x]]y]', 'symbol:,', 'quoted:"q""r"', 'lineComment:-- c', 'newline:\r\n',
    'blockComment:/* 1 /* 2 */ 3 */', 'number:0x1F', 'number:1.5e3', 'word:@v', 'word:#t', 'symbol:;',
  ]);
  const lines = (t: readonly SqlToken[]) => t.filter((x) => x.kind !== 'space').map((x) => x.line);
  assert.equal(lines(scanSql("a\n'b\nc' d\ne")), [1, 1, 2, 3, 3, 4]);
});

test('strings: doubled quotes stay inside, N and n prefixes belong to the string, a lone N is a word', () => {
  assert.equal(kinds("'it''s' n'x' N"), ["string:'it''s'", "string:n'x'", 'word:N']);
  assert.equal(kinds("''''"), ["string:''''"]);
  assert.equal(kinds("ALIGN'x'"), ['word:ALIGN', "string:'x'"], 'only a standalone N is a prefix');
});

test('-- and /* inside strings and identifiers are text; quotes inside comments are comment', () => {
  assert.equal(words("SELECT '--'; DELETE FROM t"), ['SELECT', 'DELETE', 'FROM', 't']);
  assert.equal(words("SELECT '/*'; DELETE FROM t --*/"), ['SELECT', 'DELETE', 'FROM', 't']);
  assert.equal(words('SELECT [--x], "/*y" FROM t'), ['SELECT', 'FROM', 't']);
  assert.equal(words("SELECT 1 -- it's\nFROM t"), ['SELECT', 'FROM', 't']);
  assert.equal(words("/* it's */ SELECT 1"), ['SELECT']);
});

test('block comments nest: the first */ does not end an outer comment', () => {
  assert.equal(words('/* a /* b */ DELETE FROM t */ SELECT 1'), ['SELECT']);
  const open = scanSql('/* a /* b */ DELETE FROM t');
  assert.equal(open.map((t) => [t.kind, t.unterminated === true]), [['blockComment', true]]);
});

test('unterminated strings, identifiers and comments run to the end and say so', () => {
  for (const [sql, kind] of [["SELECT 'abc", 'string'], ["SELECT N'abc", 'string'], ['SELECT [abc', 'bracketed'], ['SELECT "abc', 'quoted'], ['SELECT /* abc', 'blockComment']] as const) {
    const last = scanSql(sql).at(-1)!;
    assert.is(last.kind, kind, sql);
    assert.ok(last.unterminated, sql);
  }
  assert.not.ok(scanSql('SELECT 1 -- no newline').some((t) => t.unterminated), 'a line comment ends with the text');
});

test('numbers are read strictly: a word glued to a number is still a word', () => {
  assert.equal(kinds('1DELETE'), ['number:1', 'word:DELETE']);
  assert.equal(kinds('1e5x 1ELSE 0xABG .5'), ['number:1e5', 'word:x', 'number:1', 'word:ELSE', 'number:0xAB', 'word:G', 'number:.5']);
});

test('numbers: 0x and 0X hex only after a 0, exponents with e or E and a sign only when digits follow; - and / alone are symbols', () => {
  assert.equal(kinds('0X1F 0y1 1+5 1E5 1e+5 2.5E-3'), ['number:0X1F', 'number:0', 'word:y1', 'number:1', 'symbol:+', 'number:5', 'number:1E5', 'number:1e+5', 'number:2.5E-3']);
  assert.equal(kinds('1xF 0x'), ['number:1', 'word:xF', 'number:0x'], 'x makes hex only after a 0; 0x alone is the empty binary');
  assert.equal(kinds('SELECT 0x1F'), ['word:SELECT', 'number:0x1F'], 'hex at the very end of the text');
  assert.equal(kinds('1e+ 1e-x 4/2 1-1'), ['number:1', 'word:e', 'symbol:+', 'number:1', 'word:e', 'symbol:-', 'word:x', 'number:4', 'symbol:/', 'number:2', 'number:1', 'symbol:-', 'number:1']);
});

test('a run of spaces and tabs is one token; a quote after any other character opens a string of its own', () => {
  assert.equal(scanSql('a \t  b').map((t) => `${t.kind}:${t.text}`), ['word:a', 'space: \t  ', 'word:b']);
  assert.equal(kinds("IN('a',x'b')"), ['word:IN', 'symbol:(', "string:'a'", 'symbol:,', 'word:x', "string:'b'", 'symbol:)']);
});

test('comments right after a line break, and a / or * inside a block comment that neither opens nor closes one', () => {
  assert.equal(kinds('1\n--c\r\n--d\nx'), ['number:1', 'newline:\n', 'lineComment:--c', 'newline:\r\n', 'lineComment:--d', 'newline:\n', 'word:x']);
  assert.equal(kinds('/* a/b */ x /* a*b */ y'), ['blockComment:/* a/b */', 'word:x', 'blockComment:/* a*b */', 'word:y']);
});

test('isTrivia, unterminatedToken and describeToken by kind', () => {
  const token = (kind: SqlTokenKind): SqlToken => ({ kind, text: '', start: 0, line: 1 });
  const all: SqlTokenKind[] = ['word', 'number', 'string', 'bracketed', 'quoted', 'lineComment', 'blockComment', 'space', 'newline', 'symbol'];
  assert.equal(all.filter((k) => isTrivia(token(k))), ['lineComment', 'blockComment', 'space', 'newline']);
  assert.equal(all.map((k) => describeToken(token(k))), [
    'word', 'number', 'string literal', 'bracketed identifier', 'quoted identifier', 'line comment', 'block comment', 'space', 'newline', 'symbol',
  ]);
  const tokens = scanSql("SELECT [a /* b");
  assert.is(unterminatedToken(tokens), tokens.at(-1));
  assert.is(unterminatedToken(scanSql('SELECT 1')), undefined);
});

test('r5conn-2: readOnlyProblem refuses a batch whose first statement is a procedure named with brackets or quotes (it runs without EXEC)', () => {
  for (const sql of ['[dbo].[usp_DropOrders] 1', '"dbo"."usp_x" 1, 2', "[sys].[sp_set_session_context] N'tenant', 42", '/* hi */ [usp_x]', "[master].[sys].[sp_configure] 'show advanced options', 1", "SELECT 1\nGO\n[sp_releaseapplock] N'link', N'Session'"]) {
    assert.match(readOnlyProblem(sql) ?? 'PLAIN READ', /does not start with SELECT \(("|\[)\w+("|\]): a name first in a batch is a procedure call/, sql);
  }
  assert.match(readOnlyProblem("N'x'") ?? 'PLAIN READ', /does not start with SELECT \(N'x'\)/);
  // What a read may start with stays a read: `;WITH`, a parenthesised SELECT, comments only.
  for (const sql of [';WITH c AS (SELECT 1 AS a) SELECT a FROM c', '(SELECT 1) UNION (SELECT 2)', '-- nothing to run', 'SELECT [name] FROM sys.databases']) {
    assert.is(readOnlyProblem(sql), undefined, sql);
  }
});

test('readOnlyProblem: the attack strings of issue 9 are refused', () => {
  assert.match(readOnlyProblem("SELECT '--'; DELETE FROM t") ?? '', /contains DELETE/);
  assert.match(readOnlyProblem("SELECT N'--' AS a\nDELETE FROM t") ?? '', /contains DELETE/);
  assert.match(readOnlyProblem("SELECT '/*'; DELETE FROM t; SELECT '*/'") ?? '', /contains DELETE/);
  assert.match(readOnlyProblem("SELECT [a--]; DROP TABLE t") ?? '', /contains DROP/);
  assert.match(readOnlyProblem('SELECT 1DELETE FROM t') ?? '', /contains DELETE/);
  assert.match(readOnlyProblem("SELECT 'x'\nGO\nEXEC sp_x") ?? '', /does not start with SELECT \(EXEC\)/);
  assert.match(readOnlyProblem('SELECT NEXT VALUE FOR dbo.s') ?? '', /NEXT VALUE FOR/);
});

test('readOnlyProblem: words inside strings, identifiers and comments do not count; plain reads pass', () => {
  const ok = [
    "SELECT N'DELETE; DROP' AS note, [update] FROM sys.databases -- exec\n",
    '/* alter */ SELECT 1 /* nested /* drop */ still comment */',
    "WITH x AS (SELECT 1 AS a) SELECT a FROM x WHERE 'it''s' <> ''",
    'SELECT name FROM t ORDER BY name OFFSET 0 ROWS FETCH NEXT 5 ROWS ONLY',
    'SELECT 1\nGO\nSELECT 2',
  ];
  for (const sql of ok) assert.is(readOnlyProblem(sql), undefined, sql);
});

test('readOnlyProblem: unterminated text is not a plain read (where it ends is not certain)', () => {
  for (const sql of ["SELECT 'abc", 'SELECT 1 /* open', 'SELECT [x', 'SELECT "x']) {
    assert.match(readOnlyProblem(sql) ?? '', /unterminated (string literal|block comment|bracketed identifier|quoted identifier) \(line 1\)/, sql);
  }
  // A GO line swallowed by an open string: the "second batch" is inside the string, and still refused.
  assert.match(readOnlyProblem("SELECT 'x\nGO\nDELETE FROM t") ?? '', /unterminated string literal/);
});

test('isSingleStatement: strings with /* or ; do not hide a second statement', () => {
  assert.not.ok(isSingleStatement("SELECT N'/*' AS a\nALTER AVAILABILITY GROUP [x] FAILOVER\nSELECT 1 FROM t WHERE N'*/' = N''"));
  assert.not.ok(isSingleStatement("ALTER AVAILABILITY GROUP [x] FAILOVER; SELECT '/*'"));
  assert.not.ok(isSingleStatement("SELECT '--'; DELETE FROM t"));
  assert.ok(isSingleStatement("ALTER AVAILABILITY GROUP [x] MODIFY AVAILABILITY GROUP ON N'a;b/*' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT);"));
});

test('isSingleStatement: statements need no ; or line break between them', () => {
  assert.not.ok(isSingleStatement('ALTER AVAILABILITY GROUP [x] FAILOVER DROP AVAILABILITY GROUP [y]'));
  assert.not.ok(isSingleStatement('ALTER AVAILABILITY GROUP [x] FAILOVER SET LANGUAGE us_english'));
  assert.not.ok(isSingleStatement('UPDATE t SET a = 1 SET NOCOUNT ON'));
  assert.not.ok(isSingleStatement('INSERT INTO t VALUES (1) SELECT 2'));
  assert.not.ok(isSingleStatement('DELETE FROM t SELECT 1'));
  assert.not.ok(isSingleStatement('SELECT 1 SELECT 2'));
  assert.not.ok(isSingleStatement('GRANT SELECT ON t TO u DROP TABLE t'));
});

test('isSingleStatement: one statement, whatever its own grammar puts in it', () => {
  const single = [
    'ALTER AVAILABILITY GROUP [x] FAILOVER;',
    'ALTER AVAILABILITY GROUP [x] SET (ROLE = SECONDARY);',
    'ALTER DATABASE [db] SET HADR OFF',
    'ALTER AVAILABILITY GROUP [x] ADD DATABASE [db]',
    'UPDATE t SET a = CASE WHEN b = 1 THEN 2 ELSE 3 END WHERE c IN (SELECT c FROM u)',
    'INSERT INTO t (a) SELECT a FROM u UNION ALL SELECT 1',
    'DELETE FROM t WHERE a IN (SELECT a FROM u)',
    'MERGE t USING u ON t.a = u.a WHEN MATCHED THEN UPDATE SET b = u.b WHEN NOT MATCHED THEN INSERT (a) VALUES (u.a);',
    'CREATE TABLE t (a int REFERENCES u (a) ON DELETE CASCADE ON UPDATE NO ACTION)',
    'GRANT SELECT, INSERT, EXECUTE ON SCHEMA::dbo TO u',
    "RESTORE DATABASE d FROM DISK = N'x' WITH MOVE N'a' TO N'b', NORECOVERY",
    "BACKUP LOG [db] TO DISK = N'x' WITH NORECOVERY",
    'SELECT a FROM t ORDER BY a OFFSET 1 ROWS FETCH NEXT 2 ROWS ONLY OPTION (USE HINT (\'x\'))',
    "-- go over\nDROP AVAILABILITY GROUP [x] /* drop */;\n",
  ];
  for (const sql of single) assert.ok(isSingleStatement(sql), sql);
});

test('isSingleStatement: procedures, control flow and unterminated text are never "one"', () => {
  assert.not.ok(isSingleStatement('EXEC sp_do_things'));
  assert.not.ok(isSingleStatement('IF 1 = 1 ALTER AVAILABILITY GROUP [x] FAILOVER'));
  assert.not.ok(isSingleStatement('BEGIN TRAN ALTER AVAILABILITY GROUP [x] FAILOVER COMMIT'));
  assert.not.ok(isSingleStatement("ALTER AVAILABILITY GROUP [x] MODIFY AVAILABILITY GROUP ON N'a WITH (x)"));
  assert.not.ok(isSingleStatement('ALTER AVAILABILITY GROUP [x] FAILOVER /* open'));
  assert.not.ok(isSingleStatement(''));
  assert.not.ok(isSingleStatement('-- only a comment'));
});

// F5 of the issue-9 attack: SQL Server ends a `--` comment at a CR as at an LF
// (MicrosoftDocs/sql-docs, comment-transact-sql.md), so text after a lone CR is code.
test('a lone CR ends a -- comment: what follows it is code, to the scanner as to the server', () => {
  assert.equal(kinds('SELECT 1 --x\rDELETE FROM t'), ['word:SELECT', 'number:1', 'lineComment:--x', 'newline:\r', 'word:DELETE', 'word:FROM', 'word:t']);
  assert.equal(words('SELECT 1 --x\r\nDELETE FROM t'), ['SELECT', 'DELETE', 'FROM', 't']);
  assert.equal(scanSql('a\rb\nc').filter((t) => t.kind === 'word').map((t) => t.line), [1, 1, 2], 'lines are counted at LF');
  const sneaky = 'SELECT 1 AS x --just a note\rALTER AVAILABILITY GROUP [dag1] FAILOVER;';
  assert.match(readOnlyProblem(sneaky) ?? '', /contains ALTER, which a plain read does not/);
  assert.not.ok(isSingleStatement('ALTER AVAILABILITY GROUP [dag1] FAILOVER --x\rDROP AVAILABILITY GROUP [ag1]'));
  assert.ok(isSingleStatement('ALTER AVAILABILITY GROUP [dag1] FAILOVER --x\r\n'), 'a CR LF still ends the comment and the line');
});

test('a -- comment holding U+0085, U+2028 or U+2029 is neither a plain read nor one statement (undocumented)', () => {
  for (const c of ['\u0085', '\u2028', '\u2029']) {
    const code = c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    assert.match(readOnlyProblem(`SELECT 1 --x${c}DELETE FROM t`) ?? '', new RegExp(`holds U\\+${code}, and whether SQL Server ends the comment there is not documented`));
    assert.not.ok(isSingleStatement(`ALTER AVAILABILITY GROUP [dag1] FAILOVER --x${c}DROP AVAILABILITY GROUP [ag1]`), code);
  }
  assert.is(readOnlyProblem("SELECT N'a\u2028b' AS s"), undefined, 'inside a string it is text');
});

// F15: an allow-list. A plain read is SELECT (or WITH ... SELECT) made of what a SELECT holds.
test('readOnlyProblem is an allow-list: control flow, messages, signatures, conversations and keys are not reads', () => {
  const bad: Array<[string, RegExp]> = [
    ['SELECT 1 WHILE 1=1 SELECT 2', /contains WHILE/],
    ["SELECT 1 RAISERROR('x',10,1) WITH LOG", /contains RAISERROR/],
    ['SELECT 1 ADD SIGNATURE TO dbo.p BY CERTIFICATE c', /contains ADD/],
    ["SELECT 1 ADD SENSITIVITY CLASSIFICATION TO dbo.t.c WITH (LABEL='x')", /contains ADD/],
    ["SELECT 1 END CONVERSATION 'x'", /contains END outside a CASE/],
    ['SELECT 1 MOVE CONVERSATION @h TO @g', /contains MOVE/],
    ["SELECT 1 OPEN MASTER KEY DECRYPTION BY PASSWORD = 'p'", /contains OPEN/],
    ['SELECT 1 IF 1 = 1 PRINT 2', /contains IF/],
    ['SELECT 1 GOTO done done: SELECT 2', /contains GOTO/],
    ['SELECT 1 x: SELECT 2', /label/],
    ['SELECT 1 CLOSE c DEALLOCATE c', /contains CLOSE/],
    ['SELECT 1 FETCH NEXT FROM c', /FETCH outside OFFSET/],
    ["SELECT 1 THROW 50001, 'x', 1", /contains THROW/],
    ['SELECT 1 RECEIVE TOP (1) * FROM q', /contains RECEIVE/],
    ['SELECT 1 ELSE SELECT 2', /contains ELSE outside a CASE/],
    ['SELECT * FROM OPENROWSET(BULK N\'x\', SINGLE_BLOB) AS b', /contains OPENROWSET/],
    ['SELECT 1 SET NOCOUNT ON', /contains SET/],
    ['SELECT name INTO #t FROM sys.databases', /contains INTO/],
    ['SELECT 1 DECLARE @x int', /contains DECLARE/],
    ['SELECT master.dbo.xp_cmdshell', /XP_CMDSHELL/],
  ];
  for (const [sql, why] of bad) assert.match(readOnlyProblem(sql) ?? '', why, sql);
});

test('readOnlyProblem: real reads pass (joins, CASE, EXISTS, CTEs, windows, OFFSET FETCH, FOR JSON, hints, VALUES, ::)', () => {
  const ok = [
    "SELECT CASE WHEN EXISTS (SELECT 1 FROM sys.availability_groups ag WHERE ag.name = N'x') THEN 0 ELSE 1 END AS done;",
    "SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS version, (SELECT COUNT(*) FROM sys.availability_replicas ar WHERE ar.availability_mode_desc <> 'SYNCHRONOUS_COMMIT') AS n;",
    'SELECT ag.name, rs.role_desc FROM sys.availability_groups ag LEFT OUTER JOIN sys.dm_hadr_availability_replica_states rs ON ag.group_id = rs.group_id WHERE rs.is_local = 1 AND ag.name IS NOT NULL',
    'WITH x AS (SELECT 1 AS a UNION ALL SELECT 2) SELECT TOP (1) a, ROW_NUMBER() OVER (PARTITION BY a ORDER BY a DESC) AS n FROM x ORDER BY a',
    'SELECT a FROM t ORDER BY a OFFSET 0 ROWS FETCH NEXT 5 ROWS ONLY OPTION (RECOMPILE)',
    'SELECT a FROM t WITH (NOLOCK) FOR JSON PATH',
    "SELECT v.a FROM (VALUES (1), (2)) AS v(a) WHERE v.a BETWEEN 1 AND 2 AND N'x' LIKE N'%' ESCAPE N'!'",
    "SELECT CONVERT(datetime2, LEFT(N'2024-01-01T00:00:00', 19), 126), DATEADD(second, DATEDIFF(second, GETUTCDATE(), GETDATE()) - 60, GETDATE())",
    'SELECT geography::Point(1, 2, 4326).STAsText() AS p, CURRENT_TIMESTAMP AS t, SYSTEM_USER AS u',
    "SELECT CASE a WHEN 1 THEN 'one' ELSE CASE WHEN b = 2 THEN 'two' END END FROM t",
  ];
  for (const sql of ok) assert.is(readOnlyProblem(sql), undefined, sql);
});

test('isSingleStatement: ADD SIGNATURE, ADD COUNTER SIGNATURE and ADD SENSITIVITY CLASSIFICATION start statements of their own', () => {
  assert.not.ok(isSingleStatement("ALTER AVAILABILITY GROUP [dag1] FAILOVER ADD SENSITIVITY CLASSIFICATION TO dbo.t.c WITH (LABEL='x')"));
  assert.not.ok(isSingleStatement('ALTER AVAILABILITY GROUP [dag1] FAILOVER ADD SIGNATURE TO dbo.p BY CERTIFICATE c'));
  assert.not.ok(isSingleStatement('ALTER AVAILABILITY GROUP [dag1] FAILOVER ADD COUNTER SIGNATURE TO dbo.p BY CERTIFICATE c'));
  assert.not.ok(isSingleStatement('ALTER TABLE t ADD SIGNATURE TO dbo.p BY CERTIFICATE c'), 'even as the first ADD');
  assert.ok(isSingleStatement('ALTER AVAILABILITY GROUP [x] ADD DATABASE [db]'), 'ADD DATABASE is ALTER\'s own');
  assert.ok(isSingleStatement("THROW 50001, N'x', 1;"), 'a THROW alone only raises its error');
});

test('a text scanned again gives the same tokens, shared and frozen', () => {
  const sql = "SELECT 1 -- a\nGO\nSELECT N'x'";
  const first = scanSql(sql);
  assert.is(scanSql(sql), first, 'the second scan is the first one');
  assert.ok(Object.isFrozen(first));
  assert.equal(scanSql(`${sql} `).map((t) => t.text).join(''), `${sql} `, 'another text is scanned for itself');
});

test.run();
