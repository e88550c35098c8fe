"""The example product notebooks run offline in the notebook image on real data and on the twin.

One demo home (``enclave demo``, small: 2 000 rows) per module. Each product notebook is executed
with papermill in the notebook image under the sandbox's hardening flags (read-only root,
``--network none``, no capabilities, uid 1000), once with the real dataset version mounted at
``/data/<dataset>/`` (a batch build) and once with its synthetic twin there (the interactive
sandbox), writing to ``/home/analyst/outputs`` as a build does. The four runs go in parallel.

Then: the declared outputs exist; the egress filter passes every one of them at level 3 (a PNG
chart is ``review`` by policy at level 3 and must carry no finding); and the published numbers
equal what pandas computes on the host from the mounted files, which differ between real and
twin — so the real run really read the real data.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from conftest import SANDBOX_UID, hardened_flags

from egress_filter.model import FileReport, Verdict
from egress_filter.scanner import scan_paths

REPO = Path(__file__).resolve().parents[2]
PRODUCTS = REPO / "notebooks" / "products"
VENV_BIN = Path(sys.executable).parent
MIN_CELL = 10
FREIGHT_TYPES = ["重型货车", "中型货车", "轻型货车", "冷链车", "新能源物流车"]
RUN_TIMEOUT_S = 180


@dataclass(frozen=True)
class Product:
    notebook: str
    dataset: str
    outputs: tuple[str, ...]  # files the notebook must write under output_dir


LOGISTICS = Product("logistics_monthly_volume.ipynb", "travel_records",
                    ("volume_by_district.csv", "volume_by_district.png", "acro/results.json"))
CLINIC = Product("clinic_visit_rates.ipynb", "clinic_visits", ("visit_rates_by_age_sex.csv",))
PRODUCTS_UNDER_TEST = (LOGISTICS, CLINIC)
VARIANTS = {"real": "v1", "twin": "v1.twin"}


@dataclass
class ProductRun:
    product: Product
    variant: str
    data: Path  # the host folder mounted at /data/<dataset>
    outputs: Path
    result: subprocess.CompletedProcess[str]
    reports: list[FileReport]


def _writable_dir(path: Path) -> Path:
    path.mkdir(parents=True)
    if os.geteuid() == 0:
        os.chown(path, SANDBOX_UID, SANDBOX_UID)
    else:
        path.chmod(0o777)
    return path


def _run_product(image: str, product: Product, variant: str, store: Path, root: Path) -> ProductRun:
    """papermill the notebook in the image, hardened and offline, like a build; then scan."""
    data = store / product.dataset / VARIANTS[variant]
    base = root / f"{product.dataset}-{variant}"
    work = _writable_dir(base / "work")
    outputs = _writable_dir(base / "outputs")
    shutil.copy(PRODUCTS / product.notebook, work / product.notebook)
    command = [
        "docker", "run", "--rm", *hardened_flags(work),
        "--mount", f"type=bind,src={data},dst=/data/{product.dataset},readonly",
        "--mount", f"type=bind,src={outputs},dst=/home/analyst/outputs",
        image, "papermill", product.notebook, "/tmp/executed.ipynb",
        "-p", "output_dir", "/home/analyst/outputs",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False,
                            timeout=RUN_TIMEOUT_S)
    reports = scan_paths([outputs], level=3) if result.returncode == 0 else []
    return ProductRun(product, variant, data, outputs, result, reports)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh ENCLAVE_HOME seeded with ``enclave demo`` (small); returns its dataset store."""
    home = tmp_path_factory.mktemp("product-home")
    seeded = subprocess.run([str(VENV_BIN / "enclave"), "demo"], capture_output=True, text=True,
                            check=False, env={**os.environ, "ENCLAVE_HOME": str(home)}, timeout=120)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    return home / "store"


@pytest.fixture(scope="module")
def product_runs(notebook_image: str, demo_store: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], ProductRun]:
    """Every product on real data and on the twin, run in parallel; keyed (dataset, variant)."""
    root = tmp_path_factory.mktemp("product-runs")
    jobs = [(p, v) for p in PRODUCTS_UNDER_TEST for v in VARIANTS]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        runs = list(pool.map(lambda job: _run_product(notebook_image, *job, demo_store, root), jobs))
    return {(run.product.dataset, run.variant): run for run in runs}


def _load(folder: Path) -> pd.DataFrame:
    """The host's view of a mounted dataset folder: every CSV and Parquet file, as one table."""
    files = sorted(p for p in folder.iterdir() if p.suffix in (".csv", ".parquet"))
    return pd.concat([pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
                      for p in files], ignore_index=True)


def _csv(run: ProductRun, name: str) -> pd.DataFrame:
    return pd.read_csv(run.outputs / name, dtype={"month": str, "age_band": str})


RUN_IDS = [f"{p.dataset}-{v}" for p in PRODUCTS_UNDER_TEST for v in VARIANTS]
RUN_KEYS = [(p.dataset, v) for p in PRODUCTS_UNDER_TEST for v in VARIANTS]


@pytest.mark.docker
@pytest.mark.parametrize("key", RUN_KEYS, ids=RUN_IDS)
def test_product_runs_offline_and_writes_its_outputs(
        product_runs: dict[tuple[str, str], ProductRun], key: tuple[str, str]) -> None:
    run = product_runs[key]
    assert run.result.returncode == 0, run.result.stdout[-2000:] + run.result.stderr[-4000:]
    for name in run.product.outputs:
        assert (run.outputs / name).is_file(), f"{name} missing after {run.product.notebook}"


@pytest.mark.docker
@pytest.mark.parametrize("key", RUN_KEYS, ids=RUN_IDS)
def test_every_output_passes_the_level3_scan(
        product_runs: dict[tuple[str, str], ProductRun], key: tuple[str, str]) -> None:
    run = product_runs[key]
    assert run.reports, "nothing was scanned"
    for report in run.reports:
        detail = json.dumps(report.to_json(), ensure_ascii=False)[:1500]
        assert not report.findings, detail
        if report.kind == "png":  # level 3 sends every image to a person, findings or not
            assert report.verdict is Verdict.REVIEW, detail
            assert [r.code for r in report.reasons] == ["type_needs_review"], detail
        else:
            assert report.verdict is Verdict.PASS, detail
    scanned = {Path(r.path).relative_to(run.outputs).as_posix() for r in run.reports}
    assert set(run.product.outputs) <= scanned


def _freight_trips_on_host(data: Path) -> pd.Series:
    trips = _load(data)
    freight = trips[trips["vehicle_type"].isin(FREIGHT_TYPES)]
    month = pd.to_datetime(freight["departure_time"]).dt.strftime("%Y-%m")
    return freight.groupby([freight["district"], month.rename("month")]).size()


@pytest.mark.docker
def test_logistics_volume_equals_host_counts_and_differs_from_the_twin(
        product_runs: dict[tuple[str, str], ProductRun]) -> None:
    published = {}
    for variant in VARIANTS:
        run = product_runs[("travel_records", variant)]
        table = _csv(run, "volume_by_district.csv").set_index(["district", "month"])
        expected = _freight_trips_on_host(run.data).reindex(table.index, fill_value=0)
        shown = table["freight_trips"].notna()
        # every cell of >= MIN_CELL trips is published with its exact count, every other is empty
        assert (shown == (expected >= MIN_CELL)).all(), variant
        assert (table.loc[shown, "freight_trips"] == expected[shown]).all(), variant
        assert table.loc[~shown, "cargo_tonnes"].isna().all(), variant
        published[variant] = table["freight_trips"]
    assert not published["real"].equals(published["twin"])


def _clinic_cells_on_host(data: Path) -> pd.Series:
    visits = _load(data)
    band = pd.cut(visits["age"], bins=[-1, 17, 39, 59, np.inf], labels=["0-17", "18-39", "40-59", "60+"])
    return visits.groupby([visits["department"], band.rename("age_band"), visits["sex"]],
                          observed=False).size()


@pytest.mark.docker
def test_clinic_rates_equal_host_counts_and_protect_department_totals(
        product_runs: dict[tuple[str, str], ProductRun]) -> None:
    published = {}
    for variant in VARIANTS:
        run = product_runs[("clinic_visits", variant)]
        table = _csv(run, "visit_rates_by_age_sex.csv").set_index(["department", "age_band", "sex"])
        host = _clinic_cells_on_host(run.data)
        expected = host.reindex(table.index)
        shown = table["visits"].notna()
        assert (table.loc[shown, "visits"] == expected[shown]).all(), variant
        assert (table.loc[shown, "visits"] >= MIN_CELL).all(), variant
        assert (expected[expected < MIN_CELL].index.isin(table.index[~shown])).all(), variant
        totals = host.groupby(level="department").sum()
        rate = expected / totals.reindex(table.index.get_level_values("department")).to_numpy()
        assert np.allclose(table.loc[shown, "rate_per_1000"], (rate[shown] * 1000).round(1)), variant
        for department, hidden in expected[~shown].groupby(level="department"):
            # a department's total can be derived from a rate: what it hides must stay hidden
            assert len(hidden) >= 2 and hidden.sum() >= MIN_CELL, (variant, department)
        published[variant] = table["visits"]
    assert not published["real"].equals(published["twin"])


@pytest.mark.parametrize("product", PRODUCTS_UNDER_TEST, ids=lambda p: p.dataset)
def test_product_notebook_is_clean_and_parameterized(product: Product) -> None:
    notebook = nbformat.read(PRODUCTS / product.notebook, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert 'data_dir: str = "/data"' in tagged[0].source
    assert 'output_dir: str = "outputs"' in tagged[0].source
    assert "min_cell: int = 10" in tagged[0].source
