"""Build submission, the state table, logs, outputs → airlock routing and contracts (no Docker).

Uses the airlock tests' world: a level-3 dataset ``visits``; grant 1 (dev1: ana, bob), grant 2
(dev2: carl); operator reviewers rev1-rev3 and admin boss.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import nbformat
import pytest
import test_airlock_support as support
from sqlalchemy import select

from hub.airlock import service as airlock
from hub.builds import contracts, runner, service, states
from hub.config import paths
from hub.errors import (
    InvalidTransition,
    NotFound,
    PermissionDenied,
    PolicyViolation,
    ValidationError,
)
from hub.models import AirlockRequest, AuditEntry, Build, BuildContract

world = support.world
CLEAN = "district,visits\nA,120\nB,340\nC,560\n"


def write_notebook(world, name: str = "nb.ipynb", user: str = "ana", grant: int | None = None,
                   params_source: str = "year = 2025\nlabel = 'x'\noutput_dir = 'out'"):
    folder = paths().workspaces / user / str(grant or world.grant_id)
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(params_source, metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("print(year)")]
    path = folder / name
    nbformat.write(nb, str(path))
    return path


def submit(world, notebook: str = "nb.ipynb", user: str = "ana", **parameters):
    return service.submit(world.session, world.actor(user), world.grant_id, notebook, parameters)


def builds(world) -> list[Build]:
    return list(world.session.scalars(select(Build)))


def refusals(world) -> list[str]:
    rows = world.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "build",
                                                          AuditEntry.outcome == "refused"))
    return [row.action for row in rows]


# -- submit -------------------------------------------------------------------------------------


def test_submit_pins_the_notebook_by_hash_and_queues(world):
    source = write_notebook(world)
    build = submit(world, year=2024)
    pinned = service.build_dir(build.id) / "notebook.ipynb"
    assert build.state == "queued" and build.parameters == {"year": 2024}
    assert pinned.read_bytes() == source.read_bytes()
    assert build.notebook_sha256 == airlock.quarantine.sha256_file(source)[0]
    assert oct(pinned.stat().st_mode & 0o777) == "0o444"
    source.write_text("changed later")  # the pinned copy is what runs
    assert pinned.read_bytes() != source.read_bytes()
    assert build.timeout_s == service.limits().default_timeout_s


@pytest.mark.parametrize(("parameters", "match"), [
    ({"x;import os": 1}, "not a Python identifier"),
    ({"__class__": 1}, "dunder"),
    ({"year": "2024"}, "expects int"),
    ({"nope": 1}, "not in the notebook's 'parameters' cell"),
    ({"output_dir": "/etc"}, "reserved"),
])
def test_bad_parameters_are_refused_before_anything_is_queued(world, parameters, match):
    write_notebook(world)
    with pytest.raises(ValidationError, match=match):
        service.submit(world.session, world.actor("ana"), world.grant_id, "nb.ipynb", parameters)
    assert builds(world) == []
    assert [p.name for p in (paths().home / "builds").iterdir()] == []  # no staging left
    assert refusals(world) == ["build.submit"]


@pytest.mark.parametrize("notebook", ["../../bob/1/nb.ipynb", "/etc/passwd", "sub/../../x.ipynb",
                                      ".hidden/nb.ipynb", "nb.txt", "missing.ipynb"])
def test_notebooks_outside_the_workspace_or_not_ipynb_are_refused(world, notebook):
    write_notebook(world)
    with pytest.raises((PolicyViolation, ValidationError)):
        submit(world, notebook)
    assert builds(world) == []


def test_a_symlinked_notebook_is_refused(world, tmp_path):
    target = write_notebook(world, "real.ipynb", user="bob")
    link = paths().workspaces / "ana" / str(world.grant_id) / "link.ipynb"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)
    with pytest.raises(PolicyViolation, match="symlink"):
        submit(world, "link.ipynb")


def test_paths_in_the_host_workspace_and_the_sandbox_work_folder_are_accepted(world):
    source = write_notebook(world, "nb.ipynb")
    (source.parent / "sub").mkdir()
    write_notebook(world, "sub/inner.ipynb")
    assert submit(world, str(source)).notebook_name == "nb.ipynb"
    assert submit(world, "/home/analyst/work/sub/inner.ipynb").notebook_name == "sub/inner.ipynb"


def test_an_invalid_notebook_is_refused(world):
    folder = write_notebook(world).parent
    (folder / "broken.ipynb").write_text('{"cells": 3}')
    with pytest.raises(ValidationError, match="not a valid Jupyter notebook"):
        submit(world, "broken.ipynb")
    assert builds(world) == []


def test_only_members_of_the_active_grant_may_submit(world):
    write_notebook(world, user="carl")
    with pytest.raises(PolicyViolation, match="not a member"):
        submit(world, user="carl")
    with pytest.raises(PermissionDenied, match="analyst"):
        submit(world, user="rev1")


def test_a_timeout_above_the_maximum_is_refused(world, monkeypatch):
    write_notebook(world)
    monkeypatch.setenv("ENCLAVE_BUILD_MAX_TIMEOUT_S", "60")
    with pytest.raises(ValidationError, match="timeout"):
        service.submit(world.session, world.actor("ana"), world.grant_id, "nb.ipynb", {},
                       timeout_s=61)
    assert service.submit(world.session, world.actor("ana"), world.grant_id, "nb.ipynb", {},
                          timeout_s=60).timeout_s == 60


# -- states, visibility, cancel -----------------------------------------------------------------


def test_the_state_table_allows_only_its_steps():
    assert states.step(1, "queued", "start", "system").target == "running"
    assert states.step(1, "running", "time_out", "system").target == "timed_out"
    assert states.step(1, "queued", "cancel", "requester").target == "cancelled"
    for state, action, who in (("queued", "start", "requester"), ("succeeded", "cancel", "staff"),
                               ("running", "succeed", "requester"), ("failed", "start", "system"),
                               ("timed_out", "fail", "system")):
        with pytest.raises(InvalidTransition):
            states.step(1, state, action, who)
    reachable = {t.target for t in states.TRANSITIONS} | {"queued"}
    assert reachable == set(states.STATES)
    assert not any(t.state in states.TERMINAL for t in states.TRANSITIONS)


def test_cancel_a_queued_build_and_nothing_after_it_ends(world):
    write_notebook(world)
    build = submit(world)
    with pytest.raises(NotFound):
        service.cancel(world.session, world.actor("carl"), build.id)  # not theirs: invisible
    assert service.cancel(world.session, world.actor("ana"), build.id).state == "cancelled"
    with pytest.raises(InvalidTransition):
        service.cancel(world.session, world.actor("ana"), build.id)
    assert runner.claim_next(world.session) is None


def test_claim_takes_the_oldest_queued_build_once(world):
    write_notebook(world)
    first, second = submit(world), submit(world)
    assert runner.claim_next(world.session).id == first.id
    assert runner.claim_next(world.session).id == second.id
    assert runner.claim_next(world.session) is None
    assert first.state == "running" and first.started_at is not None


def test_requesters_see_their_builds_staff_see_all(world):
    write_notebook(world)
    build = submit(world)
    assert [b.id for b in service.list_builds(world.session, world.actor("ana"))] == [build.id]
    assert service.list_builds(world.session, world.actor("bob")) == []
    assert [b.id for b in service.list_builds(world.session, world.actor("rev1"))] == [build.id]
    with pytest.raises(NotFound):
        service.get_build(world.session, world.actor("bob"), build.id)


def test_the_requester_log_of_a_level3_build_hides_notebook_output(world):
    write_notebook(world)
    build = submit(world)
    (service.build_dir(build.id) / "build.log").write_text(
        "[enclave] start\n2026 papermill Executing Cell 1---\nrow: 张三 11010519491231002X\n"
        "2026 papermill Ending Cell 1---\n")
    mine = service.read_log(world.actor("ana"), build)
    assert "张三" not in mine and "Executing Cell 1" in mine and "[enclave] start" in mine
    assert "张三" in service.read_log(world.actor("rev1"), build)


# -- outputs → airlock (the runner's export step, without a container) --------------------------


def finished_build(world, outputs: dict[str, str], contract: BuildContract | None = None):
    if not (paths().workspaces / "ana" / str(world.grant_id) / "nb.ipynb").exists():
        write_notebook(world)  # (a rewrite would change the hash: nbformat makes new cell ids)
    build = submit(world)
    build.state, build.contract_id = "succeeded", contract.id if contract else None
    build.datasets = [{"ref": "visits@1", "level": 3, "view": "real",
                       "content_sha256": "ab" * 32, "columns": None, "source": "/x"}]
    folder = service.build_dir(build.id) / "outputs"
    folder.mkdir()
    for name, text in outputs.items():
        (folder / name).write_text(text)
    world.session.commit()
    with (service.build_dir(build.id) / "build.log").open("a") as log:
        runner._export(world.session, build, log)
    return build


def test_outputs_become_a_request_needing_two_reviewers_for_level3_data(world, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text(support.RESIDENT_ID_CSV)
    build = finished_build(world, {"visits.csv": CLEAN})
    os.symlink(secret, service.build_dir(build.id) / "outputs" / "link.csv")
    request = world.session.get(AirlockRequest, build.request_id)
    assert request.state == "pending_review" and request.required_reviews == 2
    assert [f.name for f in request.active_files] == ["visits.csv"]
    assert request.notebook_sha256 == build.notebook_sha256 and build.review_route == "normal"
    assert build.outputs[0]["schema"] == {"columns": [["district", "str"], ["visits", "int"]],
                                          "rows": 3}
    provenance = service.manifest_provenance(world.session, request.id)
    assert provenance["id"] == build.id and provenance["datasets"][0]["content_sha256"] == "ab" * 32


def test_symlinks_in_the_outputs_folder_are_never_exported(world, tmp_path):
    write_notebook(world)
    folder = tmp_path / "outs"
    folder.mkdir()
    (folder / "ok.csv").write_text(CLEAN)
    (folder / "link.csv").symlink_to(folder / "ok.csv")
    (folder / "sub").mkdir()
    files, skipped = runner.inventory(folder)
    assert [f["name"] for f in files] == ["ok.csv"]
    assert skipped == ["link.csv (not a regular file)", "sub (not a regular file)"]


def test_raw_rows_in_an_output_block_the_request(world):
    build = finished_build(world, {"rows.csv": support.RESIDENT_ID_CSV})
    assert world.session.get(AirlockRequest, build.request_id).state == "blocked"


# -- contracts ----------------------------------------------------------------------------------


def active_contract(world, **overrides) -> BuildContract:
    values = dict(name="visits monthly", grant_id=world.grant_id if world else 1, owner_id=1,
                  state="active",
                  notebook_name="nb.ipynb", notebook_sha256="n" * 64, parameters={"year": 2025},
                  schedule="monthly", output_patterns=["visits*.csv"], thresholds={"max_rows": 10},
                  output_schema={"visits.csv": {"columns": [["district", "str"],
                                                            ["visits", "int"]], "rows": 3}})
    values.update(overrides)
    return BuildContract(**values)


OUT = [{"name": "visits.csv", "size": 40,
        "schema": {"columns": [["district", "str"], ["visits", "int"]], "rows": 3}}]


def test_a_rebuild_inside_the_contract_matches():
    assert contracts.match_contract(active_contract(None), "n" * 64, {"year": 2025}, OUT) == []


@pytest.mark.parametrize(("change", "reason"), [
    ({"notebook_sha256": "m" * 64}, "notebook changed"),
    ({"parameters": {"year": 2026}}, "parameters changed"),
    ({"outputs": [{**OUT[0], "name": "visits2.csv"}]}, "new output visits2.csv"),
    ({"outputs": []}, "missing output visits.csv"),
    ({"outputs": [{**OUT[0], "schema": {"columns": [["district", "str"], ["visits", "float"]],
                                        "rows": 3}}]}, "columns or types changed"),
    ({"outputs": [{**OUT[0], "schema": {**OUT[0]["schema"], "rows": 11}}]}, "max_rows"),
    ({"state": "proposed"}, "not approved"),
])
def test_anything_new_falls_outside_the_contract(change, reason):
    contract = active_contract(None, **{k: v for k, v in change.items()
                                        if k not in ("notebook_sha256", "parameters", "outputs")})
    found = contracts.match_contract(contract, change.get("notebook_sha256", "n" * 64),
                                     change.get("parameters", {"year": 2025}),
                                     change.get("outputs", OUT))
    assert any(reason in item for item in found), found


def test_a_clean_rebuild_inside_its_contract_needs_one_reviewer(world):
    write_notebook(world)
    probe = submit(world)
    contract = active_contract(world, notebook_sha256=probe.notebook_sha256,
                               parameters={}, owner_id=probe.requester_id)
    world.session.add(contract)
    world.session.commit()
    build = finished_build(world, {"visits.csv": CLEAN}, contract)
    request = world.session.get(AirlockRequest, build.request_id)
    assert build.contract_check == {"contract": contract.id, "inside": True, "reasons": []}
    assert (request.required_reviews, build.review_route) == (1, "contract")
    approved = airlock.decide(world.session, world.actor("rev1"), request.id, "approve")
    assert approved.state == "released"


def test_a_contract_rebuild_with_a_new_output_gets_normal_review(world):
    write_notebook(world)
    probe = submit(world)
    contract = active_contract(world, notebook_sha256=probe.notebook_sha256, parameters={},
                               owner_id=probe.requester_id)
    world.session.add(contract)
    world.session.commit()
    build = finished_build(world, {"visits.csv": CLEAN, "visits_extra.csv": CLEAN}, contract)
    request = world.session.get(AirlockRequest, build.request_id)
    assert build.contract_check["inside"] is False
    assert (request.required_reviews, build.review_route) == (2, "normal")


def test_schedules_and_thresholds_parse():
    start = datetime(2026, 1, 31, tzinfo=UTC)
    assert contracts.next_run("monthly", start) == datetime(2026, 2, 28, tzinfo=UTC)
    assert contracts.next_run(contracts.parse_schedule("Every 6h"), start) == \
        start + timedelta(hours=6)
    with pytest.raises(ValidationError, match="schedule"):
        contracts.parse_schedule("*/5 * * * *")
    assert contracts.parse_thresholds(["max_rows=10,max_bytes=99"]) == {"max_rows": 10,
                                                                         "max_bytes": 99}
    with pytest.raises(ValidationError, match="threshold"):
        contracts.parse_thresholds(["min_rows=3"])


def test_contract_create_approve_and_schedule(world):
    write_notebook(world)
    contract = contracts.create_contract(
        world.session, world.actor("ana"), name="visits monthly", grant_id=world.grant_id,
        notebook="nb.ipynb", parameters={"year": 2024}, schedule="daily",
        outputs=["visits*.csv"])
    first = world.session.get(Build, contract.first_build_id)
    assert contract.state == "proposed" and first.contract_id == contract.id
    with pytest.raises(PolicyViolation, match="released first"):
        contracts.approve_contract(world.session, world.actor("rev1"), contract.id)
    with pytest.raises(PermissionDenied):
        contracts.approve_contract(world.session, world.actor("bob"), contract.id)
    first.state = "cancelled"  # stand in for its run: a released build with outputs below
    released = finished_build(world, {"visits.csv": CLEAN})
    for reviewer in ("rev1", "rev2"):
        airlock.decide(world.session, world.actor(reviewer), released.request_id, "approve")
    contract.first_build_id = released.id
    world.session.commit()
    contracts.approve_contract(world.session, world.actor("rev1"), contract.id)
    assert contract.state == "active" and set(contract.output_schema) == {"visits.csv"}
    assert contracts.schedule_due(world.session) == []  # not due yet
    later = contract.next_run_at + timedelta(seconds=1)
    (queued,) = contracts.schedule_due(world.session, now=later)
    assert (queued.trigger, queued.contract_id, queued.parameters) == ("schedule", contract.id,
                                                                       {"year": 2024})
    assert contracts.schedule_due(world.session, now=later + timedelta(days=2)) == []  # busy


def test_the_cli_refuses_a_bad_parameter_naming_it_and_queues_nothing(world, capsys):
    from hub.cli.main import main

    write_notebook(world)
    world.session.commit()
    with pytest.raises(SystemExit) as exit_:
        main(["build", "submit", "nb.ipynb", "--grant", str(world.grant_id), "-p", "year",
              "twenty", "--as", "ana"])
    assert exit_.value.code == 1
    assert "year" in capsys.readouterr().err
    main(["build", "submit", "nb.ipynb", "--grant", str(world.grant_id), "-p", "year", "2024",
          "-p", "label", "航空港区", "--as", "ana", "--json"])
    shown = json.loads(capsys.readouterr().out)
    assert shown["state"] == "queued" and shown["parameters"] == {"year": 2024, "label": "航空港区"}
