"""Cells that are safe to open in a spreadsheet, and read back exactly.

A spreadsheet program runs a CSV cell that starts with `=`, `+`, `-` or `@` (or a tab or
carriage return before one) as a formula: a record whose title is `=HYPERLINK(...)` or
`=cmd|...` would run in the reader's Excel ("CSV injection"). Following OWASP's advice,
such a cell is written with a leading apostrophe, which spreadsheet programs take as
"this is text" and do not show. The rule is reversible, so our own files read back
exactly on re-import: a cell is quoted when it starts with one of those characters, or
with apostrophes followed by one (so a value that itself starts with `'=` survives the
round trip), and `restore()` removes exactly that one apostrophe.

Written by hand: import-export's `IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT` deletes the
`=` (so a re-import changes the value) and leaves `+`, `-` and `@`.

XLSX cells are typed: a string is never a formula there (core/resources.py writes a
string that starts with `=` as rich text, which openpyxl would otherwise store as a
formula), so workbooks carry values unchanged.
"""

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

# The byte order mark that makes Excel read a CSV file as UTF-8.
BOM = "\ufeff"


def _needs_quote(value: str) -> bool:
    rest = value.lstrip("'")
    return rest.startswith(TRIGGERS)


def neutralise(value):
    """The cell to write for `value`: strings a spreadsheet would run get a leading `'`."""
    if isinstance(value, str) and _needs_quote(value):
        return "'" + value
    return value


def restore(value):
    """The value a cell written by `neutralise()` stands for."""
    if isinstance(value, str) and value.startswith("'") and _needs_quote(value[1:]):
        return value[1:]
    return value


def names_cell(names) -> str:
    """A multi-valued names column (`partner_names`, ...): the names in the order of the
    codes column beside it, joined with "; ". A ";" inside a name is written "\\;" (and a
    backslash "\\\\"), so splitting on the unescaped "; " gives one name per code."""
    return "; ".join(str(n).replace("\\", "\\\\").replace(";", "\\;") for n in names)
