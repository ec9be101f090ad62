// The engine's one T-SQL scanner and what is derived from it: the tokens themselves, the
// read-only check `plan --probe` relies on and the single-statement check behind "nothing took
// effect". Strings, N'...', [brackets]] and "quoted" identifiers, nested and unterminated
// comments, and the attack strings of issue 9 (`'--'`, `'/*'` inside string literals).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { scanSql, type SqlToken } from '../../../engine/drivers/sql/scanner.js';
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
  const lines = (t: SqlToken[]) => t.filter((x) => x.kind !== 'space').map((x) => x.line);
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

test.run();
