"""SQLite's CREATE TABLE statement, read as tokens and edited one column at a time.

A table rebuild must keep everything the app wrote that the operation does
not target: other columns, table constraints, comments, WITHOUT ROWID,
STRICT, generated columns, the author's quoting and case. So nothing here
regenerates a statement: ``read_create_table`` tokenizes the stored text
the way SQLite's own tokenizer does (strings, the four identifier quotings,
both comment forms, nested parentheses) and records where each column
definition and each of its constraints starts and ends; the edits then
splice new text into those spans only. No regular expression ever looks at
a whole statement.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = ["ColumnDefinition", "Constraint", "DdlError", "TableDefinition", "mentions", "read_create_table", "tokenize"]


class DdlError(ValueError):
    """The statement is not a CREATE TABLE this module understands; the message says what and where."""


class Token:
    """One token of SQL: ``kind`` is space, comment, string, quoted, word, number, blob or op."""

    __slots__ = ("end", "kind", "start", "text")

    def __init__(self, kind: str, text: str, start: int, end: int) -> None:
        self.kind, self.text, self.start, self.end = kind, text, start, end

    def __repr__(self) -> str:
        return f"<{self.kind} {self.text!r}@{self.start}>"

    @property
    def keyword(self) -> str:
        """The upper-cased word for a bare word, else "" (a quoted name is never a keyword)."""
        return self.text.upper() if self.kind == "word" else ""

    @property
    def is_name(self) -> bool:
        # SQLite accepts a 'string' where it expects a name, for compatibility.
        return self.kind in ("word", "quoted", "string")

    @property
    def name(self) -> str:
        """The identifier this token spells, quotes removed."""
        text = self.text
        if self.kind == "string":
            return text[1:-1].replace("''", "'")
        if self.kind == "quoted":
            if text[0] == "[":
                return text[1:-1]
            return text[1:-1].replace(text[0] * 2, text[0])
        return text


_OPERATORS = ("||", "==", "!=", "<>", "<=", ">=", "<<", ">>", "->>", "->")


def tokenize(sql: str) -> list[Token]:
    """Every token of ``sql``, whitespace and comments included, so the spans cover the text exactly."""
    tokens: list[Token] = []
    position, length = 0, len(sql)
    while position < length:
        start, char = position, sql[position]
        if char in " \t\n\r\f":
            while position < length and sql[position] in " \t\n\r\f":
                position += 1
            kind = "space"
        elif sql.startswith("--", position):
            newline = sql.find("\n", position)
            position = length if newline < 0 else newline + 1
            kind = "comment"
        elif sql.startswith("/*", position):
            close = sql.find("*/", position + 2)
            position = length if close < 0 else close + 2  # SQLite accepts a comment left open at the end
            kind = "comment"
        elif char in "'\"`":
            position = _closing_quote(sql, position, char)
            kind = "string" if char == "'" else "quoted"
        elif char == "[":
            close = sql.find("]", position)
            if close < 0:
                raise DdlError(f"an identifier opened with '[' at character {start} is never closed")
            position = close + 1
            kind = "quoted"
        elif char in "xX" and sql.startswith("'", position + 1):
            position = _closing_quote(sql, position + 1, "'")
            kind = "blob"
        elif char.isdigit() or (char == "." and position + 1 < length and sql[position + 1].isdigit()):
            position += 1
            while position < length and (
                sql[position].isalnum()
                or sql[position] in "._"
                or (
                    sql[position] in "+-"
                    and sql[position - 1] in "eE"
                    and not sql[start:position].lower().startswith("0x")
                )
            ):
                position += 1
            kind = "number"
        elif char.isalpha() or char == "_" or ord(char) > 127:
            while position < length and (sql[position].isalnum() or sql[position] in "_$" or ord(sql[position]) > 127):
                position += 1
            kind = "word"
        else:
            operator = next((op for op in _OPERATORS if sql.startswith(op, position)), char)
            position += len(operator)
            kind = "op"
        tokens.append(Token(kind, sql[start:position], start, position))
    return tokens


def _closing_quote(sql: str, position: int, quote: str) -> int:
    """The offset just past the quote that closes the one at ``position`` (a doubled quote is an escape)."""
    index = position + 1
    while True:
        index = sql.find(quote, index)
        if index < 0:
            raise DdlError(f"the quote {quote} opened at character {position} is never closed")
        if sql.startswith(quote * 2, index):
            index += 2
            continue
        return index + 1


class Constraint:
    """One column constraint: ``kind`` (e.g. "not null", "default") and its span in the statement."""

    __slots__ = ("end", "kind", "start", "tokens")

    def __init__(self, kind: str, tokens: Sequence[Token]) -> None:
        self.kind, self.tokens = kind, list(tokens)
        self.start, self.end = tokens[0].start, tokens[-1].end

    def __repr__(self) -> str:
        return f"<Constraint {self.kind} {self.start}:{self.end}>"


class ColumnDefinition:
    """A column definition of CREATE TABLE: its name, its type's span and its constraints."""

    def __init__(
        self, name_token: Token, type_tokens: Sequence[Token], constraints: Sequence[Constraint], last: Token, sql: str
    ) -> None:
        self.name_token = name_token
        self.name = name_token.name
        self.type_tokens = list(type_tokens)
        #: The declared type as written ("" when there is none), e.g. "varchar(255)".
        self.type = sql[type_tokens[0].start : type_tokens[-1].end] if type_tokens else ""
        self.constraints = list(constraints)
        self.end = last.end  # after the definition's last token (comments after it stay where they are)
        self.comma: Token | None = None  # set by read_create_table

    def find(self, kind: str) -> list[Constraint]:
        return [constraint for constraint in self.constraints if constraint.kind == kind]

    @property
    def not_null(self) -> bool:
        return bool(self.find("not null"))

    @property
    def generated(self) -> bool:
        return bool(self.find("generated"))


class TableDefinition:
    """A parsed CREATE TABLE statement; every edit returns a new statement text and keeps the rest as written."""

    def __init__(self, sql: str, name_token: Token, columns: list[ColumnDefinition], options: list[Token]) -> None:
        self.sql = sql
        self.name_token = name_token
        self.name = name_token.name
        self.columns = columns
        keywords = [token.keyword for token in options]
        self.without_rowid = "WITHOUT" in keywords
        self.strict = "STRICT" in keywords

    def column(self, name: str) -> ColumnDefinition | None:
        """The definition of ``name``, compared as SQLite compares names (ASCII case-insensitively)."""
        wanted = name.lower()
        return next((column for column in self.columns if column.name.lower() == wanted), None)

    def splice(self, edits: Iterable[tuple[int, int, str]]) -> str:
        """The statement with each (start, end, text) span replaced, everything else as written."""
        text, last = [], 0
        for start, end, replacement in sorted(edits):
            text.append(self.sql[last:start])
            text.append(replacement)
            last = end
        text.append(self.sql[last:])
        return "".join(text)

    def renamed(self, name: str, sql: str | None = None) -> str:
        """``sql`` (default: this statement) creating a table called ``name`` instead; the edit keeps the span."""
        sql = self.sql if sql is None else sql
        token = self.name_token
        return sql[: token.start] + quote_name(name) + sql[token.end :]

    # Edits of one column --------------------------------------------------------------
    def removing(self, constraints: Sequence[Constraint]) -> list[tuple[int, int, str]]:
        """Edits that delete each of ``constraints``, with the blanks just before each."""
        edits = []
        for constraint in constraints:
            start = constraint.start
            while start > 0 and self.sql[start - 1] in " \t\r\n\f":
                start -= 1
            edits.append((start, constraint.end, ""))
        return edits

    def appending(self, column: ColumnDefinition, text: str) -> list[tuple[int, int, str]]:
        """The edit adding ``text`` (e.g. "NOT NULL") at the end of ``column``'s definition."""
        return [(column.end, column.end, " " + text)]

    def dropping(self, column: ColumnDefinition) -> list[tuple[int, int, str]]:
        """Edits that delete ``column``'s definition and one comma next to it; comments around it stay."""
        if column.comma is None:
            raise DdlError(f"column {column.name!r} is the table's only column")
        return [(column.name_token.start, column.end, ""), (column.comma.start, column.comma.end, "")]

    def replacing_type(self, column: ColumnDefinition, type_text: str) -> list[tuple[int, int, str]]:
        if column.type_tokens:
            return [(column.type_tokens[0].start, column.type_tokens[-1].end, type_text)]
        return [(column.name_token.end, column.name_token.end, " " + type_text)]

    def replacing(self, column: ColumnDefinition, kind: str, text: str) -> list[tuple[int, int, str]]:
        """Edits putting ``text`` in place of the ``kind`` constraint (or after the definition if it has none)."""
        found = column.find(kind)
        if not found:
            return self.appending(column, text)
        return [(found[0].start, found[0].end, text), *self.removing(found[1:])]


def mentions(sql: str, name: str) -> bool:
    """Whether ``sql`` spells the identifier ``name`` anywhere (any quoting, any case), strings and comments aside."""
    wanted = name.lower()
    return any(token.kind in ("word", "quoted") and token.name.lower() == wanted for token in tokenize(sql))


def quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# Reading ---------------------------------------------------------------------------------
_COLUMN_CONSTRAINT_STARTS = frozenset(
    {"CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT", "COLLATE", "REFERENCES", "GENERATED", "AS"}
)
_TABLE_CONSTRAINT_STARTS = frozenset({"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"})
_CONFLICT_RESOLUTIONS = frozenset({"ROLLBACK", "ABORT", "FAIL", "IGNORE", "REPLACE"})


def read_create_table(sql: str) -> TableDefinition:
    """Parse the CREATE TABLE statement ``sql`` as stored in sqlite_master; DdlError saying what it could not read."""
    tokens = [token for token in tokenize(sql) if token.kind not in ("space", "comment")]
    reader = _Reader(tokens, sql)
    reader.expect("CREATE")
    if reader.peek_keyword() in ("TEMP", "TEMPORARY"):
        reader.next()
    reader.expect("TABLE")
    if reader.peek_keyword() == "IF":
        reader.expect("IF"), reader.expect("NOT"), reader.expect("EXISTS")
    name_token = reader.name("the table's name")
    if reader.peek_text() == ".":  # schema.table
        reader.next()
        name_token = reader.name("the table's name")
    if reader.peek_text() != "(":
        raise DdlError(
            f"{reader.describe()} where the list of columns in parentheses should start "
            "(CREATE TABLE ... AS SELECT cannot be edited)"
        )
    open_paren = reader.next()
    close = _matching_paren(tokens, reader.index - 1, sql)
    columns = []
    parts, commas = _split_top_level(tokens[reader.index : close], open_paren, sql)
    for index, part in enumerate(parts):
        if part[0].keyword in _TABLE_CONSTRAINT_STARTS:
            continue  # a table constraint: kept as written, never edited here
        column = _read_column(part, sql)
        # The comma that separates it from its neighbour: the one after it, or before it if it is last.
        column.comma = commas[index] if index < len(commas) else commas[index - 1] if commas else None
        columns.append(column)
    if not columns:
        raise DdlError("no column definitions between the parentheses")
    return TableDefinition(sql, name_token, columns, tokens[close + 1 :])


def _matching_paren(tokens: Sequence[Token], index: int, sql: str) -> int:
    depth = 0
    for position in range(index, len(tokens)):
        text = tokens[position].text
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
            if depth == 0:
                return position
    raise DdlError(f"the parenthesis opened at {_near(sql, tokens[index].start)} is never closed")


def _split_top_level(tokens: Sequence[Token], open_paren: Token, sql: str) -> tuple[list[list[Token]], list[Token]]:
    """The comma-separated items of a parenthesised list and the commas between them (not those nested deeper)."""
    parts: list[list[Token]] = [[]]
    commas: list[Token] = []
    depth = 0
    for token in tokens:
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        if token.text == "," and depth == 0:
            if not parts[-1]:
                raise DdlError(f"an empty definition (two commas) at {_near(sql, token.start)}")
            parts.append([])
            commas.append(token)
        else:
            parts[-1].append(token)
    if not parts[-1]:
        raise DdlError(
            f"a comma with no definition after it, before {_near(sql, open_paren.start)}'s closing parenthesis"
        )
    return parts, commas


def _near(sql: str, offset: int) -> str:
    line = sql.count("\n", 0, offset) + 1
    snippet = " ".join(sql[offset : offset + 30].split())
    return f"line {line} ({snippet!r})"


class _Reader:
    """A cursor over significant tokens, with the few look-aheads SQLite's grammar needs here."""

    def __init__(self, tokens: Sequence[Token], sql: str) -> None:
        self.tokens, self.sql, self.index = tokens, sql, 0

    def at_end(self) -> bool:
        return self.index >= len(self.tokens)

    def peek_keyword(self, ahead: int = 0) -> str:
        index = self.index + ahead
        return self.tokens[index].keyword if index < len(self.tokens) else ""

    def peek_text(self) -> str:
        return self.tokens[self.index].text if self.index < len(self.tokens) else ""

    def describe(self) -> str:
        if self.at_end():
            return "the end of the definition"
        token = self.tokens[self.index]
        return f"{token.text!r} at {_near(self.sql, token.start)}"

    def next(self) -> Token:
        if self.at_end():
            raise DdlError("the definition ends too early")
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, keyword: str) -> Token:
        if self.peek_keyword() != keyword:
            raise DdlError(f"{self.describe()} where {keyword} was expected")
        return self.next()

    def name(self, what: str) -> Token:
        if self.at_end() or not self.tokens[self.index].is_name:
            raise DdlError(f"{self.describe()} where {what} was expected")
        return self.next()

    def parenthesised(self, what: str) -> None:
        """Skip ``( ... )``, nested parentheses included."""
        if self.peek_text() != "(":
            raise DdlError(f"{self.describe()} where '(' starting {what} was expected")
        self.index = _matching_paren(self.tokens, self.index, self.sql) + 1

    def conflict_clause(self) -> None:
        if self.peek_keyword() == "ON" and self.peek_keyword(1) == "CONFLICT":
            self.index += 2
            if self.peek_keyword() not in _CONFLICT_RESOLUTIONS:
                raise DdlError(f"{self.describe()} where ROLLBACK, ABORT, FAIL, IGNORE or REPLACE was expected")
            self.next()

    def foreign_key_clause(self) -> None:
        self.name("the referenced table")
        if self.peek_text() == "(":
            self.parenthesised("the referenced columns")
        while not self.at_end():
            keyword = self.peek_keyword()
            if keyword == "ON" and self.peek_keyword(1) in ("DELETE", "UPDATE"):
                self.index += 2
                action = self.next().keyword
                if action in ("SET", "NO"):
                    self.next()
                elif action not in ("CASCADE", "RESTRICT"):
                    raise DdlError(
                        f"{self.tokens[self.index - 1].text!r} is not a foreign-key action "
                        "(SET NULL, SET DEFAULT, CASCADE, RESTRICT, NO ACTION)"
                    )
            elif keyword == "MATCH":
                self.index += 1
                self.name("a MATCH name")
            elif keyword == "DEFERRABLE" or (keyword == "NOT" and self.peek_keyword(1) == "DEFERRABLE"):
                self.index += 1 if keyword == "DEFERRABLE" else 2
                if self.peek_keyword() == "INITIALLY":
                    self.index += 1
                    if self.peek_keyword() not in ("DEFERRED", "IMMEDIATE"):
                        raise DdlError(f"{self.describe()} where DEFERRED or IMMEDIATE was expected")
                    self.next()
            else:
                return


def _read_column(part: list[Token], sql: str) -> ColumnDefinition:
    reader = _Reader(part, sql)
    name_token = reader.name("a column name")
    type_start = reader.index
    while not reader.at_end() and reader.peek_keyword() not in _COLUMN_CONSTRAINT_STARTS:
        if reader.peek_text() == "(":
            reader.parenthesised("the type's size")
        elif reader.tokens[reader.index].is_name or reader.peek_text() in ("+", "-"):
            reader.next()
        else:
            raise DdlError(f"{reader.describe()} in the type of column {name_token.name!r}")
    type_tokens = part[type_start : reader.index]
    constraints = []
    while not reader.at_end():
        first = reader.index
        if reader.peek_keyword() == "CONSTRAINT":
            reader.next()
            reader.name("the constraint's name")
        keyword = reader.peek_keyword()
        if keyword not in _COLUMN_CONSTRAINT_STARTS or keyword == "CONSTRAINT":
            raise DdlError(f"{reader.describe()} where a constraint of column {name_token.name!r} was expected")
        reader.next()
        if keyword == "PRIMARY":
            reader.expect("KEY")
            if reader.peek_keyword() in ("ASC", "DESC"):
                reader.next()
            reader.conflict_clause()
            if reader.peek_keyword() == "AUTOINCREMENT":
                reader.next()
            kind = "primary key"
        elif keyword == "NOT":
            reader.expect("NULL")
            reader.conflict_clause()
            kind = "not null"
        elif keyword in ("NULL", "UNIQUE"):
            reader.conflict_clause()
            kind = keyword.lower()
        elif keyword == "CHECK":
            reader.parenthesised("the CHECK expression")
            kind = "check"
        elif keyword == "DEFAULT":
            if reader.peek_text() == "(":
                reader.parenthesised("the DEFAULT expression")
            else:
                if reader.peek_text() in ("+", "-"):
                    reader.next()
                value = reader.next()
                if value.kind == "op":
                    raise DdlError(f"{value.text!r} at {_near(sql, value.start)} is not a DEFAULT value")
            kind = "default"
        elif keyword == "COLLATE":
            reader.name("a collation name")
            kind = "collate"
        elif keyword == "REFERENCES":
            reader.foreign_key_clause()
            kind = "references"
        else:  # [GENERATED ALWAYS] AS (expr) [STORED | VIRTUAL]
            if keyword == "GENERATED":
                reader.expect("ALWAYS")
                reader.expect("AS")
            reader.parenthesised("the generated column's expression")
            if reader.peek_keyword() in ("STORED", "VIRTUAL"):
                reader.next()
            kind = "generated"
        constraints.append(Constraint(kind, part[first : reader.index]))
    return ColumnDefinition(name_token, type_tokens, constraints, part[-1], sql)
