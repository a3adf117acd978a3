"""The portal's HTML: small server-rendered pages, every value escaped, no scripts or external assets."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

import pyarrow as pa

from research.query.run import LICENCE

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
header{background:#12355b;color:#fff;padding:.7em 1.2em}header a{color:#fff;margin-right:1em}
main{max-width:68em;margin:1em auto;padding:0 1em}table{border-collapse:collapse;margin:.6em 0}
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;font-size:13px}th{background:#eef}
textarea{width:100%;font:13px monospace}input[type=text],input[type=email],input[type=password]{width:24em}
.licence{font-size:13px;color:#333;border-top:1px solid #ccc;margin-top:2em;padding-top:.5em}
.error{color:#a00;font-weight:600}.note{color:#555}label{display:block;margin:.5em 0 .1em}
"""


def page(title: str, body: str, *, user: str | None = None, csrf: str | None = None) -> str:
    links = '<a href="/">ENTRANS data</a>'
    if user is None:
        links += '<a href="/apply">Apply</a><a href="/login">Log in</a>'
    else:
        links += (
            '<a href="/datasets">Datasets</a><a href="/query">SQL</a><a href="/account">Account</a>'
            f'<form method="post" action="/logout" style="display:inline">{hidden(csrf)}'
            f"<button>Log out {escape(user)}</button></form>"
        )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{STYLE}</style></head>'
        f"<body><header>{links}</header><main><h1>{escape(title)}</h1>{body}"
        f'<p class="licence" id="licence">{escape(LICENCE)}.</p></main></body></html>'
    )


def hidden(csrf: str | None) -> str:
    return "" if csrf is None else f'<input type="hidden" name="csrf" value="{escape(csrf)}">'


def error_line(message: str | None) -> str:
    return "" if not message else f'<p class="error" role="alert">{escape(message)}</p>'


def home(user: str | None) -> str:
    return (
        "<p>De-identified household energy data from the ENTRANS study: voltage, current and power "
        "from the households' meters, sent once a day by their boxes. Postcode prefixes shared by "
        "fewer than k households are generalised or withheld.</p>"
        + (
            '<p><a href="/apply">Apply for access</a> or <a href="/login">log in</a>.</p>'
            if user is None
            else '<p><a href="/datasets">Datasets</a> · <a href="/query">SQL</a></p>'
        )
        + "<p>Every publication using the data carries this line:</p>"
        + f"<blockquote>{escape(LICENCE)}</blockquote>"
    )


def apply_form(form_token: str, message: str | None = None, values: dict[str, str] | None = None) -> str:
    v = values or {}
    fields = "".join(
        f'<label for="{name}">{label}</label><input type="{kind}" id="{name}" name="{name}" '
        f'value="{escape(v.get(name, ""))}" required>'
        for name, label, kind in (
            ("name", "Name", "text"),
            ("email", "E-mail", "email"),
            ("institution", "Institution", "text"),
        )
    )
    return (
        error_line(message)
        + f'<form method="post" action="/apply">{hidden(form_token)}{fields}'
        + '<label for="purpose">What the data is for</label>'
        + f'<textarea id="purpose" name="purpose" rows="4" required>{escape(v.get("purpose", ""))}</textarea>'
        + '<label for="password">Password (at least 12 characters)</label>'
        + '<input type="password" id="password" name="password" required minlength="12">'
        + '<p><button id="apply">Apply</button></p></form>'
    )


def applied(user_id: str) -> str:
    return (
        f'<p>Your application is recorded. Your user id is <strong id="user-id">{escape(user_id)}</strong>.'
        " The administrator will decide; once approved you log in with your e-mail and password.</p>"
    )


def login_form(form_token: str, message: str | None = None) -> str:
    return (
        error_line(message)
        + f'<form method="post" action="/login">{hidden(form_token)}'
        + '<label for="email">E-mail</label><input type="email" id="email" name="email" required>'
        + '<label for="password">Password</label>'
        + '<input type="password" id="password" name="password" required>'
        + '<p><button id="login">Log in</button></p></form>'
    )


def datasets(docs: list[dict[str, Any]], as_of: datetime | None = None) -> str:
    out = []
    if as_of is not None:
        out.append(
            f'<p class="note" id="as-of">Coverage as computed at {as_of:%Y-%m-%d %H:%M:%S} UTC: new days '
            "have arrived since and are being counted; reload in a moment for the figures with them.</p>"
        )
    for d in docs:
        cov = d.get("coverage")
        rows = [("rows", d["rows"])]
        if cov:
            rows += [
                ("households", cov["households"]),
                ("household-days", cov["household_days"]),
                ("days", f"{cov['first_day'] or '—'} … {cov['last_day'] or '—'}"),
            ]
        if "channels" in d:
            rows.append(("channels", ", ".join(d["channels"]) or "—"))
            rows.append(("resolutions [s]", ", ".join(str(r) for r in d["resolutions_s"]) or "—"))
        if "quality" in d:
            q = d["quality"]
            flags = ", ".join(f"{f}: {n}" for f, n in q["flags"].items()) or "none"
            rows.append(("quality", f"{q['days_ok']} of {q['days']} days pass every check; flags: {flags}"))
        if "households_prefix_withheld" in d:
            rows.append(("prefix withheld (below k)", d["households_prefix_withheld"]))
        table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
        name = escape(d["name"])
        out.append(
            f'<section id="ds-{name}"><h2>{name}</h2><p class="note">{escape(d["description"])}</p>'
            f"<table>{table}</table><p>Download: "
            f'<a href="/datasets/{name}/download?format=parquet" id="dl-{name}-parquet">Parquet</a> · '
            f'<a href="/datasets/{name}/download?format=csv" id="dl-{name}-csv">CSV</a></p></section>'
        )
    return "".join(out)


def query_form(csrf: str, sql: str, row_limit: int, message: str | None = None, result: str = "") -> str:
    return (
        f"<p class='note'>One read-only SELECT over the released views households, batches, readings and "
        f"prefixes; at most {row_limit} rows.</p>"
        + error_line(message)
        + f'<form method="post" action="/query">{hidden(csrf)}'
        + f'<textarea name="sql" id="sql" rows="8">{escape(sql)}</textarea>'
        + '<p><button name="format" value="html" id="run">Run</button> '
        + '<button name="format" value="csv" id="run-csv">Download CSV</button> '
        + '<button name="format" value="parquet" id="run-parquet">Download Parquet</button></p></form>'
        + result
    )


def table(t: pa.Table, truncated: bool, row_limit: int, shown: int = 500) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in t.column_names)
    body = "".join(
        "<tr>" + "".join(f"<td>{'' if v is None else escape(str(v))}</td>" for v in row.values()) + "</tr>"
        for row in t.slice(0, shown).to_pylist()
    )
    note = f"{t.num_rows} row(s)"
    if t.num_rows > shown:
        note += f", the first {shown} shown (download for all)"
    if truncated:
        note += f"; more matched: only the first {row_limit} are released"
    return f'<p class="note" id="row-count">{note}</p><table id="result"><tr>{head}</tr>{body}</table>'


def account(user_id: str, name: str, csrf: str, key: str | None = None) -> str:
    shown = f'<p>Your new API key (shown once): <code id="api-key">{escape(key)}</code></p>' if key else ""
    return (
        f"<p>{escape(name)}, user id <strong>{escape(user_id)}</strong>.</p>{shown}"
        f'<form method="post" action="/account/key">{hidden(csrf)}'
        '<button id="new-key">New API key</button></form>'
        "<p class='note'>Scripts send it as <code>Authorization: Bearer KEY</code> to "
        "<code>POST /v1/query</code> and <code>GET /v1/datasets</code>.</p>"
    )
