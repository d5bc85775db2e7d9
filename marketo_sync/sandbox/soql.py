"""The SOQL subset that API clients send: a lark grammar, validated against the schema and
compiled to SQLite SQL. Errors carry Salesforce's error codes (MALFORMED_QUERY, INVALID_FIELD,
INVALID_TYPE, ...), never a Python traceback.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, VisitError

from marketo_sync.salesforce.ids import InvalidSalesforceId, normalize_sfdc_id
from marketo_sync.sandbox.schema import NUMBER_TYPES, STRING_TYPES, Field, SObject, sobject

ADDRESS_KEYS = ("street", "city", "state", "postalCode", "country")

GRAMMAR = r"""
    start: "SELECT"i select_list "FROM"i NAME where? order? limit? offset?
    select_list: count | path ("," path)*
    count: "COUNT"i "(" ")"
    path: NAME ("." NAME)*
    where: "WHERE"i condition
    ?condition: or_expr
    or_expr: and_expr ("OR"i and_expr)*
    and_expr: unary ("AND"i unary)*
    ?unary: not_expr | atom
    not_expr: "NOT"i atom
    ?atom: "(" condition ")" -> group
         | comparison
    comparison: path OP value                          -> compare
              | path "LIKE"i value                     -> like
              | path "IN"i "(" value ("," value)* ")"  -> in_list
              | path "NOT"i "IN"i "(" value ("," value)* ")" -> not_in_list
    value: STRING -> string
         | DATETIME -> datetime
         | DATE -> date
         | SIGNED_NUMBER -> number
         | "TRUE"i -> true
         | "FALSE"i -> false
         | "NULL"i -> null
    order: "ORDER"i "BY"i order_item ("," order_item)*
    order_item: path DIRECTION? NULLS?
    DIRECTION: /(ASC|DESC)\b/i
    NULLS: /NULLS\s+(FIRST|LAST)\b/i
    limit: "LIMIT"i INT
    offset: "OFFSET"i INT
    OP: "!=" | "<>" | "<=" | ">=" | "=" | "<" | ">"
    STRING: /'(\\.|[^'\\])*'/
    DATETIME.3: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})/
    DATE.2: /\d{4}-\d{2}-\d{2}/
    NAME: /[A-Za-z][A-Za-z0-9_]*/
    %import common.SIGNED_NUMBER
    %import common.INT
    %import common.WS
    %ignore WS
"""

_PARSER = Lark(GRAMMAR, parser="lalr", maybe_placeholders=False)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
MAX_OFFSET = 2000
MAX_LIMIT = 2**31 - 1
SQLITE_INTEGER = range(-(2**63), 2**63)
SYSTEM_CODES = {"INVALID_FIELD", "MALFORMED_QUERY", "INVALID_TYPE"}
MAX_NESTING = 40
_PAREN_OR_STRING = re.compile(r"'(?:\\.|[^'\\])*'|[()]")


class SoqlError(Exception):
    """A query Salesforce would refuse: `code` is its errorCode."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Literal:
    kind: str  # string | datetime | date | number | boolean | null
    value: Any  # str, datetime, date, int or float, bool or None: its type follows `kind`


@dataclass
class Query:
    object_name: str
    paths: list[tuple[str, ...]]
    is_count: bool
    where: tuple | None
    order: list[tuple[tuple[str, ...], bool, str | None]]
    limit: int | None
    offset: int | None
    source: str = ""


def _unescape(raw: str) -> str:
    body = raw[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


def _parse_datetime(text: str) -> datetime:
    normalized = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", normalized):
        normalized = normalized[:-2] + ":" + normalized[-2:]
    return datetime.fromisoformat(normalized).astimezone(UTC)


@v_args(inline=True)
class _Build(Transformer):
    def start(self, select, name, *clauses):
        query = Query(str(name), [], False, None, [], None, None)
        if select == "COUNT":
            query.is_count = True
        else:
            query.paths = select
        for kind, value in clauses:
            setattr(query, kind, value)
        return query

    def select_list(self, *items):
        return "COUNT" if items and items[0] == "COUNT" else list(items)

    def count(self):
        return "COUNT"

    def path(self, *names):
        return tuple(str(n) for n in names)

    def where(self, condition):
        return ("where", condition)

    def or_expr(self, *items):
        if len(items) == 1:
            return items[0]
        if any(isinstance(i, tuple) and i[0] == "and" for i in items):
            raise SoqlError("MALFORMED_QUERY", "unexpected token: 'OR'")
        return ("or", list(items))

    def and_expr(self, *items):
        return items[0] if len(items) == 1 else ("and", list(items))

    def not_expr(self, item):
        return ("not", item)

    def group(self, condition):
        return ("group", condition)

    def compare(self, path, op, value):
        return ("cmp", path, "!=" if str(op) == "<>" else str(op), value)

    def like(self, path, value):
        return ("like", path, value)

    def in_list(self, path, *values):
        return ("in", path, list(values))

    def not_in_list(self, path, *values):
        return ("not in", path, list(values))

    def string(self, token):
        return Literal("string", _unescape(str(token)))

    def datetime(self, token):
        return Literal("datetime", _parse_datetime(str(token)))

    def date(self, token):
        return Literal("date", date.fromisoformat(str(token)))

    def number(self, token):
        """Integers SQLite cannot bind compare as floats (1e23 simply matches nothing)."""
        text = str(token)
        if "." in text:
            return Literal("number", float(text))
        value = int(text)
        return Literal("number", value if value in SQLITE_INTEGER else float(text))

    def true(self):
        return Literal("boolean", True)

    def false(self):
        return Literal("boolean", False)

    def null(self):
        return Literal("null", None)

    def order(self, *items):
        return ("order", list(items))

    def order_item(self, path, *modifiers):
        descending = False
        nulls = None
        for modifier in modifiers:
            text = str(modifier).upper()
            if text in {"ASC", "DESC"}:
                descending = text == "DESC"
            else:
                nulls = text.split()[-1]
        return (path, descending, nulls)

    def limit(self, token):
        value = int(token)
        if value > MAX_LIMIT:
            raise SoqlError("MALFORMED_QUERY", f"LIMIT {token}: expected a 32-bit integer")
        return ("limit", value)

    def offset(self, token):
        return ("offset", int(token))


def parse(soql: str) -> Query:
    """Parse SOQL text into a Query, or raise SoqlError(MALFORMED_QUERY)."""
    if nesting_depth(soql) > MAX_NESTING:
        raise SoqlError(
            "MALFORMED_QUERY", f"the query nests parentheses deeper than {MAX_NESTING} levels"
        )
    try:
        tree = _PARSER.parse(soql)
        query = _Build().transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, SoqlError):
            raise exc.orig_exc from None
        raise SoqlError("MALFORMED_QUERY", f"\n{soql}\nunexpected token") from None
    except LarkError as exc:
        token = getattr(exc, "token", None)
        near = f"'{token}'" if isinstance(token, Token) else "end of query"
        raise SoqlError("MALFORMED_QUERY", f"\n{soql}\nunexpected token: {near}") from None
    query.source = soql
    return query


def nesting_depth(soql: str) -> int:
    """The deepest parenthesis nesting outside string literals: the parser's tree, and the
    compiler walking it, recurse once per level."""
    depth = deepest = 0
    for match in _PAREN_OR_STRING.finditer(soql):
        if match.group() == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif match.group() == ")":
            depth -= 1
    return deepest


@dataclass
class Compiled:
    """SQL for one query: the select list, the FROM with joins, WHERE, ORDER BY, parameters."""

    sobject: SObject
    columns: list[tuple[tuple[str, ...], Field]]
    sql_from: str
    sql_where: str
    sql_order: str
    params: list = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None
    is_count: bool = False


def invalid_field(name: str, sobj: SObject, soql: str) -> SoqlError:
    return SoqlError(
        "INVALID_FIELD",
        f"\n{soql}\nNo such column '{name}' on entity '{sobj.name}'. If you are attempting to "
        "use a custom field, be sure to append the '__c' after the custom field name. Please "
        "reference your WSDL or the describe call for the appropriate names.",
    )


class _Compiler:
    def __init__(self, query: Query, include_deleted: bool) -> None:
        target = sobject(query.object_name)
        if target is None:
            raise SoqlError(
                "INVALID_TYPE", f"sObject type '{query.object_name}' is not supported."
            )
        self.query = query
        self.sobject = target
        self.include_deleted = include_deleted
        self.joins: dict[str, tuple[str, Field, SObject]] = {}
        self.params: list = []

    def resolve(self, path: tuple[str, ...]) -> tuple[str, Field]:
        """SQL column expression and field for `Field` or `Relationship.Field`."""
        if len(path) == 1:
            found = self.sobject.field(path[0]) or self.sobject.compound(path[0])
            if found is None:
                raise invalid_field(path[0], self.sobject, self.query.source)
            return column_sql("t", found), found
        if len(path) != 2:
            raise invalid_field(".".join(path), self.sobject, self.query.source)
        lookup = self.sobject.relationship(path[0])
        if lookup is None:
            raise SoqlError(
                "INVALID_FIELD",
                f"\n{self.query.source}\nDidn't understand relationship '{path[0]}' in field "
                f"path. If you are attempting to use a custom relationship, be sure to append "
                f"the '__r' after the custom relationship name.",
            )
        parent = sobject(lookup.reference_to or "")
        assert parent is not None
        found = parent.field(path[1]) or parent.compound(path[1])
        if found is None:
            raise invalid_field(path[1], parent, self.query.source)
        alias = f"j_{lookup.relationship}"
        self.joins[lookup.relationship or ""] = (alias, lookup, parent)
        return column_sql(alias, found), found

    def filterable(self, path: tuple[str, ...]) -> tuple[str, Field]:
        """A field a WHERE or ORDER BY may use: compound fields cannot be."""
        column, target = self.resolve(path)
        if target.type == "address":
            raise SoqlError(
                "INVALID_FIELD",
                f"\n{self.query.source}\nfield '{target.name}' can not be filtered or sorted "
                "in a query call",
            )
        return column, target

    def literal(self, target: Field, value: Literal) -> object:
        """Check a literal against the field's type, as Salesforce does, and convert it."""
        kind, ftype = value.kind, target.type
        if kind == "null":
            return None
        if ftype == "datetime":
            if kind != "datetime":
                raise SoqlError(
                    "INVALID_FIELD",
                    f"\n{self.query.source}\nvalue of filter criterion for field "
                    f"'{target.name}' must be of type dateTime and should not be enclosed in "
                    "quotes",
                )
            return int(value.value.timestamp() * 1000)
        if ftype == "date":
            if kind != "date":
                raise SoqlError(
                    "INVALID_FIELD",
                    f"\n{self.query.source}\nvalue of filter criterion for field "
                    f"'{target.name}' must be of type date and should not be enclosed in quotes",
                )
            return value.value.isoformat()
        if ftype == "boolean":
            if kind != "boolean":
                raise SoqlError(
                    "INVALID_FIELD",
                    f"\n{self.query.source}\nvalue of filter criterion for field "
                    f"'{target.name}' must be of type boolean and should not be enclosed in "
                    "quotes",
                )
            return int(value.value)
        if ftype in NUMBER_TYPES:
            if kind != "number":
                raise SoqlError(
                    "INVALID_FIELD",
                    f"\n{self.query.source}\nvalue of filter criterion for field "
                    f"'{target.name}' must be of type {ftype} and should not be enclosed in "
                    "quotes",
                )
            return value.value
        if kind != "string":
            raise SoqlError(
                "INVALID_FIELD",
                f"\n{self.query.source}\nvalue of filter criterion for field '{target.name}' "
                "must be of type string and should be enclosed in quotes",
            )
        if ftype in {"id", "reference"} and len(value.value) == 15:
            try:
                return normalize_sfdc_id(value.value)
            except InvalidSalesforceId:
                return value.value
        return value.value

    def condition(self, node: tuple) -> str:
        kind = node[0]
        if kind in {"and", "or"}:
            return "(" + f" {kind.upper()} ".join(self.condition(n) for n in node[1]) + ")"
        if kind == "not":
            return f"(NOT {self.condition(node[1])})"
        if kind == "group":
            return self.condition(node[1])
        column, target = self.filterable(node[1])
        text_like = target.type in STRING_TYPES - {"id", "reference"}
        collate = " COLLATE NOCASE" if text_like else ""
        if kind == "like":
            if not text_like:
                raise SoqlError(
                    "INVALID_FIELD",
                    f"\n{self.query.source}\ninvalid operator on {target.type} field",
                )
            self.params.append(str(self.literal(target, node[2])))
            return f"({column} LIKE ? ESCAPE '\\')"
        if kind in {"in", "not in"}:
            values = [self.literal(target, v) for v in node[2]]
            self.params.extend(values)
            marks = ", ".join("?" * len(values))
            negation = "NOT " if kind == "not in" else ""
            return f"({column}{collate} {negation}IN ({marks}))"
        op, value = node[2], self.literal(target, node[3])
        if value is None:
            if op not in {"=", "!="}:
                raise SoqlError("INVALID_FIELD", f"\n{self.query.source}\ninvalid null compare")
            return f"({column} IS {'NOT ' if op == '!=' else ''}NULL)"
        self.params.append(value)
        if op == "!=":
            return f"({column} IS NULL OR {column}{collate} != ?)"
        return f"({column}{collate} {op} ?)"

    def refuse_duplicates(self, columns: list[tuple[tuple[str, ...], Field]]) -> None:
        """Salesforce refuses a field selected twice, whatever its spelling or case."""
        seen: set[tuple[str, ...]] = set()
        for path, spec in columns:
            key = (*(part.lower() for part in path[:-1]), spec.name.lower())
            if key in seen:
                name = ".".join([*path[:-1], spec.name])
                raise SoqlError(
                    "MALFORMED_QUERY",
                    f"\n{self.query.source}\nduplicate field selected: {name}",
                )
            seen.add(key)

    def compile(self) -> Compiled:
        query = self.query
        if query.offset is not None and query.offset > MAX_OFFSET:
            raise SoqlError(
                "NUMBER_OUTSIDE_VALID_RANGE",
                f"Maximum SOQL offset allowed is {MAX_OFFSET}",
            )
        columns = [(path, self.resolve(path)[1]) for path in query.paths]
        if not query.is_count and not columns:
            raise SoqlError("MALFORMED_QUERY", "SELECT list is empty")
        self.refuse_duplicates(columns)
        conditions = [] if self.include_deleted else ['t."IsDeleted" = 0']
        if query.where is not None:
            conditions.append(self.condition(query.where))
        order_sql = []
        for path, descending, nulls in query.order:
            column, target = self.filterable(path)
            collate = " COLLATE NOCASE" if target.type in STRING_TYPES - {"id", "reference"} else ""
            direction = " DESC" if descending else ""
            null_clause = f" NULLS {nulls}" if nulls else ""
            order_sql.append(f"{column}{collate}{direction}{null_clause}")
        joins = " ".join(
            f'LEFT JOIN "{parent.name}" {alias} ON {alias}."Id" = t."{lookup.name}"'
            for alias, lookup, parent in self.joins.values()
        )
        return Compiled(
            sobject=self.sobject,
            columns=columns,
            sql_from=f'"{self.sobject.name}" t {joins}',
            sql_where=" AND ".join(conditions) or "1",
            sql_order=", ".join([*order_sql, "t.rowid"]),
            params=self.params,
            limit=query.limit,
            offset=query.offset,
            is_count=query.is_count,
        )


def column_sql(alias: str, spec: Field) -> str:
    """The SQL for a selected field; a compound address is built from its parts as the JSON
    object Salesforce returns."""
    if not spec.components:
        return f'{alias}."{spec.name}"'
    parts = ", ".join(
        f"'{key}', {alias}.\"{name}\""
        for key, name in zip(ADDRESS_KEYS, spec.components, strict=True)
    )
    return f"json_object({parts})"


def compile_query(soql: str, include_deleted: bool) -> Compiled:
    return _Compiler(parse(soql), include_deleted).compile()
