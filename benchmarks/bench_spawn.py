"""Sandbox spawn benchmark: request-to-ready time (warm image) and how many sandboxes fit.

Starts a real hub + CHP on free ports in a temporary ENCLAVE_HOME seeded with ``enclave demo``
(the same helper the integration tests use), then

1. spawns analyst1's grant-1 sandbox ``--spawns`` times in a row (POST /servers/g1 until the
   server reports ready; stop and wait until it is gone between runs) -> p50 / p90 / max;
2. adds ``--concurrent`` extra analysts to grant 1, spawns all their sandboxes at once, waits
   until all are ready (wall time), runs a kernel in each, and reads each container's memory
   with ``docker stats`` -> memory per idle sandbox (server + one idle kernel);
3. estimates capacity: available RAM / memory per sandbox (and the CPU view: cores / idle CPU).

Run: ``.venv/bin/python benchmarks/bench_spawn.py [--spawns 10] [--concurrent 10] [--json]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from sandbox_fixtures import RunningHub, start_hub  # noqa: E402

PASSWORD = "Bench-demo-2025-pw"


def _image() -> str:
    return (REPO / "images" / ".built" / "notebook.tag").read_text().strip()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _wait_gone(hub: RunningHub, user: str, server: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if hub.client.server_info(user, server) is None:
            return
        time.sleep(0.1)
    raise RuntimeError(f"{user}/{server} did not stop")


def spawn_once(hub: RunningHub, user: str, token: str) -> float:
    """Seconds from the spawn request to the server reporting ready."""
    start = time.monotonic()
    resp = hub.client.spawn(user, "g1", token, {"grant": "1"})
    if resp.status_code not in (201, 202):
        raise RuntimeError(f"spawn failed: {resp.status_code} {resp.text[:200]}")
    hub.client.wait_ready(user, "g1")
    return time.monotonic() - start


def sequential(hub: RunningHub, count: int) -> list[float]:
    hub.client.login("analyst1", "Analyst-demo-2025a")
    token = hub.client.user_token("analyst1")
    times = []
    for _ in range(count + 1):  # the first run warms page cache and JupyterHub; not counted
        times.append(spawn_once(hub, "analyst1", token))
        hub.client.stop("analyst1", "g1", token)
        _wait_gone(hub, "analyst1", "g1")
    return times[1:]


def _add_users(hub: RunningHub, count: int) -> list[str]:
    names = [f"bench{i:02d}" for i in range(count)]
    for name in names:
        out = subprocess.run([str(Path(sys.executable).parent / "enclave"), "user", "add", name,
                              "--org", "kg-logistics-lab", "--role", "analyst",
                              "--password-stdin"], input=PASSWORD + "\n", env=hub.env,
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(out.stderr)
    added = hub.enclave("grant", "add-member", "1", *names)
    if added.returncode != 0:
        raise RuntimeError(added.stderr)
    return names


def _memory_mib(container: str) -> float:
    out = subprocess.run(["docker", "stats", "--no-stream", "--format", "{{.MemUsage}}",
                          container], capture_output=True, text=True, check=True).stdout
    used = out.split("/")[0].strip()
    units = {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024, "B": 1 / 1024 / 1024}
    for unit, factor in units.items():
        if used.endswith(unit):
            return float(used[: -len(unit)]) * factor
    raise ValueError(out)


def _available_mib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def concurrent(hub: RunningHub, count: int) -> dict[str, Any]:
    names = _add_users(hub, count)
    available_before = _available_mib()
    tokens = {}
    for name in names:
        hub.client.login(name, PASSWORD)
        tokens[name] = hub.client.user_token(name)
    start = time.monotonic()
    with ThreadPoolExecutor(count) as pool:
        each = list(pool.map(lambda n: spawn_once(hub, n, tokens[n]), names))
    wall = time.monotonic() - start
    for name in names:  # an idle kernel is part of an idle sandbox
        kernel = hub.client.start_kernel(name, "g1", tokens[name])
        hub.client.execute(name, "g1", tokens[name], kernel, "import pandas; print('{}')")
    time.sleep(3)
    memory = [_memory_mib(hub.container_name(n, "g1")) for n in names]
    available_after = _available_mib()
    for name in names:
        hub.client.stop(name, "g1", tokens[name])
    return {"count": count, "wall_s": wall, "each_s": each, "memory_mib": memory,
            "available_before_mib": available_before, "available_after_mib": available_after}


def report(seq: list[float], conc: dict[str, Any]) -> dict[str, Any]:
    per_box = statistics.mean(conc["memory_mib"])
    host_delta = (conc["available_before_mib"] - conc["available_after_mib"]) / conc["count"]
    basis = max(per_box, host_delta)  # the host view includes kernel page cache for the boxes
    return {
        "sequential": {"n": len(seq), "p50_s": statistics.median(seq),
                       "p90_s": _percentile(seq, 0.9), "max_s": max(seq),
                       "all_s": [round(t, 3) for t in seq]},
        "concurrent": {**conc, "each_s": [round(t, 3) for t in conc["each_s"]],
                       "memory_mib": [round(m, 1) for m in conc["memory_mib"]]},
        "capacity": {"memory_per_idle_sandbox_mib": round(per_box, 1),
                     "host_available_drop_per_sandbox_mib": round(host_delta, 1),
                     "available_mib": round(conc["available_before_mib"]),
                     "estimated_idle_sandboxes": int(conc["available_before_mib"] // basis),
                     "note": "idle sandboxes; each may grow to its mem_limit (2 GiB) when used"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spawns", type=int, default=10)
    parser.add_argument("--concurrent", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="enclave-bench-") as tmp:
        hubs = start_hub(Path(tmp), _image())
        hub = next(hubs)
        try:
            seq = sequential(hub, args.spawns)
            conc = concurrent(hub, args.concurrent)
        finally:
            hubs.close()
    result = report(seq, conc)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    s, c, cap = result["sequential"], result["concurrent"], result["capacity"]
    print(f"spawn request -> ready, warm image, {s['n']} runs: p50 {s['p50_s']:.2f} s, "
          f"p90 {s['p90_s']:.2f} s, max {s['max_s']:.2f} s")
    print(f"{c['count']} concurrent spawns: all ready in {c['wall_s']:.2f} s "
          f"(slowest {max(c['each_s']):.2f} s)")
    print(f"memory per idle sandbox (server + idle kernel with pandas): "
          f"{cap['memory_per_idle_sandbox_mib']:.0f} MiB (container); host available dropped "
          f"{cap['host_available_drop_per_sandbox_mib']:.0f} MiB per sandbox")
    print(f"available RAM {cap['available_mib']} MiB -> about "
          f"{cap['estimated_idle_sandboxes']} idle sandboxes on this machine")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
