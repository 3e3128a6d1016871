"""The ``trader`` command line."""

from __future__ import annotations

import json
import sys
import traceback
import time

import click

import trader
from trader.cli_new import new_strategy  # click and the stdlib only
from trader.cli_report import report  # click and the stdlib only: numpy, pyarrow and plotly when it runs
from trader.cli_research import research  # click and the stdlib only: numpy and pyarrow when it runs
from trader.exceptions import StrategyError, TraderError
from trader.inputs import printable
from trader.live.ctl import ctl  # click and the stdlib only: aiohttp is imported by the node


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(trader.__version__, prog_name="trader")
def cli() -> None:
    """trader: backtest and run trading strategies on a Rust core."""


cli.add_command(ctl)
cli.add_command(research)
cli.add_command(report)
cli.add_command(new_strategy)


@cli.command()
def info() -> None:
    """Show the version and the SIMD backend in use."""
    click.echo(f"trader {trader.__version__}")
    click.echo(f"simd backend: {trader.simd_backend()} (available: {', '.join(trader.simd_backends_available())})")


def _console():
    """A rich console; piped output gets a wide page so names and module paths never wrap."""
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=160)


_RISK_OPTIONS = [
    click.option("--risk-config", type=click.Path(dir_okay=False), help="Risk limits and layers from a TOML file (see trader.risk); without it only the structural checks run."),
    click.option("--risk-limit", "risk_limits", multiple=True, metavar="KEY=VALUE", help="A risk limit, repeatable, over the file's: max_leverage=3, max_position=0.5 (every instrument), instruments.BTCUSDT.max_position=1, submit_rate=20/1s."),
    click.option("--risk-layer", "risk_layer_specs", multiple=True, metavar="LAYER", help="A risk layer NAME[:k=v,...] in order, repeatable (replaces the file's); 'default' for the default set, 'none' for none."),
    click.option("--risk-bypass", is_flag=True, help="Skip every risk check and layer (explicit, written to the audit log)."),
    click.option("--audit-log", type=click.Path(dir_okay=False), help="Write the risk engine's hash-chained audit log (JSON lines) to PATH."),
]


def _risk_options(f):
    """The risk options every backtest command shares (see :func:`_risk_settings`)."""
    for option in reversed(_RISK_OPTIONS):
        f = option(f)
    return f


def _risk_settings(path, limits, layer_specs, bypass):
    """The run's RiskSettings from --risk-config and the --risk-* flags (None: no risk options)."""
    from trader.risk import RiskSettings, _scalar, load_risk_config

    if not (path or limits or layer_specs or bypass):
        return None
    base = load_risk_config(path) if path else RiskSettings(layers=[], source="risk")
    lim = {}
    for item in limits:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--risk-limit")
        lim[key.strip()] = _scalar(value.strip())
    layers = None
    if layer_specs:
        specs = list(layer_specs)
        if specs == ["none"]:
            layers = []
        else:
            from trader.risk import DEFAULT_LAYERS

            layers = [d for s in specs for d in (DEFAULT_LAYERS if s == "default" else [s])]
    return base.merged(limits=lim, layers=layers, bypass=True if bypass else None)


def _check_outputs(*, inputs: tuple[str, ...] = (), fills_out: str | None = None, tables_out: str | None = None,
                   report: str | None = None, audit_log: str | None = None, trades_out: str | None = None,
                   out: str | None = None, plot: str | None = None, returns: str | None = None) -> None:
    """The files a command will write, checked before it starts (a missing or unwritable folder, a
    folder where a file is wanted, a file that is one of the command's ``inputs``): an error then
    costs no work and leaves nothing behind (``trader.paths``)."""
    import os

    from trader.exceptions import InvalidInputError
    from trader.paths import check_output_dir, check_output_file

    wanted = []
    for option, path, suffixes in (("--fills-out", fills_out, (".csv", ".parquet")), ("--report", report, ()),
                                   ("--audit-log", audit_log, ()),
                                   ("--trades-out", trades_out, (".csv", ".parquet", ".feather", ".arrow")),
                                   ("--out", out, (".parquet", ".csv", ".feather", ".arrow")),
                                   ("--plot", plot, (".html",)),
                                   ("--returns", returns, (".parquet", ".csv", ".feather", ".arrow"))):
        if path:
            wanted.append((option, check_output_file(path, option, suffixes)))
    if tables_out:
        check_output_dir(tables_out, "--tables-out")
    read = {os.path.realpath(p) for p in inputs if p and os.path.exists(p)}
    seen: dict[str, str] = {}
    for option, path in wanted:
        real = os.path.realpath(path)
        if real in read:
            raise InvalidInputError(f"{option}: {path}: is an input of this run; writing it would destroy it")
        if real in seen:
            raise InvalidInputError(f"{option}: {path}: also given to {seen[real]}")
        seen[real] = option


@cli.group()
def audit() -> None:
    """The risk engine's audit log."""


@audit.command("verify")
@click.argument("path")
@click.option("--key-env", metavar="VAR", help="Environment variable holding the HMAC key the log was written with.")
@click.option("--strategy", default=None, metavar="ID", help="A store: check only this strategy's chain (default: every one).")
def audit_verify(path, key_env, strategy) -> None:
    """Check an audit log: an edited, reordered or removed entry is reported (exit 2). PATH is a
    JSON-lines log (sealed), or a live node's store: its state folder or postgresql:// URL (each
    strategy's open chain, checked against its last checkpoint's count)."""
    import os

    key = None
    if key_env:
        if key_env not in os.environ:
            raise click.BadParameter(f"environment variable {key_env} is not set", param_hint="--key-env")
        key = os.environ[key_env].encode()
    if os.path.isdir(path) or path.startswith(("postgresql://", "postgres://")):
        from trader.live.inspect import open_for_reading, verify_store_audit

        store = open_for_reading(path)
        try:
            counts = verify_store_audit(store, key, strategy)
        finally:
            store.close()
        for sid, n in counts.items():
            click.echo(f"{store.location}: strategy {sid}: {n} entries, chain intact (open: a live chain has no seal)")
        return
    if strategy is not None:
        raise click.BadParameter("only with a store (a state folder or a postgresql:// URL)", param_hint="--strategy")
    from trader.risk import verify_audit_file

    n = verify_audit_file(path, key)
    click.echo(f"{path}: {n} entries, chain intact and sealed")


@cli.group()
def state() -> None:
    """A live node's store: what it holds, as tables."""


@state.command("show")
@click.argument("target", metavar="DIR|URL")
@click.option("--last", type=click.IntRange(min=0), default=10, show_default=True, help="Order events and fills to list per strategy.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
def state_show(target, last, as_json) -> None:
    """Orders, positions, balances, trading state, last events and fills, unresolved commands,
    feed positions and restarts of the store in DIR (a state folder) or at URL (PostgreSQL)."""
    from trader.live.inspect import open_for_reading, show

    store = open_for_reading(target)
    try:
        data = show(store, last=last)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(data, default=str))
        return
    _print_state(data)


@state.command("export")
@click.argument("target", metavar="DIR|URL")
@click.option("--to", "fmt", type=click.Choice(["parquet"]), required=True, help="Format (Arrow tables as Parquet files).")
@click.argument("out", metavar="OUT_DIR")
def state_export(target, fmt, out) -> None:
    """Every table of the store (commands, orders, order events, fills, positions, balances,
    state changes, risk and strategy state, audit chain, feed positions, restarts) as
    OUT_DIR/<table>.parquet."""
    from trader.live.inspect import export, open_for_reading

    store = open_for_reading(target)
    try:
        done = export(store, out)
    finally:
        store.close()
    for name, rows in done:
        click.echo(f"{out}/{name}.parquet: {rows:,} rows")


def _num(text) -> str:
    """A stored exact decimal for reading: trailing zeros dropped ("9491.285880000000000000" ->
    "9491.28588"); anything else as it is."""
    from decimal import Decimal, InvalidOperation

    try:
        d = Decimal(str(text))
    except (InvalidOperation, ValueError):
        return str(text)
    return format(d.normalize(), "f") if d.is_finite() else str(text)


def _print_state(data: dict) -> None:
    from rich.table import Table

    con = _console()
    con.print(f"store {data['store']} ({data['backend']}, schema {data['schema']})")
    for stream, f in data["feeds"].items():
        con.print(f"feed {stream}: {f['position']:,} events processed")
    for sid, st in data["strategies"].items():
        pos = ", ".join(f"{p['instrument']} {_num(p['qty'])} @ {_num(p['avg_price'])}" for p in st["positions"]) or "flat"
        bal = ", ".join(f"{k} {_num(v)}" for k, v in st["balances"].items()) or "none"
        con.print(f"\n[bold]{sid}[/bold]: {st['trading_state']}; position {pos}; balances {bal}; "
                  f"{st['orders']:,} orders, {st['fills']:,} fills, {st['order_events']:,} order events"
                  + (f"; {len(st['unresolved_commands'])} command(s) UNRESOLVED" if st["unresolved_commands"] else "")
                  + (f"; {st['void_commands']} void command(s)" if st["void_commands"] else ""))
        if st["open_orders"]:
            t = Table(title="open orders")
            for c in ("order_id", "client_id", "side", "kind", "price", "qty", "filled", "status"):
                t.add_column(c)
            for o in st["open_orders"]:
                t.add_row(*[_num(o[c]) if c in ("price", "qty", "filled") and o[c] is not None else str(o[c])
                            for c in ("order_id", "client_id", "side", "kind", "price", "qty", "filled", "status")])
            con.print(t)
        if st["last_fills"]:
            t = Table(title=f"last {len(st['last_fills'])} fills")
            for c in ("trade_id", "ts", "order_id", "side", "price", "qty", "fee"):
                t.add_column(c)
            for f in st["last_fills"]:
                t.add_row(*[_iso(f[c]) if c == "ts" else _num(f[c]) if c in ("price", "qty", "fee") else str(f[c])
                            for c in ("trade_id", "ts", "order_id", "side", "price", "qty", "fee")])
            con.print(t)
        if st["last_events"]:
            t = Table(title=f"last {len(st['last_events'])} order events")
            for c in ("seq", "ts", "order_id", "kind", "status"):
                t.add_column(c)
            for e in st["last_events"]:
                t.add_row(*[_iso(e[c]) if c == "ts" else str(e[c]) for c in ("seq", "ts", "order_id", "kind", "status")])
            con.print(t)
    for r in data["restarts"]:
        rep = r["report"]
        recon = rep.get("reconciliation") or []
        con.print(f"restart {r['seq']} at {_iso(r['wall_ts'])}: "
                  + "; ".join(f"{x['strategy']}: {len(x['adjustments'])} adjustment(s)" + (" HALTED" if x["halted"] else "")
                              for x in recon))


def _iso(ns) -> str:
    """Nanoseconds since the epoch as ISO 8601 UTC (ms)."""
    import datetime as dt

    try:
        return dt.datetime.fromtimestamp(int(ns) / 1e9, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
    except (TypeError, ValueError, OverflowError, OSError):
        return str(ns)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
def plugins(as_json: bool) -> None:
    """List every plugin by kind with the distribution that supplied it, and the broken ones."""
    from trader.plugins import get_plugin_manager, list_plugins

    pm = get_plugin_manager()
    rows = list_plugins(pm)
    if as_json:
        out = {
            "plugins": [{"kind": r.kind, "name": r.name, "module": r.module, "distribution": r.distribution} for r in rows],
            "broken": [{"name": b.name, "distribution": b.dist, "error": b.error} for b in pm.broken],
        }
        click.echo(json.dumps(out, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    console = _console()
    table = Table(title="trader plugins")
    for col in ("kind", "name", "module", "distribution"):
        table.add_column(col, no_wrap=True)
    for r in rows:
        table.add_row(r.kind, r.name, r.module, r.distribution)
    console.print(table)
    if pm.broken:
        broken = Table(title="broken plugins (skipped)", style="red")
        for col in ("name", "distribution", "error"):
            broken.add_column(col)
        for b in pm.broken:
            broken.add_row(b.name, b.dist, b.error)
        console.print(broken)


@cli.group()
def data() -> None:
    """Inspect market data files."""


from trader.cli_data import download as _data_download, list_ as _data_list, resample as _data_resample  # noqa: E402  (click only)

data.add_command(_data_download)
data.add_command(_data_list)
data.add_command(_data_resample)


def _option_value(text: str) -> object:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


@data.command()
@click.argument("path")
@click.option("--source", "source_name", help="Data source by name (default: the first that can open PATH).")
@click.option("--gaps", "gap_policy", type=click.Choice(["report", "error", "fill"]), default="report", show_default=True, help="Gap policy.")
@click.option("--symbol", help="Instrument symbol (default: from the file name).")
@click.option("--start", help="First bar to include (ISO date/time, UTC).")
@click.option("--end", help="Stop before this time (ISO date/time, UTC).")
@click.option("--batch-size", type=click.IntRange(min=1), default=1_000_000, show_default=True)
@click.option("-o", "--option", "options", multiple=True, metavar="KEY=VALUE", help="Source option, e.g. -o bars=1000 -o seed=7 -o interval=1h.")
@click.option("--diagnostics", "diagnostics", metavar="NAME[,NAME...]", help="Run diagnostics on the bars' log returns and print them: adf, jarque_bera, ljung_box, hmm, garch (or any diagnostic plugin's; see `trader plugins`).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
def inspect(path, source_name, gap_policy, symbol, start, end, batch_size, options, diagnostics, as_json) -> None:
    """Read PATH (or "synthetic") through its data source and print rows, span, interval and gaps
    (with --diagnostics, statistics of the bars' log returns too)."""
    from trader.data._time import duration
    from trader.plugins import find_data_source

    diag_names = None
    if diagnostics is not None:  # checked before any data is read
        from trader.research.diagnostics import check_diagnostic_names

        diag_names = check_diagnostic_names(diagnostics)
    opts = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--option")
        opts[key.strip()] = _option_value(value.strip())
    source = find_data_source(None if path == "synthetic" else path, source_name)
    t0 = time.perf_counter()
    feed = source.open(
        None if path == "synthetic" and source.name == "synthetic" else path,
        symbol=symbol, start=start, end=end, batch_size=batch_size, gap_policy=gap_policy, **opts,
    )
    batches = 0
    closes = []
    for batch in feed.batches():
        batches += 1
        if diag_names is not None:
            if not hasattr(batch, "close"):
                raise click.BadParameter(f"{path} holds ticks, not bars: diagnostics run on bars' log returns", param_hint="--diagnostics")
            closes.append(batch.close)
    seconds = time.perf_counter() - t0
    meta = dict(feed.meta, batches=batches, seconds=round(seconds, 6))
    diag = None
    if diag_names is not None:
        import numpy as np

        from trader.exceptions import InvalidInputError
        from trader.research.diagnostics import log_returns, run_diagnostics

        try:
            diag = run_diagnostics(log_returns(np.concatenate(closes) if closes else np.empty(0)), diag_names)
        except InvalidInputError as e:  # e.g. too few bars: say which data
            raise InvalidInputError(f"--diagnostics: log returns of {path}: {e}") from None
        meta["diagnostics"] = {name: r.as_dict() for name, r in diag.items()}
    if as_json:
        click.echo(json.dumps(meta, indent=2, default=str))
        return
    if meta.get("kind") in ("trades", "quotes"):  # a tick source (trader.data.ticks)
        span = duration(meta["last_ts"] - meta["first_ts"]) if meta["first_ts"] is not None else "-"
        click.echo(f"file:     {meta['path']}  (source: {meta['source']})")
        click.echo(f"symbol:   {meta['symbol']}")
        click.echo(f"rows:     {meta['rows']}  ->  {meta['kind']}: {meta['ticks']} in {batches} batch(es)")
        click.echo(f"span:     {meta['first']} .. {meta['last']}  ({span})")
        if meta["ticks"]:
            click.echo(f"read:     {seconds:.3f} s ({meta['ticks'] / max(seconds, 1e-9):,.0f} ticks/s)")
        return
    g = meta["gaps"]
    span = duration(meta["last_ts"] - meta["first_ts"]) if meta["first_ts"] is not None else "-"
    click.echo(f"file:     {meta['path']}  (source: {meta['source']})")
    click.echo(f"symbol:   {meta['symbol']}")
    click.echo(f"rows:     {meta['rows']}  ->  bars: {meta['bars']} in {batches} batch(es)")
    click.echo(f"span:     {meta['first']} .. {meta['last']}  ({span})")
    click.echo(f"interval: {meta['interval']}")
    if g["count"]:
        click.echo(f"gaps:     {g['count']} ({g['missing_bars']} missing bars, largest {g['largest']}; policy {g['policy']})")
        for item in g["first"]:
            click.echo(f"  row {item['row']}: {item['after']} -> {item['before']} ({item['missing_bars']} missing)")
        if g["count"] > len(g["first"]):
            click.echo(f"  ... and {g['count'] - len(g['first'])} more")
    else:
        click.echo("gaps:     none")
    if meta["bars"]:
        click.echo(f"read:     {seconds:.3f} s ({meta['bars'] / max(seconds, 1e-9):,.0f} bars/s)")
    if diag is not None:
        _print_diagnostics(diag)


def _print_diagnostics(diag: dict) -> None:
    """Diagnostics of the log returns as a table: statistic, p-value, one-line conclusion."""
    from rich.table import Table

    def num(v) -> str:
        return "-" if v is None else f"{v:.4g}"

    table = Table(title="diagnostics of the log returns")
    for col, justify in (("diagnostic", "left"), ("statistic", "right"), ("p-value", "right"), ("conclusion", "left")):
        table.add_column(col, justify=justify)
    for name, r in diag.items():
        table.add_row(name, num(r.statistic), num(r.pvalue), r.conclusion)
    _console().print(table)


def _parse_params(items: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected key=value, got {item!r}", param_hint="-p")
        out[key.strip()] = value.strip()
    return out


@cli.command()
@click.option("--strategy", "-s", "strategy_name", default="ema_cross", show_default=True, help="Strategy name (see `trader strategies`), or path/to/file.py:ClassName, or package.module:ClassName.")
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE", help="Strategy parameter, repeatable.")
@click.option("--data", "paths", multiple=True, metavar="PATH", help="Bar file(s); several = several instruments. Default: the synthetic series.")
@click.option("--source", "source_name", help="Data source by name (default: the first that can open PATH).")
@click.option("--symbol", help="Instrument symbol (one --data only; default: from the file name).")
@click.option("--start", help="First bar to include (ISO date/time, UTC).")
@click.option("--end", help="Stop before this time (ISO date/time, UTC).")
@click.option("--gaps", "gap_policy", type=click.Choice(["report", "error", "fill"]), default="report", show_default=True, help="What to do with gaps in time.")
@click.option("-o", "--option", "options", multiple=True, metavar="KEY=VALUE", help="Data source option, e.g. -o bars=1000000 -o seed=7.")
@click.option("--cash", type=float, default=10_000.0, show_default=True, help="Initial cash (quote currency).")
@click.option("--fee-bps", type=float, default=0.0, show_default=True, help="Fee per fill, basis points of notional.")
@click.option("--slippage-bps", type=float, default=0.0, show_default=True, help="Market fills move against you by this much.")
@click.option("--fill-at", type=click.Choice(["next_open", "close"]), default="next_open", show_default=True, help="Where market orders fill.")
@click.option("--mode", type=click.Choice(["event", "vectorized", "auto"]), default="event", show_default=True, help="Python callbacks per bar, or the strategy's arrays simulated in Rust.")
@click.option("--account", type=click.Choice(["cash", "margin"]), default="cash", show_default=True, help="Spot cash account, or a perpetuals margin account (isolated margin, liquidation, funding).")
@click.option("--leverage", type=float, default=1.0, show_default=True, help="Margin account: leverage (initial margin = 1/leverage).")
@click.option("--maintenance-margin", type=float, default=0.005, show_default=True, help="Margin account: maintenance margin rate (fraction).")
@click.option("--liquidation-fee", type=float, default=0.0, show_default=True, help="Margin account: fee on a liquidated notional (fraction).")
@click.option("--funding-rate", type=float, default=None, help="Margin account: constant funding rate (fraction) every 8 h (00/08/16 UTC).")
@click.option("--maker-fee-bps", type=float, default=None, help="Maker fee in bps (negative: rebate; default: --fee-bps).")
@click.option("--taker-fee-bps", type=float, default=None, help="Taker fee in bps (default: --fee-bps).")
@click.option("--slippage", "slippage_model", default="fixed", show_default=True, metavar="MODEL", help="Slippage model: fixed (--slippage-bps), none, spread (--spread-bps), sqrt (square-root impact, --impact-k), or a fill model NAME[:k=v,...] (see `trader plugins`).")
@click.option("--fill-model", metavar="MODEL", help="Bar fill model NAME[:k=v,...], e.g. bars:path=ohlc,participation=0.1.")
@click.option("--latency", metavar="MODEL", help="Latency model NAME[:k=v,...], e.g. constant:submit_ms=50 or lognormal:submit_ms=20,sigma=0.5.")
@click.option("--fees", "fee_model", metavar="MODEL", help="Fee model NAME[:k=v,...], e.g. tiered:schedule=binance_usdm or flat:maker_bps=-1,taker_bps=4.")
@click.option("--spread-bps", type=float, default=0.0, show_default=True, help="Assumed spread for --slippage spread.")
@click.option("--impact-k", type=float, default=1.0, show_default=True, help="Coefficient of --slippage sqrt.")
@click.option("--price-precision", type=click.IntRange(0, 9), default=None, help="Price decimals (default: inferred from the data).")
@click.option("--size-precision", type=click.IntRange(0, 9), default=6, show_default=True, help="Quantity decimals.")
@click.option("--off-tick", type=click.Choice(["round", "reject"]), default="round", show_default=True, help="A strategy's price between two ticks: round toward the order's conservative side (a buy limit down, a sell limit up, stops so they trigger no earlier), or reject it.")
@click.option("--off-lot", type=click.Choice(["round", "reject"]), default="round", show_default=True, help="A strategy's quantity between two lots: round down (reported as a warning), or reject it.")
@click.option("--batch-size", type=click.IntRange(min=1), default=1_000_000, show_default=True, help="Bars per batch streamed into the engine.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every statistic on stdout.")
@click.option("--fills-out", type=click.Path(dir_okay=False), help="Write the fills to PATH.csv or PATH.parquet.")
@click.option("--trades-out", type=click.Path(dir_okay=False), help="Write the round trips (entry/exit, PnL, return, fees, holding time, exit reason, MAE/MFE) to PATH.csv, .parquet or .feather.")
@click.option("--tables-out", type=click.Path(file_okay=False), help="Write orders, fills, trades and positions tables (Arrow) into DIR, and the saved run (run.json, equity, candles) that `trader report DIR` draws.")
@click.option("--tables-format", type=click.Choice(["parquet", "csv", "feather"]), default="parquet", show_default=True, help="Format of --tables-out.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), metavar="PATH.html", help="Write the tearsheet to PATH.html (self-contained, opens offline): equity vs buy-and-hold, drawdowns, returns, price with trades, round trips, risk.")
@click.option("--returns-out", "returns_out", type=click.Path(dir_okay=False), metavar="PATH", help="Write the daily returns (UTC dates, column returns: what quantstats and pyfolio read) to PATH.csv or .parquet.")
@_risk_options
def backtest(strategy_name, params, paths, source_name, symbol, start, end, gap_policy, options, cash, fee_bps, slippage_bps, fill_at, mode,
             account, leverage, maintenance_margin, liquidation_fee, funding_rate, maker_fee_bps, taker_fee_bps, slippage_model,
             fill_model, latency, fee_model,
             spread_bps, impact_k, price_precision, size_precision, off_tick, off_lot, batch_size, as_json, fills_out, trades_out,
             tables_out, tables_format, report_path, returns_out, risk_config, risk_limits, risk_layer_specs, risk_bypass, audit_log) -> None:
    """Backtest a strategy on bar data (the seeded synthetic series when no --data is given)."""
    from trader.backtest import run_backtest

    _check_outputs(inputs=(*paths, risk_config or ""), fills_out=fills_out, tables_out=tables_out, report=report_path,
                   audit_log=audit_log, trades_out=trades_out)
    if report_path or returns_out:
        from trader.cli_report import check_report_path, check_returns_path

        if report_path:
            check_report_path(report_path)
        if returns_out:
            check_returns_path(returns_out, {"--fills-out": fills_out, "--trades-out": trades_out, "--audit-log": audit_log},
                               inputs=(*paths, risk_config or ""))
    risk = _risk_settings(risk_config, risk_limits, risk_layer_specs, risk_bypass)
    if symbol and len(paths) > 1:
        raise click.BadParameter("--symbol works with one --data only", param_hint="--symbol")
    opts = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--option")
        opts[key.strip()] = _option_value(value.strip())
    show_progress = not as_json and sys.stderr.isatty()
    result = run_backtest(
        strategy_name, _parse_params(params), list(paths) or [None], source=source_name, symbol=symbol, start=start, end=end,
        gap_policy=gap_policy, options=opts, cash=cash, fee_bps=fee_bps, slippage_bps=slippage_bps, fill_at=fill_at, mode=mode,
        price_precision=price_precision, size_precision=size_precision, batch_size=batch_size, progress=show_progress,
        account=account, leverage=leverage, maintenance_margin=maintenance_margin, liquidation_fee=liquidation_fee,
        funding_rate=funding_rate, maker_fee_bps=maker_fee_bps, taker_fee_bps=taker_fee_bps, slippage=slippage_model,
        fill_model=fill_model, latency=latency, fees=fee_model,
        spread_bps=spread_bps, impact_k=impact_k, risk=risk, off_tick=off_tick, off_lot=off_lot,
    )
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if result.meta.get("funding_source"):
        click.echo(f"funding: the margin account pays the rates of {result.meta['funding_source']} (--funding-rate overrides)", err=True)
    if audit_log:
        from trader.risk import write_audit_log

        write_audit_log(result.audit, audit_log)
    if fills_out:
        result.write_fills(fills_out)
    if trades_out:
        result.write_table("trades", trades_out)
    if tables_out:
        import os

        os.makedirs(tables_out, exist_ok=True)
        for name in ("orders", "fills", "trades", "positions"):
            result.write_table(name, os.path.join(tables_out, f"{name}.{tables_format}"))
    if report_path or tables_out:  # the tearsheet, and the saved run `trader report DIR` draws it from
        from trader.cli_report import backtest_record
        from trader.report import write_run_report
        from trader.report.run import save_run

        record = backtest_record(result, click.get_current_context().params)
        if tables_out:
            save_run(record, tables_out)
        if report_path:
            write_run_report(record, report_path)
    if returns_out:
        from trader.cli_report import write_returns

        write_returns(result, returns_out)
    if as_json:
        click.echo(json.dumps(result.summary(), default=str))
        return
    from trader.report import print_summary

    print_summary(result)


@cli.command()
@click.option("--strategy", "-s", "strategy_name", default="ema_cross", show_default=True, help="Strategy name (see `trader strategies`), or path/to/file.py:ClassName.")
@click.option("--grid", "-g", "grid", multiple=True, metavar="NAME=VALUES", help="A parameter to sweep: start:stop:step (stop included), a,b,c, or one value. Repeatable.")
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE", help="A parameter every run gets. Repeatable.")
@click.option("--data", "paths", multiple=True, metavar="PATH", help="Bar file (default: the synthetic series).")
@click.option("--method", type=click.Choice(["grid", "random", "tpe", "cmaes"]), default="grid", show_default=True, help="Every combination; --trials of them drawn at random (seeded); or an Optuna search of --trials runs over the grid's ranges (TPE, or CMA-ES), stored in --storage and resumed from it.")
@click.option("--trials", type=click.IntRange(min=1), default=None, help="Runs of --method random, tpe or cmaes.")
@click.option("--objective", default="sharpe", show_default=True, metavar="NAME[,NAME]", help="What ranks the runs: sharpe, sortino, calmar, return, cagr, profit_factor, win_rate, expectancy, final_equity, max_drawdown (lower is better); two or more (e.g. return,max_drawdown) for a multi-objective TPE search.")
@click.option("--storage", metavar="URL", default=None, help="Optuna storage of the study (default sqlite:///trader-optuna.db here; any database Optuna supports, shared by workers on several machines).")
@click.option("--study", metavar="NAME", default=None, help="The study's name in --storage (default: the strategy and the grid). The same name resumes it.")
@click.option("--prune", is_flag=True, help="Optuna: stop a trial early when its return so far, at each quarter of the bars, is below the median of the earlier trials' there.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --method random and of the bootstraps.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes of a local Dask cluster (default: the machine's cores; 1: in this process).")
@click.option("--scheduler", metavar="ADDRESS", default=None, help="a Dask scheduler (tcp://HOST:PORT) to run on; default: a local cluster of --jobs processes")
@click.option("--cash", type=float, default=10_000.0, show_default=True, help="Initial cash (quote currency).")
@click.option("--fee-bps", type=float, default=0.0, show_default=True, help="Fee per fill, basis points of notional.")
@click.option("--slippage-bps", type=float, default=0.0, show_default=True, help="Market fills move against you by this much.")
@click.option("--fill-at", type=click.Choice(["next_open", "close"]), default="next_open", show_default=True, help="Where market orders fill.")
@click.option("--mode", type=click.Choice(["event", "vectorized", "auto"]), default="auto", show_default=True, help="Python callbacks per bar, or the strategy's arrays simulated in Rust (auto: when it has them).")
@click.option("--account", type=click.Choice(["cash", "margin"]), default="cash", show_default=True, help="Spot cash account, or a perpetuals margin account.")
@click.option("--leverage", type=float, default=1.0, show_default=True, help="Margin account: leverage.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="Write every run (parameters and statistics) to PATH.parquet, .csv or .feather.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), metavar="PATH.html", help="Write a plot of the sweep to PATH.html (self-contained, opens offline): a heatmap of the objective over two parameters, a line over one, parallel coordinates over more.")
@click.option("--returns", "returns_path", type=click.Path(dir_okay=False), help="Write the runs' daily returns (a date column, then one column per run, named by its parameters) to PATH.parquet, .csv or .feather, for `trader research overfit`.")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True, help="Rows of the table printed.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (best run, overfitting statistics, every run) on stdout.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), metavar="PATH.html", help="Write a comparison of the best --report-top runs (each run again with `trader backtest`) to PATH.html: overlaid equity, one statistics column per run.")
@click.option("--report-top", type=click.IntRange(min=1, max=20), default=5, show_default=True, help="Runs compared by --report.")
def optimize(strategy_name, grid, params, paths, method, trials, objective, storage, study, prune, seed, jobs, scheduler, cash, fee_bps, slippage_bps,
             fill_at, mode, account, leverage, out_path, plot_path, returns_path, top, as_json, report_path, report_top) -> None:
    """Sweep a strategy's parameters: one backtest per combination, ranked by an objective, with
    the statistics that say whether the best is real (deflated Sharpe ratio, PBO, Reality Check,
    SPA) printed beside it."""
    from trader.research.sweep import OBJECTIVES, sweep

    for name in objective.split(","):
        if name.strip() not in OBJECTIVES:
            raise click.BadParameter(f"unknown objective {name.strip()!r}; one of {', '.join(OBJECTIVES)}", param_hint="--objective")
    if not grid:
        raise click.BadParameter("give at least one parameter to sweep, e.g. --grid fast=5:25:2", param_hint="--grid")
    if len(paths) > 1:
        raise click.BadParameter("a sweep runs on one bar file", param_hint="--data")
    if trials is not None and method == "grid":
        raise click.BadParameter("a grid runs every combination: --trials goes with --method random, tpe or cmaes",
                                 param_hint="--trials")
    if method != "grid" and trials is None:
        raise click.BadParameter(f"--method {method} needs --trials N", param_hint="--trials")
    if (storage or study) and method not in ("tpe", "cmaes"):
        raise click.BadParameter("only with --method tpe or cmaes (an Optuna study)", param_hint="--storage/--study")
    _check_outputs(inputs=paths, out=out_path, plot=plot_path, returns=returns_path, report=report_path)
    if report_path:
        from trader.cli_report import check_report_path

        check_report_path(report_path)
    if plot_path:
        from trader.research.plots import require_plotly

        require_plotly()
    show_progress = not as_json and sys.stderr.isatty()
    progress = None
    if show_progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True)
        bar.start()
        task = bar.add_task("runs", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)
    try:
        result = sweep(strategy_name, list(grid), paths[0] if paths else None, method=method, trials=trials,
                       objective=objective, seed=seed, jobs=jobs, fixed=_parse_params(params), progress=progress,
                       storage=storage, study=study, scheduler=scheduler, prune=prune,
                       cash=cash, fee_bps=fee_bps, slippage_bps=slippage_bps, fill_at=fill_at, mode=mode, account=account,
                       leverage=leverage)
    finally:
        if show_progress:
            bar.stop()
    if out_path:
        result.write(out_path)
    if plot_path:
        result.plot(plot_path)
    if returns_path:
        from trader.cli_research import write_sweep_returns

        write_sweep_returns(result, returns_path)
    if report_path:
        from trader.cli_report import optimize_report

        optimize_report(result, report_path, report_top, {
            "data": paths[0] if paths else None, "params": _parse_params(params), "cash": cash, "fee_bps": fee_bps,
            "slippage_bps": slippage_bps, "fill_at": fill_at, "mode": mode, "account": account, "leverage": leverage})
    if as_json:
        click.echo(json.dumps(result.summary(), default=str))
        return
    _print_sweep(result, top)
    if plot_path:
        _console().print(f"plot: {plot_path}", markup=False)
    if returns_path:
        _console().print(f"returns: {returns_path} ({result.returns.shape[0]} days x {result.returns.shape[1]} runs; "
                         f"`trader research overfit {returns_path}` tests them)", markup=False)


def _print_sweep(result: Any, top: int) -> None:
    from rich.table import Table

    from trader.research.sweep import OBJECTIVES

    key, maximize = result.objective.split(",")[0], result.maximize
    stat = OBJECTIVES[key][0]

    def score(row: dict[str, Any]) -> float:
        v = row.get(stat)
        if v is None or v != v:
            return float("-inf")
        return float(v) if maximize else -float(v)

    rows = sorted(result.rows, key=score, reverse=True)[:top]
    table = Table(title=f"{result.strategy}: {len(result.rows)} runs by {key}")
    for p in result.params:
        table.add_column(p, justify="right")
    for c in ("sharpe", "total_return", "max_drawdown", "trades"):
        table.add_column(c, justify="right")
    def cell(v: Any, fmt: str) -> str:  # a statistic a run could not give (no returns): a dash
        return "-" if v is None or (isinstance(v, float) and v != v) else format(v, fmt)

    for r in rows:
        cells = [str(r[p]) for p in result.params]
        cells += [cell(r.get("sharpe"), ".2f"), cell(r.get("total_return"), "+.2%"), cell(r.get("max_drawdown"), ".2%"),
                  str(r.get("trades", "-"))]
        table.add_row(*cells)
    console = _console()
    console.print(table)
    best = result.best
    value = best[stat]
    shown = f"{value:.4g}" if isinstance(value, float) else str(value)
    console.print("best: " + ", ".join(f"{p}={best[p]}" for p in result.params) + f"  ({stat} {shown})")
    if result.pareto:
        stats_ = [OBJECTIVES[k][0] for k in result.objective.split(",")]
        console.print(f"Pareto front ({', '.join(stats_)}): " + "; ".join(
            ", ".join(f"{p}={result.rows[i][p]}" for p in result.params) + " -> " + ", ".join(
                f"{result.rows[i][st]:.4g}" for st in stats_) for i in result.pareto))
    o = result.overfitting
    if o is None:
        console.print("overfitting: not computed (fewer than 2 runs, fewer than 8 days of returns, or no run traded)")
    else:
        console.print(f"overfitting ({o.n_trials} runs, {o.n_periods} days of returns): best Sharpe {o.sharpe_annual:.2f} a year; "
                      f"probabilistic Sharpe {o.psr:.3f}; deflated Sharpe {o.dsr:.3f} (the best of {o.n_trials} noise runs "
                      f"would show {o.sr_star_annual:.2f}); PBO {o.pbo:.2f}; Reality Check p {o.reality_check_pvalue:.3f}; "
                      f"SPA p {o.spa_pvalue:.3f}")
    console.print(f"{result.bars:,} bars x {len(result.rows)} runs in {result.elapsed_s:.2f} s ({result.runner}): "
                  f"{result.bar_combos_per_s:,.0f} bar-combos/s")


@cli.command()
@click.option("--show", "show", metavar="NAME", help="One strategy in full: its parameters (type, default, constraints, description), docstring and source file:line.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
def strategies(show: str | None, as_json: bool) -> None:
    """List the strategies every plugin provides, with their parameters and defaults."""
    from trader.plugins import get_plugin_manager, strategies as all_strategies

    if show is not None:
        from trader.cli_new import show_strategy

        show_strategy(show, as_json, _console())
        return
    pm = get_plugin_manager()
    found = all_strategies(pm)
    rows = []
    for name, cls in sorted(found.items()):
        rows.append({
            "name": name,
            "description": getattr(cls, "description", ""),
            "params": {k: {"default": p.default, "type": p.type.__name__, "help": p.help} for k, p in cls.params().items()},
        })
    if as_json:
        click.echo(json.dumps(rows, default=str, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="strategies")
    table.add_column("name", style="bold")
    table.add_column("parameters (default)")
    table.add_column("description")
    for r in rows:
        ps = ", ".join(f"{k}={v['default']!r}" for k, v in r["params"].items())
        table.add_row(r["name"], ps, r["description"])
    _console().print(table)


@cli.command("backtest-l2")
@click.argument("paths", nargs=-1, required=True, metavar="RECORDING...")
@click.option("--market", type=click.Choice(["usdm", "spot", "cm"]), default=None, help="Binance market of the recording (default: detected from it: diffs with pu are futures, with ps coin-M).")
@click.option("--strategy", "-s", "strategy_name", default="native", show_default=True, help="Strategy name, or 'native' for the Rust passive market maker.")
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE", help="Strategy parameter, repeatable (native: qty, max_position in units, contracts on cm; offset_ticks).")
@click.option("--bar", metavar="INTERVAL", help="Build bars of INTERVAL (1m, 5s, 1h) from the trades for a strategy's on_bar.")
@click.option("--fill-model", metavar="MODEL", help="l2[:queue=power,power=2] or l2:queue=risk_averse (see `trader plugins`).")
@click.option("--elapse-ms", type=float, default=100.0, show_default=True, help="on_book is called every this many ms of market time.")
@click.option("--latency", metavar="MODEL", help="Latency model NAME[:k=v,...], e.g. constant:submit_ms=5 or lognormal:submit_ms=2,sigma=0.5.")
@click.option("--maker-fee-bps", type=float, default=0.0, show_default=True, help="Maker fee (negative: rebate).")
@click.option("--taker-fee-bps", type=float, default=0.0, show_default=True, help="Taker fee.")
@click.option("--cash", type=click.FloatRange(min=0), default=None, help="Cash at the start, quote currency (default 10,000; 1 coin on coin-M).")
@click.option("--account", type=click.Choice(["cash", "margin"]), default=None, help="Account (default: the market's: cash on spot, margin on futures).")
@click.option("--leverage", type=float, default=1.0, show_default=True, help="Margin account: leverage.")
@click.option("--fills-out", type=click.Path(dir_okay=False), help="Write the fills to PATH.csv or PATH.parquet.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), metavar="PATH.html", help="Write the run's report to PATH.html (self-contained): PnL and inventory, fills, fees/rebates, risk.")
@_risk_options
def backtest_l2(paths, market, strategy_name, params, bar, fill_model, elapse_ms, latency, maker_fee_bps, taker_fee_bps, cash, account, leverage,
                fills_out, as_json, report_path, risk_config, risk_limits, risk_layer_specs, risk_bypass, audit_log) -> None:
    """Backtest on raw Binance WebSocket recordings (depth diffs + REST snapshot, trades,
    bookTicker): the book is rebuilt in Rust, market orders walk it, resting limits keep a queue
    position. A strategy gets on_trade, on_quote, on_book (every --elapse-ms) and, with --bar,
    on_bar. Every order passes the risk engine first (--risk-*; the run's instrument is the
    recording's symbol, e.g. BTCUSDT)."""
    import os

    from trader.l2 import run_l2_backtest, write_fills
    from trader.paths import check_output_file

    for path in paths:
        if not os.path.isfile(path):
            raise click.BadParameter(f"{path}: no such file", param_hint="RECORDING")
    if fills_out:
        check_output_file(fills_out, "--fills-out", (".csv", ".parquet"))
    if audit_log:
        check_output_file(audit_log, "--audit-log")
    if report_path:
        from trader.cli_report import check_report_path

        check_report_path(report_path)
    risk = _risk_settings(risk_config, risk_limits, risk_layer_specs, risk_bypass)
    strategy = None if strategy_name == "native" else strategy_name
    kw = _parse_params(params)
    if strategy is None:  # the native maker takes numbers; a Strategy converts its own Params
        kw = {k: _option_value(v) for k, v in kw.items()}
    report = run_l2_backtest(list(paths), strategy, market=market, bar=bar, fill_model=fill_model, elapse_ms=elapse_ms,
                             maker_fee_bps=maker_fee_bps, taker_fee_bps=taker_fee_bps, latency=latency, risk=risk,
                             cash=cash, account=account, leverage=leverage, **kw)
    if fills_out:
        write_fills(report, fills_out)
    if report_path:
        from trader.cli_report import l2_report

        l2_report(report, report_path, click.get_current_context().params)
    report.pop("fill_columns", None)
    audit = report.pop("audit", [])
    if audit_log:
        from trader.risk import write_audit_log

        write_audit_log(audit, audit_log)
    if as_json:
        click.echo(json.dumps(report, default=str))
        return
    _print_l2_report(report)


@cli.command("live")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="A TOML file: a [live] table with these options (and an optional [risk] table); flags win over it.")
@click.option("--strategy", "-s", "strategy_name", default=None, help="Strategy name, or path/to/file.py:ClassName (default l2_market_maker).")
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE", help="Strategy parameter, repeatable.")
@click.option("--paper/--real", "paper", default=None, help="Paper trading on the simulated venue (the default with --venue sim), or real orders (the default with a real venue).")
@click.option("--venue", default=None, metavar="NAME[:k=v,...]", help="Execution client: sim (paper, the default) or a real venue, e.g. binance[:market=usdm,symbols=BTCUSDT,rest_url=...] (see `trader plugins`).")
@click.option("--feed", default=None, metavar="SPEC", help="Market data: synthetic[:seed=7,rate=20,price=50000,symbol=X] (the default), replay:PATH[,PATH...] (a recorded Binance WebSocket file), or a data client's NAME[:k=v,...] (binance:market=usdm,symbols=BTCUSDT; bybit:category=linear,symbol=BTCUSDT; okx:inst_type=SWAP,symbol=BTC-USDT-SWAP), or failover:primary=SPEC;backup=SPEC[;backup=SPEC...][;stale_ms=N;healthy_s=S;reconnect_s=S] (one instrument from several sources of trades and quotes, switching when the active one goes silent or breaks). With a real venue: its own market data.")
@click.option("--credentials", default=None, type=click.Path(dir_okay=False), help="A real venue's API key and secret: a TOML file (api_key, secret) readable only by you. Default: the venue's environment variables (BINANCE_API_KEY, BINANCE_API_SECRET).")
@click.option("--testnet", is_flag=True, default=None, help="The real venue's test network (Binance's testnet).")
@click.option("--speed", default=None, metavar="X|max", help="Replay pace: X times the recorded pace, or max (as fast as the node goes). Default 1.")
@click.option("--state", "state_dir", default=None, metavar="DIR", help="The node's folder: the store (SQLite), control token and endpoint, logs, audit logs, final status. An existing one is resumed (rebuilt, reconciled, the feed continued). Default: $TRADER_STATE_DIR, else trader/live under the user's data directory.")
@click.option("--store", default=None, metavar="URL", help="Persist to PostgreSQL (postgresql://user@host/db) instead of SQLite in the state folder.")
@click.option("--persist/--no-persist", "persist", default=None, help="Write-ahead commands and persist state so a crash loses nothing (default on).")
@click.option("--store-sync", type=click.Choice(["normal", "full"]), default=None, help="SQLite durability: normal survives a killed process, full also a power cut (fsync per commit). Default normal.")
@click.option("--flush-ms", type=float, default=None, help="Write a batch (events, fills, state, checkpoint) at most every this many ms (default 200; 0: after every feed batch).")
@click.option("--adopt-position", is_flag=True, default=None, help="On restart, take the venue's position when it still differs after reconciliation (default: halt with a report).")
@click.option("--inflight-timeout", default=None, metavar="SECONDS", help="Query the venue for orders stuck submitted/pending this long (default 5).")
@click.option("--control", default=None, metavar="HOST:PORT", help="Address of the control API (default 127.0.0.1:0, a free port; printed at start).")
@click.option("--token-file", default=None, type=click.Path(dir_okay=False), help="File holding the control API's token (default: TRADER_CONTROL_TOKEN, else one is generated into the state folder).")
@click.option("--duration", default=None, metavar="SECONDS", help="Stop by itself after this long (90, 90s, 5m, 1h). Default: until stopped (a replay: its end).")
@click.option("--json", "as_json", is_flag=True, default=None, help="Print the final status as one JSON object on stdout.")
@click.option("--fills-out", default=None, type=click.Path(dir_okay=False), help="Write the fills to PATH.csv or PATH.parquet at the end.")
@click.option("--cash", type=float, default=None, help="Paper account's cash at the start, quote currency (default 10,000).")
@click.option("--market", type=click.Choice(["usdm", "spot", "cm"]), default=None, help="Market (default: the feed's; a recording's is detected).")
@click.option("--account", type=click.Choice(["cash", "margin"]), default=None, help="Paper account (default: the market's: cash on spot, margin on futures).")
@click.option("--leverage", type=float, default=None, help="Margin account: leverage (default 1).")
@click.option("--maker-fee-bps", type=float, default=None, help="Paper venue's maker fee (negative: rebate). Default 0.")
@click.option("--taker-fee-bps", type=float, default=None, help="Paper venue's taker fee. Default 0.")
@click.option("--latency", default=None, metavar="MODEL", help="Paper venue's latency model, e.g. constant:submit_ms=5.")
@click.option("--risk-config", default=None, type=click.Path(dir_okay=False), help="Risk limits and layers (TOML with a [risk] table).")
@click.option("--bar", default=None, metavar="INTERVAL", help="Build bars of INTERVAL (1m, 5s) from the trades for a strategy's on_bar.")
@click.option("--elapse-ms", type=float, default=None, help="on_book is called every this many ms of event time (default 100).")
@click.option("--stop-timeout", default=None, metavar="SECONDS", help="Longest a graceful stop may take (default 30).")
@click.option("--cancel-on-stop/--leave-orders", "cancel_on_stop", default=None, help="On stop, cancel the working orders (the default) or leave them.")
@click.option("--watchdog", default=None, metavar="SECONDS", help="HALT when a strategy callback or the loop stalls this long (default 5).")
@click.option("--log-level", default=None, type=click.Choice(["debug", "info", "warning", "error"]), help="Log level of the JSON logs (stderr and STATE/node.log, 10 MB x 3; no line per event at info). Default info.")
@click.option("--log-file", default=None, type=click.Path(dir_okay=False), help="Log file (default STATE/node.log).")
@click.option("--report", "report_path", default=None, type=click.Path(dir_okay=False), metavar="PATH.html", help="At the end, write the run's report to PATH.html (self-contained): the final status, then each strategy's PnL, inventory, fills, fees and risk.")
def live(config_path, strategy_name, params, paper, venue, feed, credentials, testnet, speed, state_dir, store, persist, store_sync, flush_ms,
         adopt_position, inflight_timeout, control, token_file, duration, as_json,
         fills_out, cash, market, account, leverage, maker_fee_bps, taker_fee_bps, latency, risk_config, bar, elapse_ms,
         stop_timeout, cancel_on_stop, watchdog, log_level, log_file, report_path) -> None:
    """Run strategies live: paper trading on a real-time feed (with no arguments: the bundled
    market maker on a synthetic feed, until Ctrl-C). The engine is the backtests' own: a replay at
    --speed max gives the fills of `trader backtest-l2` on the same recording. Stop with Ctrl-C or
    SIGTERM (graceful: working orders canceled, final status printed; a second Ctrl-C exits at
    once); control it meanwhile with `trader ctl` (status, pause, resume, halt, flatten...)."""
    import asyncio

    from trader.live.config import load_live_config
    from trader.live.node import LiveNode, write_live_fills

    flags = {"strategy": strategy_name, "params": _parse_params(params) if params else None, "paper": paper,
             "venue": venue, "feed": feed, "credentials": credentials, "testnet": testnet, "speed": speed, "state": state_dir, "store": store, "persist": persist,
             "store_sync": store_sync, "flush_ms": flush_ms, "adopt_position": adopt_position,
             "inflight_timeout": inflight_timeout, "control": control,
             "token_file": token_file, "duration": duration, "json": as_json, "fills_out": fills_out, "cash": cash,
             "market": market, "account": account, "leverage": leverage, "maker_fee_bps": maker_fee_bps,
             "taker_fee_bps": taker_fee_bps, "latency": latency, "risk_config": risk_config, "bar": bar,
             "elapse_ms": elapse_ms, "stop_timeout": stop_timeout, "cancel_on_stop": cancel_on_stop,
             "watchdog": watchdog, "log_level": log_level, "log_file": log_file}
    cfg = load_live_config(config_path, flags)
    if report_path:
        from trader.cli_report import check_report_path

        check_report_path(report_path)
    node = LiveNode(cfg)
    summary = asyncio.run(node.run())
    if cfg.fills_out:
        write_live_fills(node.slots, cfg.fills_out)
    if report_path:
        from trader.cli_report import live_report

        live_report(summary, node.slots, report_path, cfg.cash)
    if cfg.json:
        click.echo(json.dumps(summary, default=str))
        return
    _print_live_summary(summary)


def _print_live_summary(summary: dict) -> None:
    """The final status as a table: one column per strategy."""
    from rich.table import Table

    node = summary["node"]
    rows = summary["strategies"]
    table = Table(title=f"trader live ({'paper' if node['paper'] else 'real'}): stopped, {node['stop_reason']}")
    table.add_column("", style="bold")
    for r in rows:
        table.add_column(f"{r['id']} ({r['strategy']})", justify="right")

    def fmt(v, spec=",.4f"):
        return "" if v is None else (format(v, spec) if isinstance(v, (int, float)) else str(v))

    lines = [
        ("feed", lambda r: node["feed"]), ("symbol", lambda r: str(node.get("symbol") or "")),
        ("events", lambda r: fmt(r["events"], ",")), ("orders", lambda r: fmt(r["orders"], ",")),
        ("fills", lambda r: fmt(r["fills"], ",")), ("position", lambda r: fmt(r["position"], "g")),
        ("cash", lambda r: fmt(r["cash"])), ("equity", lambda r: fmt(r["equity"])), ("net PnL", lambda r: fmt(r["pnl"])),
        ("fees", lambda r: fmt(r["fees"])), ("max drawdown", lambda r: fmt(100 * r["max_drawdown"], ".2f") + " %"),
        ("win rate", lambda r: "none" if r["win_rate"] is None else f"{100 * r['win_rate']:.1f} % of {r['closing_fills']}"),
        ("tick-to-order p50 / p99", lambda r: "none" if r["latency_p50_us"] is None else
         f"{r['latency_p50_us']:.1f} / {r['latency_p99_us']:.1f} us"),
        ("trading state", lambda r: str(r["trading_state"])),
        ("risk denials", lambda r: ", ".join(f"{k}: {n:,}" for k, n in r["risk_denials"].items()) or "none"),
    ]
    for name, get in lines:
        table.add_row(name, *[get(r) for r in rows])
    _console().print(table)
    if "comparison" in summary:
        _console().print(f"best PnL: {summary['comparison']['best_pnl']}")


def _print_l2_report(report: dict) -> None:
    """The L2 report as a table: what was run, the account (PnL, equity at the last mid), then the
    counts; times in ISO 8601 UTC."""
    from rich.table import Table

    unit = report.get("pnl_currency") or ""

    # a fixed number of decimals per currency, as the bar summary prints money: 4 in the quote
    # currency, 8 in a coin-M run's base coin (its PnL is in BTC)
    dp = 8 if unit else 4

    def money(v):
        return "" if v is None else f"{v:,.{dp}f} {unit}".rstrip()

    risk_report = report.get("risk", {})
    market = report["market"] + ("" if report.get("market_detected") in (None, report["market"]) else
                                 f" (the recording looks like {report['market_detected']})")
    rows = [
        ("symbol", str(report.get("symbol") or "")), ("market", market),
        ("first event", str(report.get("first_time"))), ("last event", str(report.get("last_time"))),
        ("realized PnL", money(report["realized_pnl"])), ("unrealized PnL", money(report["unrealized_pnl"])),
        ("fees", money(report["fees"])), ("net PnL", money(report["pnl"])),
        ("equity at last mid", money(report["equity"])), ("last mid", f"{report['last_mid']:,}" if report.get("last_mid") else "none"),
        ("position", f"{report['position']:g}"), ("cash", money(report["cash"])),
        ("orders", f"{report['orders']:,}"), ("fills", f"{report['fills']:,} ({report['maker_fills']:,} maker)"),
        ("volume", f"{report['volume']:g}"),
        ("events", f"{report['events']:,} ({report['depth_messages']:,} depth, {report['trade_messages']:,} trades, "
                   f"{report['ticker_messages']:,} tickers)"),
        ("strategy calls", f"on_book {report['strategy_calls']:,}, on_trade {report['trade_calls']:,}, "
                           f"on_quote {report['quote_calls']:,}, bars {report['bars']:,}"),
        ("sync errors", f"{report['sync_errors']:,}"), ("run time", f"{report['seconds']:.3f} s"),
        ("risk state", str(risk_report.get("state", ""))),
        ("risk denials", ", ".join(f"{k}: {n:,}" for k, n in (risk_report.get("denials") or {}).items()) or "none"),
        ("risk state changes", f"{len(risk_report.get('changes') or []):,}"),
    ]
    table = Table(title="L2 backtest")
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    for k, v in rows:
        table.add_row(k, v)
    _console().print(table)


@cli.group()
def exchange() -> None:
    """The local exchange: a sandbox that speaks a venue's protocol (no account needed)."""


@exchange.command("serve")
@click.option("--venue", type=click.Choice(["binance", "bybit", "okx"]), default="binance", show_default=True, help="Protocol to speak (Binance spot + USDⓈ-M, Bybit v5 spot + linear, or OKX v5 SPOT + SWAP).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="Port (0: any free port).")
@click.option("--feed", default="synthetic", show_default=True, metavar="synthetic|replay:PATH", help="Market data driving the books.")
@click.option("--feed-option", "feed_options", multiple=True, metavar="KEY=VALUE", help="Feed option, repeatable: seed=7 rate=200 symbol=BTCUSDT price=50000 (synthetic), speed=1|max lines=N (replay).")
@click.option("--accounts", type=click.Path(dir_okay=False), help="Accounts TOML ([[account]] api_key, secret, balances); default: one funded account, its key printed.")
@click.option("--chaos", help="Chaos spec, e.g. drop=0.01,gap=0.01,skew_ms=1500,disconnect=60s (see trader.exchange.chaos).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the chaos draws.")
def exchange_serve(venue, host, port, feed, feed_options, accounts, chaos, seed) -> None:
    """Serve the local exchange until interrupted."""
    import asyncio

    from trader.exceptions import InvalidInputError
    from trader.exchange import Exchange

    opts = {}
    for item in feed_options:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"--feed-option: expected KEY=VALUE, got {item!r}")
        opts[key.strip()] = value.strip()
    ex = Exchange(venue, feed, opts, accounts, chaos, seed)

    async def serve() -> None:
        try:
            bound = await ex.start(host, port)
        except OSError as e:
            raise InvalidInputError(f"--port: cannot listen on {host}:{port}: {e.strerror or e}") from None
        urls = " ".join(f"{name} {url}" for name, url in ex.front.stream_urls(host, bound).items())
        line = f"trader exchange ({venue}, {ex.feed.describe()}): rest http://{host}:{bound} streams: {urls}"
        if accounts is None:
            line += f" api_key {ex.accounts[0].api_key} secret {ex.accounts[0].secret}"
            if venue == "okx":
                line += f" passphrase {ex.accounts[0].passphrase}"
        click.echo(line)
        sys.stdout.flush()
        try:
            await asyncio.Event().wait()
        finally:
            await ex.stop()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


def run(argv: list[str] | None = None) -> None:
    """The process entry point (the ``trader`` command, ``python -m trader``): :func:`main`, then
    the exit code is handed to the OS without interpreter finalization.

    NB: pyarrow's C++ runtime sometimes aborts while the interpreter tears down ("terminate called
    without an active exception", ~1 run in 30-40 here, seen in CI), turning exit code 2 or 0 into
    a SIGABRT. Everything the CLI writes is closed before this point (files through context
    managers), so after flushing stdout/stderr nothing is lost by skipping the teardown.
    :func:`main` itself keeps raising ``SystemExit`` for in-process callers (tests)."""
    import os

    code = 0
    try:
        main(argv)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if e.code is not None and not isinstance(e.code, int):
            print(e.code, file=sys.stderr)
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass  # a closed pipe: nothing more can be delivered
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point: bad usage or bad input exits 2 with one line on stderr, no traceback."""
    try:
        cli.main(args=argv, prog_name="trader", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        # Usage and bad-value errors: one line, no usage block, exit 2 (the contract of every
        # bad-input path; `trader CMD --help` has the usage).
        click.echo(f"error: {printable(e.format_message())}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except StrategyError as e:
        cause = e.__cause__ or e
        traceback.print_exception(type(cause), cause, cause.__traceback__)
        click.echo(f"error: {printable(e)}; the run was stopped and no result was produced", err=True)
        sys.exit(1)
    except TraderError as e:
        click.echo(f"error: {printable(e)}", err=True)
        sys.exit(2)
