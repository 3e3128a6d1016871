"""``trader data download | list | resample``: market data into and out of the Parquet catalog
(:mod:`trader.data.catalog`, :mod:`trader.data.download`). Attached to the ``data`` group of
:mod:`trader.cli`; bad input exits 2 with one line, as every command does."""

from __future__ import annotations

import json
import sys

import click

_CATALOG_HELP = "Catalog folder (default: $TRADER_CATALOG, else trader/catalog under $XDG_DATA_HOME or ~/.local/share)."


@click.command()
@click.option("--venue", default="binance", show_default=True, type=click.Choice(["binance"]), help="Venue.")
@click.option("--market", required=True, type=click.Choice(["spot", "usdm"]), help="Spot, or USDⓈ-M futures.")
@click.option("--symbols", required=True, metavar="SYM[,SYM...]", help="Symbols, comma-separated: BTCUSDT,ETHUSDT.")
@click.option("--interval", default="1m", show_default=True, help="Kline interval (klines, markPriceKlines).")
@click.option("--kind", default="klines", show_default=True,
              type=click.Choice(["klines", "trades", "aggTrades", "fundingRate", "markPriceKlines"]),
              help="What to download (fundingRate and markPriceKlines: usdm only).")
@click.option("--start", required=True, help="First day (ISO date/time, UTC).")
@click.option("--end", default=None, help="Stop before this time (ISO date/time, UTC; default: now).")
@click.option("--catalog", "catalog_dir", type=click.Path(file_okay=False), default=None, help=_CATALOG_HELP)
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=8, show_default=True, help="Requests in flight at once.")
@click.option("--archive-url", default=None, metavar="URL", help="Public-data archive (default: $TRADER_BINANCE_ARCHIVE_URL, else https://data.binance.vision).")
@click.option("--rest-url", default=None, metavar="URL", help="REST base for the recent tail (default: $TRADER_BINANCE_REST_URL, else the venue's).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable result on stdout.")
def download(venue, market, symbols, interval, kind, start, end, catalog_dir, jobs, archive_url, rest_url, as_json) -> None:
    """Download market data from Binance's public archive (checksum-verified; the recent tail
    from REST) into the Parquet catalog. Resumable: a rerun fetches only what is missing."""
    from trader.data.catalog import months_between
    from trader.data.download import download as run_download
    from trader.data.download import make_request

    req = make_request(venue=venue, market=market, symbols=symbols, kind=kind, interval=interval, start=start, end=end,
                       catalog=catalog_dir, archive_url=archive_url, rest_url=rest_url, jobs=jobs)
    jobs_total = len(req.symbols) * len(months_between(req.start_ns, req.end_ns))
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    bar = Progress(TextColumn("[bold]download"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                   TimeElapsedColumn(), console=console, transient=True, disable=as_json or not console.is_terminal)
    with bar:
        task = bar.add_task("", total=jobs_total)
        results, waits = run_download(req, progress=lambda r: bar.update(task, advance=1, description=f"{r.symbol} {r.month}"))
    summary = {
        "catalog": str(req.catalog.root),
        "kind": kind,
        "interval": req.interval,
        "months": [{"symbol": r.symbol, "month": r.month, "status": r.status, "rows": r.rows, "complete": r.complete,
                    "missing": r.missing, "sources": r.sources} for r in results],
        "rate_limit_waits": len(waits),
        "waited_s": round(sum(waits), 3),
    }
    if as_json:
        click.echo(json.dumps(summary, default=str))
        return
    for symbol in req.symbols:
        mine = [r for r in results if r.symbol == symbol]
        written = [r for r in mine if r.status == "written"]
        skipped = [r for r in mine if r.status == "complete"]
        click.echo(f"{symbol} {req.key(symbol).part}: {len(written)} month(s) written ({sum(r.rows for r in written):,} rows), "
                   f"{len(skipped)} already complete -> {req.catalog.folder(req.key(symbol))}")
        for r in mine:
            if r.status in ("written", "kept") and not r.complete:
                click.echo(f"  {r.month}: incomplete ({r.rows:,} rows so far; a rerun adds the rest)")
            if r.missing:
                shown = ", ".join(r.missing[:5]) + (f" and {len(r.missing) - 5} more" if len(r.missing) > 5 else "")
                click.echo(f"  {r.month}: not in the archive nor from REST: {shown}")
            if r.status == "empty":
                click.echo(f"  {r.month}: no data anywhere")
    if waits:
        click.echo(f"rate limits: waited {len(waits)} time(s), {sum(waits):.1f} s in all")


@click.command("list")
@click.option("--catalog", "catalog_dir", type=click.Path(file_okay=False), default=None, help=_CATALOG_HELP)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable result on stdout.")
def list_(catalog_dir, as_json) -> None:
    """What the catalog holds: venue, market, symbol, interval or kind, first, last, rows, months, gaps."""
    from trader.data.catalog import Catalog

    cat = Catalog(catalog_dir)
    rows = cat.list()
    if as_json:
        click.echo(json.dumps({"catalog": str(cat.root), "entries": rows}))
        return
    if not rows:
        click.echo(f"the catalog {cat.root} is empty (fill it with `trader data download`)")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"catalog {cat.root}")
    for col in ("venue", "market", "symbol", "interval", "first", "last", "rows", "months", "gaps"):
        table.add_column(col, justify="right" if col in ("rows", "months", "gaps") else "left")
    for r in rows:
        months = f"{r['months']}" + (f" ({len(r['incomplete'])} incomplete)" if r["incomplete"] else "")
        table.add_row(r["venue"], r["market"], r["symbol"], r["interval"], r["first"] or "-", r["last"] or "-",
                      f"{r['rows']:,}", months, "-" if r["gaps"] is None else str(r["gaps"]))
    (Console() if sys.stdout.isatty() else Console(width=160)).print(table)


@click.command()
@click.argument("spec")
@click.option("--to", "to", required=True, metavar="INTERVAL", help="The coarser interval: 5m, 1h, 4h, 1d...")
@click.option("--start", default=None, help="First bar (ISO date/time, UTC; into the catalog: widened to its month).")
@click.option("--end", default=None, help="Stop before this time (ISO date/time, UTC; into the catalog: widened to its month).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None,
              help="Write the bars to PATH.parquet, .csv or .feather instead of into the catalog.")
@click.option("--catalog", "catalog_dir", type=click.Path(file_okay=False), default=None, help=_CATALOG_HELP)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable result on stdout.")
def resample(spec, to, start, end, out_path, catalog_dir, as_json) -> None:
    """Aggregate the bars of SPEC (catalog:VENUE/MARKET/SYMBOL/INTERVAL, or a bar file with --out)
    into --to bars, with the aggregation of trader's live bars; into the catalog beside the source
    (catalog:.../1h), or into --out."""
    import os

    from trader.data._time import parse_interval
    from trader.data.catalog import PREFIX, Catalog, Key, resample_bars
    from trader.exceptions import InvalidInputError

    parse_interval(to)  # a bad --to is refused before anything is read
    if out_path is None and not spec.startswith(PREFIX):
        raise InvalidInputError(f"--out: needed when SPEC is not a catalog entry ({spec!r}); e.g. --out bars_1h.parquet")
    cat = Catalog(catalog_dir)
    if out_path is None:
        target, months = cat.resample(Key.parse(spec), to, start, end)
        result = {"spec": f"{PREFIX}{target}", "months": [{"month": m.month, "rows": m.rows, "complete": m.complete} for m in months]}
        if as_json:
            click.echo(json.dumps(result))
            return
        click.echo(f"{PREFIX}{target}: {len(months)} month(s), {sum(m.rows for m in months):,} bars -> {cat.folder(target)}")
        return
    from trader.paths import check_output_file
    from trader.plugins import find_data_source

    check_output_file(out_path, "--out", (".parquet", ".csv", ".feather", ".arrow"))
    if os.path.exists(spec) and os.path.realpath(spec) == os.path.realpath(out_path):
        raise InvalidInputError(f"--out: {out_path}: is the input SPEC itself")
    opts = {"catalog": str(cat.root)} if spec.startswith(PREFIX) else {}
    bars = find_data_source(spec).open(spec, start=start, end=end, **opts).load()
    out = resample_bars(bars, to)
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    table = pa.table({"ts": pa.array(out.ts, pa.timestamp("ns", tz="UTC")), "open": out.open, "high": out.high,
                      "low": out.low, "close": out.close, "volume": out.volume})
    # atomic: a temporary file beside PATH, then a rename (never half a file at PATH)
    tmp = os.path.join(os.path.dirname(os.path.abspath(out_path)), f".{os.path.basename(out_path)}.tmp-{os.getpid()}")
    try:
        if out_path.endswith(".parquet"):
            pq.write_table(table, tmp)
        elif out_path.endswith((".feather", ".arrow")):
            feather.write_feather(table, tmp)
        else:
            pcsv.write_csv(table, tmp)
        os.replace(tmp, out_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    if as_json:
        click.echo(json.dumps({"out": out_path, "bars": len(out)}))
        return
    click.echo(f"{spec}: {len(bars):,} bars -> {len(out):,} bars of {to} -> {out_path}")
