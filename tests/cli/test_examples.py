"""Every example command funnelscope shows runs: ``funnelscope --help``, each command's
``--help`` (its ``Example:`` block, parsed from the real help output, so a new command is
covered without touching this file) and README.md (```bash / ```text blocks, ``$ `` lines).

Oracle: the exit status (0), on a demo workspace built once per session with
``funnelscope demo --dataset all --workspace TMP/demo/funnelscope.duckdb --export TMP/demo/data``
(fewer users than the default: the README's numbers come from the default demo, the exit
status does not); ``--format json`` output must parse as JSON too. Each help block and each README block runs in order in a fresh directory
whose ``demo/`` holds a copy of that demo, so ``--save`` and files written by one block never
reach another. Commands that write files are checked for the files (an ``--out`` HTML
report for its ``<html``), ``--save`` for saying what it saved; ``serve`` is started, asked
for /openapi.json (with the example's token, if any) and stopped.

Files an example names that the demo does not have are written by the test, never skipped:

* a data file an example reads (``load FILE``, ``--events FILE``, ``--orders FILE`` ...) is
  the demo's export of that table (:data:`SOURCES`), in the same format (CSV / Parquet),
  with the columns renamed as the example's own ``--map canonical=yours`` says; events files
  also hold a copy of the view / add_to_cart / pay events named 浏览 / 加购 / 支付
  (:data:`CHINESE_STEPS`, the README's ``--steps 浏览,加购,支付``);
* a workspace an example reads that neither the demo nor an earlier command of the block
  created comes from :data:`WORKSPACES`.

The only other changes to example commands are in :data:`ADJUSTMENTS`; README lines that do
not run funnelscope must be in :data:`EXCLUDED` (with the reason), anything else fails.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from funnelscope.analyses import registry

pytestmark = pytest.mark.slow  # ~45 CLI runs: 80-100 s on 2 busy cores

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FUNNELSCOPE = Path(sys.executable).parent / "funnelscope"
if not FUNNELSCOPE.exists():  # pragma: no cover - tests run with the venv's python
    FUNNELSCOPE = ROOT / ".venv" / "bin" / "funnelscope"
DEMO_USERS = "1500"
TIMEOUT = 180  # seconds per command

#: canonical table -> the demo export (under --export, without extension) its files come from
SOURCES = {
    "events": "ecommerce/events",
    "customers": "ecommerce/customers",
    "orders": "ecommerce/orders",
    "spend": "ecommerce/spend",
    "deals": "b2b/deals",
}
#: demo event -> the Chinese name its copy gets in the events files the test writes
CHINESE_STEPS = {"view": "浏览", "add_to_cart": "加购", "pay": "支付"}
#: workspaces examples read that the demo does not create: name -> what the test builds there
WORKSPACES = {
    "cdnow.duckdb": "orders of the CDNOW 1/10 sample (tests/value/data/CDNOW_sample.txt, the "
                    "data set README's clv example is about)",
    "shop.duckdb": "a copy of the demo workspace plus the Chinese-named events",
    "crm.duckdb": "a copy of the demo workspace (its deals are the b2b demo's)",
}
#: commands whose exit status 1 means "an alert fired" (registry ``exit_status``): the demo has a
#: planted anomaly, so exit 1 is a right answer for them when their output shows the alert
ALERTING = {a.cli_name for a in registry.entries() if a.exit_status}
#: the only changes made to example commands, and why
ADJUSTMENTS = {
    "demo": f"--users {DEMO_USERS} is added unless given: the size only scales the data and "
            "the default 20,000 users take ~10 s per run",
    "serve": "--port is set to a free port (8000 may be taken; test runs are parallel)",
}
#: README commands that are not funnelscope: program -> why the test does not run them
EXCLUDED = {
    "make": "`make demo` / `make test` build the virtual environment and run the whole suite, "
            "which runs this test (the demo it makes is what the session fixture builds)",
    "curl": "needs the server of the line before; the serve examples are checked by asking "
            "the started server for /openapi.json",
}
FUNNELSCOPE_PROGRAMS = ("funnelscope", ".venv/bin/funnelscope")
#: options whose value is a data file of this canonical table
FILE_OPTIONS = {f"--{t}": t for t in SOURCES}
#: options of `load` that take no value (to find its FILE argument)
LOAD_FLAGS = {"--strict", "--quiet", "-q", "--help"}


# ----- examples ------------------------------------------------------------------------------
@dataclass
class Example:
    text: str  # as shown (continuations joined)
    argv: list[str]  # without the program and without env assignments
    env: dict[str, str] = field(default_factory=dict)

    @property
    def command(self) -> str:
        return self.argv[0] if self.argv else ""


def split_command(text: str) -> tuple[str, dict[str, str], list[str]]:
    """``VAR=x prog args  # comment`` -> (prog, {VAR: x}, args)."""
    words = shlex.split(text, comments=True)
    env: dict[str, str] = {}
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    return (words[0] if words else ""), env, words[1:]


def join_continuations(lines: list[str]) -> list[str]:
    out: list[str] = []
    pending = ""
    for line in lines:
        line = line.rstrip()
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        out.append((pending + line.strip()).strip())
        pending = ""
    if pending:
        out.append(pending.strip())
    return [line for line in out if line]


def help_text(*args: str) -> str:
    """The real ``funnelscope ... --help`` output, wide enough that no line wraps."""
    env = clean_env() | {"TERMINAL_WIDTH": "1000", "COLUMNS": "1000"}
    proc = subprocess.run([str(FUNNELSCOPE), *args, "--help"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def help_examples(text: str) -> list[str]:
    """Commands of the ``Example:`` blocks of a help text (until a blank line or a panel),
    plus, in the description, ``Label:  funnelscope ...  (comment)`` lines (the top-level
    help's "Start with:" / "Then:")."""
    lines = [line.strip() for line in text.splitlines()]
    found: list[str] = []
    i = 0
    while i < len(lines):
        if re.fullmatch(r"Examples?:", lines[i]):
            block = []
            i += 1
            while i < len(lines) and lines[i] and lines[i][0] not in "╭│╰":
                block.append(lines[i])
                i += 1
            found += join_continuations(block)
            continue
        if lines[i].startswith("╭"):  # option / command panels: no examples there
            break
        m = re.match(r"([A-Z][\w ]*):\s+(funnelscope\s.*)$", lines[i])
        if m and m.group(1) != "Usage":
            found.append(re.split(r"\s{2,}\(", m.group(2))[0].strip())
        i += 1
    return found


#: README commands shown failing (an ``error: ...`` line follows them): command -> the start
#: of the error they must print, with exit status 2 (filled by readme_blocks)
EXPECTED_ERRORS: dict[str, str] = {}


def readme_blocks() -> list[tuple[int, list[str]]]:
    """(line number, command lines) of README's ```bash/```text blocks that have any: every
    line of a bash block, the ``$ `` lines of a text block (continuations joined). A command
    whose next line starts with ``error:`` is shown failing: see EXPECTED_ERRORS."""
    blocks: list[tuple[int, list[str]]] = []
    lines = README.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"```(\w+)\s*$", lines[i])
        if not m:
            i += 1
            continue
        lang, start, body = m.group(1), i + 1, []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1
        commands: list[str] = []
        if lang in ("bash", "sh", "shell"):
            commands = join_continuations([b for b in body if not b.lstrip().startswith("#")])
        elif lang in ("text", "console"):
            j = 0
            while j < len(body):
                if body[j].startswith("$ "):
                    group = [body[j][2:]]
                    while group[-1].rstrip().endswith("\\") and j + 1 < len(body):
                        j += 1
                        group.append(body[j])
                    commands += join_continuations(group)
                    after = body[j + 1] if j + 1 < len(body) else ""
                    if after.startswith("error: "):
                        EXPECTED_ERRORS[commands[-1]] = after.split("...")[0].rstrip()
                j += 1
        if commands:
            blocks.append((start, commands))
    return blocks


def to_examples(lines: list[str]) -> list[Example]:
    out = []
    for line in lines:
        program, env, argv = split_command(line)
        assert program in FUNNELSCOPE_PROGRAMS, f"not a funnelscope command: {line!r}"
        out.append(Example(line, argv, env))
    return out


def readme_scenarios() -> list[tuple[str, list[Example]]]:
    scenarios = []
    for start, lines in readme_blocks():
        kept = [line for line in lines if split_command(line)[0] not in EXCLUDED]
        if kept:
            scenarios.append((f"README.md:{start}", kept))
    return scenarios


def command_names() -> list[str]:
    """The sub-commands of the CLI app (the test checks the real --help lists the same)."""
    import typer.main

    from funnelscope.cli.app import app

    return sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


# ----- the environment examples run in --------------------------------------------------------
def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("FUNNELSCOPE_WORKSPACE", "FUNNELSCOPE_TOKEN", "VIRTUAL_ENV")}
    env["PATH"] = f"{FUNNELSCOPE.parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """``TMP/demo``: the demo workspaces, funnelscope.yml and the exported raw files."""
    tmp = tmp_path_factory.mktemp("examples-demo")
    proc = subprocess.run(
        [str(FUNNELSCOPE), "demo", "--dataset", "all", "--workspace", "demo/funnelscope.duckdb",
         "--export", "demo/data", "--users", DEMO_USERS],
        cwd=tmp, capture_output=True, text=True, env=clean_env(), timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    return tmp / "demo"


def prepare_cwd(cwd: Path, demo: Path, examples: list[Example]) -> None:
    """``cwd/demo``: copies of the demo workspaces and funnelscope.yml, the exported files
    linked (read only). Left empty when the block runs ``funnelscope demo`` itself."""
    if any(e.command == "demo" for e in examples):
        return
    (cwd / "demo").mkdir()
    for item in demo.iterdir():
        if item.suffix in (".duckdb", ".yml"):
            shutil.copy2(item, cwd / "demo" / item.name)
        elif item.name == "data":
            (cwd / "demo" / "data").symlink_to(item, target_is_directory=True)


def option_value(argv: list[str], *names: str) -> str | None:
    for i, word in enumerate(argv):
        for name in names:
            if word == name and i + 1 < len(argv):
                return argv[i + 1]
            if name.startswith("--") and word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


def data_inputs(argv: list[str]) -> list[tuple[str, str]]:
    """(path, canonical table) of the data files a command reads."""
    found = []
    for i, word in enumerate(argv[:-1]):
        if word in FILE_OPTIONS:
            found.append((argv[i + 1], FILE_OPTIONS[word]))
    if argv and argv[0] == "load":
        i = 1
        while i < len(argv):
            word = argv[i]
            if word.startswith("-"):
                i += 1 if word in LOAD_FLAGS or "=" in word else 2
                continue
            found.append((word, option_value(argv, "--table", "-t") or "events"))
            break
    return found


def write_data_file(target: Path, table: str, demo: Path, column_map: dict[str, str]) -> None:
    import pandas as pd

    ext = target.suffix.lower()
    source = demo / "data" / f"{SOURCES[table]}{'.parquet' if ext == '.parquet' else '.csv'}"
    assert source.exists(), f"the demo export has no {source.name} for {target.name}"
    frame = pd.read_parquet(source) if ext == ".parquet" else pd.read_csv(source, dtype=str)
    if table == "events":
        frame = with_chinese_steps(frame)
    if column_map and set(column_map) <= set(frame.columns):
        frame = frame.rename(columns=column_map)
    target.parent.mkdir(parents=True, exist_ok=True)
    if ext == ".parquet":
        frame.to_parquet(target, index=False)
    elif ext in (".csv", ".tsv", ".txt"):
        frame.to_csv(target, index=False, sep="\t" if ext == ".tsv" else ",")
    elif ext in (".jsonl", ".ndjson"):
        frame.to_json(target, orient="records", lines=True, force_ascii=False)
    else:  # pragma: no cover - a new example format: teach write_data_file
        raise AssertionError(f"no rule to write {target.name} for an example")


def with_chinese_steps(frame):
    import pandas as pd

    copy = frame[frame["event"].isin(list(CHINESE_STEPS))].copy()
    copy["event"] = copy["event"].map(CHINESE_STEPS)
    if "event_id" in copy:
        copy["event_id"] = copy["event_id"].astype(str) + "-zh"
    return pd.concat([frame, copy], ignore_index=True)


def build_workspace(target: Path, demo: Path) -> None:
    import pandas as pd

    import funnelscope as fs

    name = target.name
    assert name in WORKSPACES, (
        f"an example reads workspace {name!r}, which neither the demo nor an earlier command "
        f"of its block creates: add it to WORKSPACES in {Path(__file__).name}")
    target.parent.mkdir(parents=True, exist_ok=True)
    if name == "cdnow.duckdb":
        raw = pd.read_csv(ROOT / "tests" / "value" / "data" / "CDNOW_sample.txt", sep=r"\s+",
                          header=None, names=["master_id", "user_id", "date", "cds", "amount"],
                          dtype={"date": str})
        orders = pd.DataFrame({
            "order_id": range(1, len(raw) + 1), "user_id": raw["user_id"].astype(str),
            "ts": pd.to_datetime(raw["date"], format="%Y%m%d").dt.strftime("%Y-%m-%d"),
            "amount": raw["amount"]})
        ws = fs.connect(str(target))
        ws.load(orders, "orders")
        ws.close()
        return
    shutil.copy2(demo / "funnelscope.duckdb", target)
    if name == "shop.duckdb":
        events = pd.read_csv(demo / "data" / f"{SOURCES['events']}.csv", dtype=str)
        chinese = with_chinese_steps(events).iloc[len(events):]
        ws = fs.connect(str(target))
        ws.load(chinese, "events")
        ws.close()


def provide_inputs(example: Example, cwd: Path, demo: Path) -> None:
    """Write the files the example reads that do not exist yet (see the module docstring)."""
    from funnelscope.data.ingest import parse_column_map

    argv = example.argv
    column_map = parse_column_map(option_value(argv, "--map")) or {}
    for path, table in data_inputs(argv):
        target = cwd / path
        if not target.exists():
            write_data_file(target, table, demo, column_map)
    workspace = option_value(argv, "--workspace", "-w")
    if workspace and example.command not in ("load", "demo") and not (cwd / workspace).exists():
        build_workspace(cwd / workspace, demo)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def adjusted(example: Example) -> list[str]:
    """The example's arguments with the ADJUSTMENTS applied."""
    argv = list(example.argv)
    if example.command == "demo" and not option_value(argv, "--users"):
        argv += ["--users", DEMO_USERS]
    if example.command == "serve":
        port = str(free_port())
        for i, word in enumerate(argv[:-1]):
            if word in ("--port", "-p"):
                argv[i + 1] = port
                break
        else:
            argv += ["--port", port]
    return argv


def written_paths(example: Example) -> list[str]:
    """Files or folders the command must have written."""
    argv = example.argv
    paths = [v for v in (option_value(argv, "--out", "-o"), option_value(argv, "--export"))
             if v]
    if example.command == "demo":
        paths.append(option_value(argv, "--workspace", "-w") or "demo/funnelscope.duckdb")
    if example.command == "load":
        paths.append(option_value(argv, "--workspace", "-w"))
    return [p for p in paths if p]


def run_serve(argv: list[str], example: Example, cwd: Path, env: dict[str, str]) -> str | None:
    """Start the server, ask it for /openapi.json (with the token, if any), stop it.
    Returns a failure description or None."""
    port = option_value(argv, "--port", "-p")
    token = option_value(argv, "--token") or example.env.get("FUNNELSCOPE_TOKEN")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no http_proxy
    proc = subprocess.Popen([str(FUNNELSCOPE), *argv], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/openapi.json")
            if token:
                request.add_header("Authorization", f"Bearer {token}")
            try:
                with opener.open(request, timeout=5) as answer:
                    status = answer.status
                    body = answer.read()
                break
            except urllib.error.HTTPError as exc:
                status = exc.code
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        if proc.poll() is not None:
            out, err = proc.communicate()
            return f"the server exited with {proc.returncode}\nstdout: {out}\nstderr: {err}"
        if status != 200:
            return f"GET /openapi.json answered {status}"
        if b'"openapi"' not in body:
            return "/openapi.json is not an OpenAPI document"
        return None
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.communicate(timeout=15)
            except subprocess.TimeoutExpired:  # pragma: no cover
                proc.kill()
                proc.communicate()


def run_block(examples: list[Example], cwd: Path, demo: Path) -> None:
    """Run a block's commands in order in ``cwd``; fail with every failing command."""
    prepare_cwd(cwd, demo, examples)
    failures = []
    for example in examples:
        argv = adjusted(example)
        env = clean_env() | example.env
        try:
            provide_inputs(example, cwd, demo)
        except AssertionError as exc:
            failures.append(f"$ {example.text}\n  cannot provide its input: {exc}")
            continue
        if example.command == "serve":
            problem = run_serve(argv, example, cwd, env)
            if problem:
                failures.append(f"$ {example.text}\n  {problem}")
            continue
        proc = subprocess.run([str(FUNNELSCOPE), *argv], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=TIMEOUT)
        expected = EXPECTED_ERRORS.get(example.text)
        if expected is not None:
            if proc.returncode != 2 or not proc.stderr.startswith(expected):
                failures.append(f"$ {example.text}\n  should exit 2 with {expected!r}; exit "
                                f"{proc.returncode}, stderr: {proc.stderr.strip()[-2000:]}")
            continue
        if proc.returncode == 1 and example.command in ALERTING:
            if "alert" not in proc.stdout.lower():
                failures.append(f"$ {example.text}\n  exit 1 without an alert in its output:\n"
                                f"{proc.stdout[-1000:]}")
        elif proc.returncode != 0:
            failures.append(f"$ {example.text}\n  exit {proc.returncode}\n  stderr: "
                            f"{proc.stderr.strip()[-2000:]}")
            continue
        missing = [p for p in written_paths(example) if not (cwd / p).exists()]
        if missing:
            failures.append(f"$ {example.text}\n  did not write {', '.join(missing)}")
        out = option_value(argv, "--out", "-o")
        if out and out.endswith(".html") and (cwd / out).exists() and \
                "<html" not in (cwd / out).read_text(encoding="utf-8")[:2000].lower():
            failures.append(f"$ {example.text}\n  {out} is not an HTML page")
        if option_value(argv, "--format", "-f") == "json":
            try:
                json.loads(proc.stdout)
            except ValueError as exc:
                failures.append(f"$ {example.text}\n  --format json printed no JSON ({exc}):\n"
                                f"{proc.stdout[:500]}")
        if "--save" in argv and "Saved" not in proc.stdout:
            failures.append(f"$ {example.text}\n  --save did not say what it saved:\n"
                            f"{proc.stdout[-1000:]}")
    assert not failures, "examples that fail:\n" + "\n".join(failures)


# ----- the tests -----------------------------------------------------------------------------
def test_top_level_help_lists_every_command_and_its_examples_run(demo_dir, tmp_path):
    text = help_text()
    listed = re.findall(r"^│ (\S+)\s{2,}", text, flags=re.MULTILINE)
    commands = [c for c in listed if not c.startswith("-")]
    assert sorted(commands) == command_names()
    examples = to_examples(help_examples(text))
    assert examples, "funnelscope --help shows no example command any more?"
    run_block(examples, tmp_path, demo_dir)


@pytest.mark.parametrize("command", command_names())
def test_help_examples_run(command, demo_dir, tmp_path):
    text = help_text(command)
    found = help_examples(text)
    if re.search(r"^\s*Examples?:\s*$", text, flags=re.MULTILINE):
        assert found, f"`funnelscope {command} --help` has an Example block the test cannot read"
    examples = to_examples(found)
    for e in examples:
        assert e.command == command, f"{command} --help shows an example of {e.command}: {e.text}"
    if examples:
        run_block(examples, tmp_path, demo_dir)


@pytest.mark.parametrize("block", readme_scenarios(), ids=lambda b: b[0])
def test_readme_examples_run(block, demo_dir, tmp_path):
    _, lines = block
    run_block(to_examples(lines), tmp_path, demo_dir)


def test_readme_runs_or_excludes_every_command_line():
    programs = {split_command(line)[0] for _, lines in readme_blocks() for line in lines}
    unknown = programs - set(FUNNELSCOPE_PROGRAMS) - set(EXCLUDED)
    assert not unknown, f"README commands neither run nor excluded (with a reason): {unknown}"
    ran = [line for _, lines in readme_blocks() for line in lines
           if split_command(line)[0] in FUNNELSCOPE_PROGRAMS]
    assert len(ran) >= 10, ran  # the tour, load, cac/clv and report/serve blocks


def test_the_parsers_read_continuations_comments_and_env():
    assert join_continuations(["a \\", "  b \\", "c", "", "d"]) == ["a b c", "d"]
    assert split_command("X=1 funnelscope serve -w w.duckdb   # note") == (
        "funnelscope", {"X": "1"}, ["serve", "-w", "w.duckdb"])
    text = ("\n Usage: funnelscope x [OPTIONS]\n\n Then:  funnelscope demo   (prints)\n\n"
            " Example:\n   funnelscope a --b c\n   funnelscope d \\\n     --e f\n\n"
            "╭─ Options ─╮\n│ Example: │\n")
    assert help_examples(text) == ["funnelscope demo", "funnelscope a --b c",
                                   "funnelscope d --e f"]
    assert data_inputs(["load", "--strict", "e.csv", "-t", "orders"]) == [("e.csv", "orders")]
    assert data_inputs(["rfm", "--orders", "o.csv", "--events", "e.parquet"]) == [
        ("o.csv", "orders"), ("e.parquet", "events")]
