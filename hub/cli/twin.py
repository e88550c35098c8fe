"""``enclave twin``: build the synthetic twin of a catalog dataset version."""

from __future__ import annotations

import click

from hub.cli.common import acting, actor_option, echo_json, json_option
from hub.synth.store import build_twin, twin_dir, verify_seed


@click.command("twin")
@click.argument("dataset_version", metavar="DATASET_VERSION")
@click.option("--seed", type=int, default=0, show_default=True,
              help="随机种子（同一种子结果相同）/ random seed (same seed, same twin)")
@json_option
@actor_option
def command(dataset_version: str, seed: int, as_json: bool, actor_name: str) -> None:
    """生成合成孪生数据 / Build the synthetic twin of DATASET_VERSION (NAME or NAME@N).

    孪生数据与原数据结构、格式一致，标识符列全部重新生成且与原值无一相同；存放在版本目录旁
    （<store>/<dataset>/v<n>.twin/），并记入审计日志。The twin has the schema and formats of
    the version; identifier columns are regenerated and share no value with the original. It is
    stored beside the version and recorded in the audit log.
    """
    verify_seed(seed)
    with acting(actor_name) as (session, actor):
        manifest = build_twin(session, actor, dataset_version, seed=seed)
        from hub import catalog

        folder = twin_dir(catalog.get_version(session, manifest["source"]))
    if as_json:
        echo_json({**manifest, "path": str(folder)})
        return
    rows = sum(f["row_count"] for f in manifest["files"])
    click.echo(f"{manifest['source']}: twin built / 已生成孪生数据 — {rows} rows, seed {seed}")
    click.echo(f"  path / 路径: {folder}")
    for column, tags in sorted(manifest["tags"].items()):
        click.echo(f"  {column}: {', '.join(tags)} → regenerated / 已重新生成")
