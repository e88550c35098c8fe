"""Batch builds with real Docker: papermill on REAL level-3 data, no network, outputs to the airlock.

One demo home for the module. All builds are submitted first and run in ONE worker pass (in queue
order, one at a time), then each test checks its build: a product on real data released by two
reviewers with a verifiable manifest; network and out-of-outputs writes fail with the reason in
the log; raw rows in an output are blocked by the scan; a timed-out build is killed and the build
queued after it still runs; an example product notebook from notebooks/products/ runs as a build.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from hub import db
from hub.accounts import resolve_actor
from hub.airlock import service as airlock
from hub.builds import service, worker
from hub.catalog import get_version
from hub.config import paths
from hub.demo.seed import seed_demo
from hub.models import AirlockRequest, Build

pytestmark = pytest.mark.docker
REPO = Path(__file__).resolve().parents[2]
PRODUCT = REPO / "notebooks" / "products" / "logistics_monthly_volume.ipynb"
GRANT = 1  # analyst1: travel_records@1 (level 3, twin built) + enterprise_register@1 (level 2)

PARAMS = "min_trips = 10\noutput_dir = 'outputs'"
TRIPS = """\
import os
import pandas as pd
df = pd.read_parquet('/data/travel_records/travel_records.parquet')
counts = df.groupby('district').size().rename('trips').reset_index()
counts = counts[counts.trips >= min_trips]
counts.to_csv(os.path.join(output_dir, 'trips_by_district.csv'), index=False)
print(len(df), 'rows')
"""
NETWORK = """\
import socket
socket.create_connection(('93.184.216.34', 80), timeout=3)
"""
WRITE_OUTSIDE = "open('/data/travel_records/planted.csv', 'w').write('x')\n"
RAW_ROWS = """\
import os
import pandas as pd
df = pd.read_parquet('/data/travel_records/travel_records.parquet')
df[['traveller_name', 'resident_id', 'mobile']].head(30).to_csv(
    os.path.join(output_dir, 'rows.csv'), index=False)
"""
SLEEP = "import time\ntime.sleep(120)\n"
HELLO = "print('after the timeout')\n"


def notebook(code: str, params: str = PARAMS) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(code)]
    return nb


@dataclass
class Demo:
    home: Path
    builds: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def build(self, session, key: str) -> Build:
        found = session.get(Build, self.builds[key])
        assert found is not None
        return found


def _submit(session, name: str, nb: nbformat.NotebookNode | Path, **kwargs) -> int:
    folder = paths().workspaces / "analyst1" / str(GRANT)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.ipynb"
    if isinstance(nb, Path):
        shutil.copyfile(nb, target)
    else:
        nbformat.write(nb, str(target))
    params = kwargs.pop("parameters", {})
    build = service.submit(session, resolve_actor(session, "analyst1"), GRANT, target.name,
                           params, **kwargs)
    return build.id


@pytest.fixture(scope="module")
def demo(docker_engine: None, notebook_image: str,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    home = tmp_path_factory.mktemp("builds") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ENCLAVE_HOME", str(home))
        mp.delenv("ENCLAVE_DATABASE_URL", raising=False)
        mp.setenv("ENCLAVE_NOTEBOOK_IMAGE", notebook_image)
        db.dispose_all()
        db.init_db()
        state = Demo(home)
        with db.session() as session:
            seed_demo(session)
            session.commit()
            state.builds["trips"] = _submit(session, "trips", notebook(TRIPS),
                                            parameters={"min_trips": 20})
            state.builds["network"] = _submit(session, "network", notebook(NETWORK))
            state.builds["outside"] = _submit(session, "outside", notebook(WRITE_OUTSIDE))
            state.builds["raw"] = _submit(session, "raw", notebook(RAW_ROWS))
            state.builds["sleep"] = _submit(session, "sleep", notebook(SLEEP), timeout_s=4)
            state.builds["after"] = _submit(session, "after", notebook(HELLO))
            if PRODUCT.exists():
                state.builds["product"] = _submit(session, "product", PRODUCT,
                                                  parameters={"make_chart": False})
        began = time.monotonic()
        ran = worker.run_queue(once=True)
        state.seconds["queue"] = time.monotonic() - began
        assert ran == sorted(state.builds.values())
        yield state
        db.dispose_all()


def _log(build: Build) -> str:
    return (service.build_dir(build.id) / "build.log").read_text(encoding="utf-8")


def _district_counts(folder: Path) -> dict[str, int]:
    frame = pd.read_parquet(next(folder.glob("*.parquet")))
    return {str(k): int(v) for k, v in frame.groupby("district").size().items()}


def test_a_build_runs_on_real_data_and_is_released_with_its_provenance(demo: Demo):
    with db.session() as session:
        build = demo.build(session, "trips")
        assert build.state == "succeeded", _log(build)
        version = get_version(session, "travel_records@1")
        real = {k: v for k, v in _district_counts(paths().store / "travel_records" / "v1").items()
                if v >= 20}
        twin = {k: v for k, v in _district_counts(
            paths().store / "travel_records" / "v1.twin").items() if v >= 20}
        assert real != twin  # the check below can tell real from twin
        out = pd.read_csv(service.build_dir(build.id) / "outputs" / "trips_by_district.csv")
        assert dict(zip(out.district, out.trips, strict=True)) == real
        assert (service.build_dir(build.id) / "executed.ipynb").is_file()
        report = (service.build_dir(build.id) / "report.html").read_text(encoding="utf-8")
        assert "<script" not in report.lower() and "trips_by_district.csv" in report
        assert {d["ref"]: d["content_sha256"] for d in build.datasets}["travel_records@1"] == \
            version.content_sha256
        assert build.image_digest.startswith("sha256:")

        request = session.get(AirlockRequest, build.request_id)
        assert request.state == "pending_review" and request.required_reviews == 2
        assert [f.name for f in request.active_files] == ["trips_by_district.csv"]
        assert {f.verdict for f in request.active_files} == {"pass"}
        for reviewer in ("reviewer1", "reviewer2"):
            request = airlock.decide(session, resolve_actor(session, reviewer), request.id,
                                     "approve")
        assert request.state == "released"
        folder = airlock.product_dir(request.product.id)
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    producing = manifest["producing"]
    assert producing["notebook_sha256"] == build.notebook_sha256
    assert producing["build"]["id"] == build.id
    assert producing["build"]["parameters"] == {"min_trips": 20}
    assert {d["ref"]: d["content_sha256"] for d in producing["build"]["datasets"]}[
        "travel_records@1"] == version.content_sha256
    assert {d["ref"]: d["content_sha256"] for d in manifest["datasets"]}[
        "travel_records@1"] == version.content_sha256
    verify = subprocess.run([sys.executable, "-c", "from hub.cli.main import main; main()",
                             "release", "verify",
                             str(folder)], capture_output=True, text=True, check=False,
                            env={**os.environ, "ENCLAVE_HOME": str(demo.home)}, cwd=REPO)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_a_notebook_that_opens_a_network_connection_fails_and_says_so(demo: Demo):
    with db.session() as session:
        build = demo.build(session, "network")
        assert build.state == "failed" and build.request_id is None
        assert "OSError" in build.state_reason
        assert "Network is unreachable" in _log(build)


def test_a_notebook_that_writes_outside_its_outputs_fails_and_says_so(demo: Demo):
    with db.session() as session:
        build = demo.build(session, "outside")
        assert build.state == "failed", _log(build)
        assert "Read-only file system" in _log(build)
        assert not (paths().store / "travel_records" / "v1" / "planted.csv").exists()


def test_raw_rows_in_an_output_are_blocked_by_the_scan(demo: Demo):
    with db.session() as session:
        build = demo.build(session, "raw")
        assert build.state == "succeeded"
        request = session.get(AirlockRequest, build.request_id)
        assert request.state == "blocked"
        # the requester's view of a level-3 build's log hides what the notebook printed
        mine = service.read_log(resolve_actor(session, "analyst1"), build)
        assert "hidden" in mine


def test_a_timed_out_build_is_killed_and_the_queue_continues(demo: Demo):
    with db.session() as session:
        build = demo.build(session, "sleep")
        assert build.state == "timed_out", _log(build)
        assert "wall-clock limit of 4 s" in _log(build)
        assert (build.finished_at - build.started_at).total_seconds() < 30
        after = demo.build(session, "after")
        assert after.state == "succeeded" and after.started_at >= build.finished_at
    names = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}}"], capture_output=True,
                           text=True, check=True).stdout.split()
    assert not [n for n in names if n.endswith(f"-{build.id}") and "enclave-build" in n]


@pytest.mark.skipif(not PRODUCT.exists(), reason="the example product notebook is not there yet")
def test_the_example_logistics_product_runs_as_a_build_on_real_data(demo: Demo):
    with db.session() as session:
        build = demo.build(session, "product")
        assert build.state == "succeeded", _log(build)
        names = {o["name"] for o in build.outputs}
        assert "volume_by_district.csv" in names
        request = session.get(AirlockRequest, build.request_id)
        assert request.state in ("pending_review", "blocked")
        out = pd.read_csv(service.build_dir(build.id) / "outputs" / "volume_by_district.csv")
        assert out["freight_trips"].dropna().ge(10).all()  # small cells suppressed
    print(f"\nbuild queue of {len(demo.builds)} builds: {demo.seconds['queue']:.1f} s")


def test_a_contract_rebuild_inside_its_contract_needs_one_reviewer(demo: Demo):
    from hub.builds import contracts

    with db.session() as session:
        folder = paths().workspaces / "analyst1" / str(GRANT)
        nbformat.write(notebook(TRIPS), str(folder / "contract.ipynb"))
        contract = contracts.create_contract(
            session, resolve_actor(session, "analyst1"), name="trips daily", grant_id=GRANT,
            notebook="contract.ipynb", parameters={"min_trips": 20}, schedule="daily",
            outputs=["trips_*.csv"], thresholds={"max_rows": 50})
        contract_id, first_id = contract.id, contract.first_build_id
    assert worker.run_queue(once=True) == [first_id]
    with db.session() as session:
        first = session.get(Build, first_id)
        assert first.state == "succeeded" and first.review_route == "normal"
        for reviewer in ("reviewer1", "reviewer2"):
            airlock.decide(session, resolve_actor(session, reviewer), first.request_id, "approve")
        contract = contracts.approve_contract(session, resolve_actor(session, "reviewer1"),
                                              contract_id)
        (rebuild,) = contracts.schedule_due(session, now=contract.next_run_at)
        rebuild_id = rebuild.id
    assert worker.run_queue(once=True) == [rebuild_id]
    with db.session() as session:
        rebuild = session.get(Build, rebuild_id)
        request = session.get(AirlockRequest, rebuild.request_id)
        assert rebuild.contract_check["inside"], rebuild.contract_check
        assert (request.required_reviews, rebuild.review_route) == (1, "contract")
        released = airlock.decide(session, resolve_actor(session, "reviewer2"), request.id,
                                  "approve")
        assert released.state == "released"
        manifest = json.loads(released.product.manifest)
    assert manifest["producing"]["build"]["contract"] == contract_id
    assert manifest["producing"]["build"]["review_route"] == "contract"
