"""report.html: one self-contained page (inline CSS and SVG, no script, no network).

Every value that came from an event or an alert passes through ``_e`` (``html.escape`` with
quotes) before it reaches the page: user names, IPs and regions are attacker-controlled text.
A Content-Security-Policy forbids scripts and any load but inline styles and ``data:`` images,
in case a value ever slipped through. Colours are CSS variables, switched for dark screens
(``prefers-color-scheme``) and reset to ink on white for print.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from ..events import format_time
from .gather import RESULTS, ReportData
from .svg import Series, bar_chart, column_chart

__all__ = ["CONTROLS", "SECTIONS", "render_page"]

TOP = 20

#: Section ids and headings, in page order (tests read the headings from here).
SECTIONS = {
    "scope": "Period and scope",
    "totals": "Totals",
    "per-day": "Sign-ins per day by result",
    "root": "Root usage timeline",
    "no-mfa": "Sign-ins without MFA per IAM user",
    "failures": "Top failing principals and source IPs",
    "alerts": "Alerts by rule and delivery status",
    "identities": "Identity types per account",
}

#: The controls each section gives evidence for: labels for the auditor, not a compliance claim.
CONTROLS = {
    "scope": ("PCI DSS 10.5.1", "ISO 27001 A.8.15"),
    "totals": ("PCI DSS 10.2.1", "ISO 27001 A.8.15"),
    "per-day": ("PCI DSS 10.2.1", "SOC 2 CC7.2"),
    "root": (
        "CIS AWS Foundations: root user usage (1.7, 4.3)",
        "PCI DSS 10.2.1",
        "SOC 2 CC7.2",
        "ISO 27001 A.8.15",
    ),
    "no-mfa": ("CIS AWS Foundations: MFA for console users (1.10, 4.2)", "SOC 2 CC7.2"),
    "failures": (
        "CIS AWS Foundations: console authentication failures (4.6)",
        "PCI DSS 10.2.1",
        "SOC 2 CC7.2",
    ),
    "alerts": ("SOC 2 CC7.2", "ISO 27001 A.8.15"),
    "identities": ("PCI DSS 10.2.1", "ISO 27001 A.8.15"),
}

_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'"
)

_CSS = """
:root { --ink:#1b1f24; --muted:#57606a; --paper:#ffffff; --rule:#d0d7de; --band:#f6f8fa;
  --ok:#2f7d4f; --bad:#c4362c; --other:#8c959f; --bar:#3b6fb6; --tag:#eef2f7; }
@media (prefers-color-scheme: dark) {
  :root { --ink:#e6edf3; --muted:#9da7b3; --paper:#0d1117; --rule:#30363d; --band:#161b22;
    --ok:#3fb950; --bad:#f47067; --other:#8b949e; --bar:#58a6ff; --tag:#1f2630; } }
@media print {
  :root { --ink:#000; --muted:#333; --paper:#fff; --rule:#999; --band:#f2f2f2;
    --ok:#2f7d4f; --bad:#b3261e; --other:#777; --bar:#2b5797; --tag:#eee; }
  section { break-inside: avoid-page; } .pair { display:block; } a { color: inherit; } }
* { box-sizing: border-box; }
html { background: var(--paper); color: var(--ink);
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  margin: 0 auto; max-width: 1180px; padding: 24px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 0 0 4px; }
h3 { font-size: 14px; margin: 12px 0 6px; color: var(--muted); }
header p { margin: 0; color: var(--muted); }
section { border-top: 1px solid var(--rule); padding: 18px 0 8px; }
.controls { margin: 0 0 12px; font-size: 12px; color: var(--muted); }
.controls span { background: var(--tag); border: 1px solid var(--rule); border-radius: 10px;
  padding: 1px 8px; margin-right: 4px; white-space: nowrap; display: inline-block; }
.pair { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.pair > * { flex: 0 1 auto; min-width: 0; max-width: 100%; }
table { border-collapse: collapse; font-size: 12.5px; }
th, td { text-align: left; padding: 3px 10px 3px 0; border-bottom: 1px solid var(--rule);
  vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tfoot td { font-weight: 600; border-bottom: none; }
td > code { white-space: nowrap; }
code, .id { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 11.5px;
  overflow-wrap: anywhere; }
.empty { color: var(--muted); font-style: italic; }
.notice { background: var(--band); border: 1px solid var(--rule); padding: 10px 14px;
  border-radius: 6px; margin: 12px 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { background: var(--band); border: 1px solid var(--rule); border-radius: 6px;
  padding: 8px 14px; min-width: 140px; }
.card b { display: block; font-size: 22px; font-variant-numeric: tabular-nums; }
.card span { color: var(--muted); font-size: 12px; }
.no { color: var(--bad); font-weight: 600; }
svg.chart { max-width: 100%; height: auto; }
svg.chart text { fill: var(--ink); } svg.chart .tick, svg.chart .legend { fill: var(--muted); }
svg.chart .label { fill: var(--muted); font-style: italic; }
svg.chart .total { font-weight: 600; }
svg.chart .grid { stroke: var(--rule); stroke-dasharray: 2 3; }
svg.chart .axis { stroke: var(--muted); }
.s-success { fill: var(--ok); } .s-failure { fill: var(--bad); } .s-other { fill: var(--other); }
.s-bar { fill: var(--bar); }
footer { color: var(--muted); font-size: 12px; border-top: 1px solid var(--rule);
  padding-top: 10px; }
"""


def _e(value: object) -> str:
    """HTML-escaped text of any value (``-`` for null)."""
    if value is None:
        return "-"
    return html.escape(str(value), quote=True)


def _n(value: int) -> str:
    return f"{value:,}"


def _mfa(value: bool | None) -> str:
    if value is None:
        return "unknown"
    return "yes" if value else '<span class="no">no</span>'


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    numeric: Sequence[int] = (),
    footer: Sequence[str] | None = None,
    css_id: str = "",
) -> str:
    """A table of already-escaped cells; columns in ``numeric`` are right-aligned."""

    def cells(tag: str, values: Sequence[str]) -> str:
        return "".join(
            f'<{tag} class="n">{v}</{tag}>' if i in numeric else f"<{tag}>{v}</{tag}>"
            for i, v in enumerate(values)
        )

    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    foot = f"<tfoot><tr>{cells('td', footer)}</tr></tfoot>" if footer else ""
    ident = f' id="{_e(css_id)}"' if css_id else ""
    head = ""
    if any(headers):
        head = f"<thead><tr>{cells('th', [_e(h) for h in headers])}</tr></thead>"
    return f"<table{ident}>{head}<tbody>{body}</tbody>{foot}</table>"


def _section(key: str, body: str) -> str:
    tags = "".join(f"<span>{_e(label)}</span>" for label in CONTROLS[key])
    return (
        f'<section id="{key}"><h2>{_e(SECTIONS[key])}</h2>'
        f'<p class="controls">Evidence for: {tags}</p>{body}</section>'
    )


def _empty(text: str) -> str:
    return f'<p class="empty">{_e(text)}</p>'


def render_page(
    data: ReportData,
    *,
    store: dict[str, str],
    version: str,
    generated_at: datetime | None = None,
) -> str:
    """The whole report as one HTML document."""
    period = data.period
    generated = format_time(generated_at or datetime.now(UTC))
    since, until = format_time(period.since), format_time(period.until)
    days = period.days(trim_midnight=True)
    span = days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"
    title = f"Sign-in audit report: {span}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{_e(title)}</h1><p>AWS console sign-in evidence kept by "
        f"signin-monitor {_e(version)}. Generated {_e(generated)}.</p></header>",
    ]
    if data.events == 0:
        parts.append(
            '<p class="notice" id="empty-period"><b>No events in this period.</b> The store '
            "holds no sign-in events between these times for this scope; every section below "
            "is empty.</p>"
        )
    parts += [
        _scope(data, store, since, until),
        _totals(data),
        _per_day(data),
        _root(data),
        _no_mfa(data),
        _failures(data),
        _alerts(data),
        _identities(data),
        "<footer>Control names are labels saying which requirement each section helps "
        "evidence; they are not a claim of compliance. The same events are in events.csv and "
        "events.jsonl; manifest.json holds the SHA-256 of every file.</footer>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _scope(data: ReportData, store: dict[str, str], since: str, until: str) -> str:
    where = store.get("path") or store.get("table") or "-"
    accounts = ", ".join(data.period.accounts) if data.period.accounts else "all accounts"
    rows = [
        ("From (UTC, inclusive)", f"<code>{_e(since)}</code>"),
        ("Until (UTC, inclusive)", f"<code>{_e(until)}</code>"),
        ("Accounts", _e(accounts)),
        ("Store", f"{_e(store.get('kind', '-'))} <code>{_e(where)}</code>"),
    ]
    return _section("scope", _table(("", ""), rows, css_id="scope-table"))


def _totals(data: ReportData) -> str:
    alerts = data.scoped_alerts()
    figures = [
        ("events", data.events, "events (all sign-in event names)"),
        ("console", data.console_sign_ins, "console sign-ins"),
        ("failed", data.sign_ins["Failure"], "failed console sign-ins"),
        ("no-mfa", sum(data.no_mfa.values()), "IAM user sign-ins without MFA"),
        ("root", len(data.root), "root events"),
        ("principals", len(data.principals), "principals"),
        ("accounts", len({account for account, _ in data.principals}), "accounts"),
        ("alerts", len(alerts), "alerts raised"),
    ]
    cards = "".join(
        f'<div class="card" id="total-{key}"><b>{_n(value)}</b><span>{_e(label)}</span></div>'
        for key, value, label in figures
    )
    return _section("totals", f'<div class="cards">{cards}</div>')


def _per_day(data: ReportData) -> str:
    days = data.days
    columns = [(name, f"s-{name.lower()}") for name in RESULTS if name != "Other"]
    if data.sign_ins["Other"]:
        columns.append(("Other", "s-other"))
    rows = [
        [
            _e(day),
            *(_n(data.per_day[day][name]) for name, _ in columns),
            _n(sum(data.per_day[day].values())),
        ]
        for day in days
    ]
    footer = ["Total", *(_n(data.sign_ins[name]) for name, _ in columns), _n(data.console_sign_ins)]
    table = _table(
        ("Day (UTC)", *(name for name, _ in columns), "Total"),
        rows,
        numeric=range(1, len(columns) + 2),
        footer=footer,
        css_id="per-day-table",
    )
    if not data.console_sign_ins:
        return _section("per-day", _empty("No console sign-ins in this period.") + table)
    chart = column_chart(
        title="Console sign-ins per day by result",
        categories=days,
        series=[
            Series(name, [data.per_day[day][name] for day in days], css) for name, css in columns
        ],
        x_label="day (UTC)",
        y_label="console sign-ins",
    )
    return _section("per-day", f'<div class="pair"><div>{chart}</div>{table}</div>')


def _root(data: ReportData) -> str:
    if not data.root:
        return _section("root", _empty("No root user activity in this period."))
    rows = [
        [
            f"<code>{_e(use.event_time)}</code>",
            _e(use.event_name),
            _e(use.result),
            _mfa(use.mfa_used),
            _e(use.account_id),
            _e(use.source_ip),
            _e(use.region),
            _e(", ".join(use.alerts)) if use.alerts else "none",
            f'<span class="id">{_e(use.event_id)}</span>',
        ]
        for use in data.root
    ]
    intro = (
        f"<p>{_n(data.root_sign_ins)} root console sign-ins and "
        f"{_n(len(data.root) - data.root_sign_ins)} other root events, every one listed.</p>"
    )
    table = _table(
        (
            "Time (UTC)",
            "Event",
            "Result",
            "MFA",
            "Account",
            "Source IP",
            "Region",
            "Alert raised",
            "Event ID",
        ),
        rows,
        css_id="root-table",
    )
    return _section("root", intro + table)


def _no_mfa(data: ReportData) -> str:
    if not data.no_mfa:
        return _section("no-mfa", _empty("Every IAM user console sign-in used MFA."))
    ranked = sorted(data.no_mfa.items(), key=lambda item: (-item[1], item[0]))
    rows = [[_e(principal), _e(account), _n(count)] for (account, principal), count in ranked]
    table = _table(
        ("IAM user", "Account", "Sign-ins without MFA"),
        rows,
        numeric=(2,),
        footer=["Total", "", _n(sum(data.no_mfa.values()))],
        css_id="no-mfa-table",
    )
    top = ranked[:TOP]
    chart = bar_chart(
        title="Successful IAM user sign-ins without MFA",
        categories=[principal for (_, principal), _ in top],
        series=[Series("without MFA", [count for _, count in top], "s-failure")],
        x_label="sign-ins without MFA",
        y_label="IAM user",
    )
    note = f"<p>Chart: the top {TOP} users.</p>" if len(ranked) > TOP else ""
    return _section("no-mfa", f'{note}<div class="pair"><div>{chart}</div>{table}</div>')


def _failures(data: ReportData) -> str:
    if not data.failing_principals:
        return _section("failures", _empty("No failed console sign-ins in this period."))
    principals = sorted(data.failing_principals.items(), key=lambda i: (-i[1], i[0]))[:TOP]
    ips = sorted(data.failing_ips.items(), key=lambda i: (-i[1], i[0]))[:TOP]
    principal_chart = bar_chart(
        title="Failed console sign-ins per principal",
        categories=[principal for (_, principal), _ in principals],
        series=[Series("failed", [count for _, count in principals], "s-failure")],
        x_label="failed sign-ins",
        y_label="principal",
    )
    principal_table = _table(
        ("Principal", "Account", "Failed sign-ins"),
        [[_e(p), _e(a), _n(c)] for (a, p), c in principals],
        numeric=(2,),
        css_id="failing-principals-table",
    )
    ip_chart = bar_chart(
        title="Failed console sign-ins per source IP",
        categories=[ip for ip, _ in ips],
        series=[Series("failed", [count for _, count in ips], "s-failure")],
        x_label="failed sign-ins",
        y_label="source IP",
    )
    ip_table = _table(
        ("Source IP", "Failed sign-ins"),
        [[_e(ip), _n(c)] for ip, c in ips],
        numeric=(1,),
        css_id="failing-ips-table",
    )
    body = (
        f"<p>Top {TOP} of {_n(len(data.failing_principals))} principals and "
        f"{_n(len(data.failing_ips))} source IPs with failed console sign-ins.</p>"
        f'<h3>Principals</h3><div class="pair"><div>{principal_chart}</div>'
        f"{principal_table}</div>"
        f'<h3>Source IPs</h3><div class="pair"><div>{ip_chart}</div>{ip_table}</div>'
    )
    return _section("failures", body)


_STATUS_ORDER = ("sent", "failed", "pending", "suppressed")
_STATUS_CSS = {
    "sent": "s-success",
    "failed": "s-failure",
    "pending": "s-other",
    "suppressed": "s-bar",
}


def _alerts(data: ReportData) -> str:
    table_data = data.alerts_by_rule()
    if not table_data:
        return _section("alerts", _empty("No alerts were raised in this period."))
    present = {status for counts in table_data.values() for status in counts}
    statuses = [s for s in _STATUS_ORDER if s in present] + sorted(present - set(_STATUS_ORDER))
    rules = list(table_data)
    rows = [
        [_e(rule), *(_n(table_data[rule][s]) for s in statuses), _n(sum(table_data[rule].values()))]
        for rule in rules
    ]
    totals = [
        "Total",
        *(_n(sum(c[s] for c in table_data.values())) for s in statuses),
        _n(sum(sum(c.values()) for c in table_data.values())),
    ]
    table = _table(
        ("Rule", *statuses, "Total"),
        rows,
        numeric=range(1, len(statuses) + 2),
        footer=totals,
        css_id="alerts-table",
    )
    chart = bar_chart(
        title="Alerts by rule and delivery status",
        categories=rules,
        series=[
            Series(s, [table_data[rule][s] for rule in rules], _STATUS_CSS.get(s, "s-other"))
            for s in statuses
        ],
        x_label="alerts",
        y_label="rule",
    )
    reasons = [a for a in data.scoped_alerts() if a.reason]
    why = ""
    if reasons:
        why = "<h3>Why not delivered</h3>" + _table(
            ("Time (UTC)", "Rule", "Status", "Reason", "Event ID"),
            [
                [
                    _e(a.event_time),
                    _e(a.rule_id),
                    _e(a.status),
                    _e(a.reason),
                    f'<span class="id">{_e(a.event_id)}</span>',
                ]
                for a in reasons
            ],
        )
    note = (
        "<p>Delivery status as the alert claim records it: <b>sent</b> (posted to Slack), "
        "<b>failed</b> (Slack refused it for good), <b>pending</b> (not posted yet; it is "
        "retried). Duplicates suppressed by the claim are never stored, so they are not "
        "counted. Every alert is listed in alerts.csv.</p>"
    )
    return _section("alerts", f'{note}<div class="pair"><div>{chart}</div>{table}</div>{why}')


def _identities(data: ReportData) -> str:
    if not data.identity_types:
        return _section("identities", _empty("No events in this period."))
    accounts = sorted({account for account, _ in data.identity_types})
    kinds = sorted({kind for _, kind in data.identity_types})
    rows = [
        [
            _e(account),
            *(_n(data.identity_types[(account, kind)]) for kind in kinds),
            _n(sum(data.identity_types[(account, kind)] for kind in kinds)),
        ]
        for account in accounts
    ]
    table = _table(
        ("Account", *kinds, "Total"),
        rows,
        numeric=range(1, len(kinds) + 2),
        css_id="identities-table",
    )
    palette = ("s-bar", "s-failure", "s-success", "s-other")
    chart = bar_chart(
        title="Events per account by identity type",
        categories=accounts,
        series=[
            Series(
                kind, [data.identity_types[(a, kind)] for a in accounts], palette[i % len(palette)]
            )
            for i, kind in enumerate(kinds)
        ],
        x_label="events",
        y_label="account",
    )
    note = (
        "<p>IAMUser: IAM users; Root: the root user; AssumedRole: roles and IAM Identity "
        "Center (SSO) sessions; FederatedUser and SAMLUser: federation.</p>"
    )
    return _section("identities", f'{note}<div class="pair"><div>{chart}</div>{table}</div>')
