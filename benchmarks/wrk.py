"""One bounded ``wrk`` run against a loopback URL, parsed into numbers.

``wrk --latency`` prints requests/s and the latency distribution (50 %, 75 %, 90 %, 99 %);
those lines are parsed. wrk itself counts only socket errors and statuses above 399, so a
small Lua script counts every answer outside 2xx (a 3xx would be an error here too) and
prints the count with the socket errors in one line that is parsed as well.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

#: Counts answers outside 2xx per thread; ``done`` adds them up over the threads.
COUNT_LUA = """\
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) non2xx = 0 end
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("non2xx") end
  local e = summary.errors
  io.write(string.format("NP-ERRORS non2xx=%d connect=%d read=%d write=%d timeout=%d\\n",
    n, e.connect, e.read, e.write, e.timeout))
end
"""

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
_LATENCY = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.M)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m)", re.M)
_ERRORS = re.compile(r"NP-ERRORS non2xx=(\d+) connect=(\d+) read=(\d+) write=(\d+) timeout=(\d+)")


class WrkMissing(RuntimeError):
    """``wrk`` is not installed (Debian: ``apt-get install wrk``)."""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    non2xx: int
    socket_errors: int

    @property
    def errors(self) -> int:
        return self.non2xx + self.socket_errors

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "errors": self.errors}


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise WrkMissing("wrk is not installed (apt-get install wrk)")
    return found


def lua_script(directory: Path) -> Path:
    path = directory / "np-count.lua"
    if not path.exists():
        path.write_text(COUNT_LUA)
    return path


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS[unit]


def parse(output: str) -> WrkResult:
    """The numbers of one ``wrk --latency -s np-count.lua`` run's output."""
    lat = {int(p): _ms(v, u) for p, v, u in _LATENCY.findall(output)}
    rate, total, errs = _RATE.search(output), _TOTAL.search(output), _ERRORS.search(output)
    if rate is None or total is None or errs is None or not {50, 90, 99} <= set(lat):
        raise ValueError(f"unexpected wrk output:\n{output}")
    non2xx, *socket = (int(x) for x in errs.groups())
    return WrkResult(
        requests=int(total.group(1)),
        seconds=_ms(total.group(2), total.group(3)) / 1e3,
        rps=float(rate.group(1)),
        p50_ms=lat[50],
        p90_ms=lat[90],
        p99_ms=lat[99],
        non2xx=non2xx,
        socket_errors=sum(socket),
    )


def run_wrk(
    url: str,
    *,
    script_dir: Path,
    connections: int = 16,
    threads: int = 2,
    seconds: int = 10,
    headers: dict[str, str] | None = None,
) -> WrkResult:
    """``wrk`` for ``seconds`` at ``connections`` against a loopback ``url`` (only)."""
    host = urlsplit(url).hostname or ""
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        raise ValueError(f"load tests target loopback addresses only, not {host!r}")
    args = [wrk_binary(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    args += ["--timeout", "10s", "-s", str(lua_script(script_dir))]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    for attempt in (1, 2):  # one retry: a run that wrk itself aborts (seen once here)
        out = subprocess.run([*args, url], capture_output=True, text=True, timeout=seconds + 60)
        if out.returncode == 0:
            break
        if attempt == 2:
            raise RuntimeError(f"wrk exited with {out.returncode}: {out.stderr or out.stdout}")
    return parse(out.stdout)
