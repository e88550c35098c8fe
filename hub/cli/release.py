"""``enclave release``: the product catalog of released secondary products, offline verification
and revocation. Bundles are described in :mod:`hub.airlock.release`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hub.airlock import release as bundles
from hub.airlock import service
from hub.cli.common import acting, actor_option, echo_json, echo_table, json_option, reading
from hub.errors import IntegrityError


@click.group("release")
def command() -> None:
    """发布的二次开发产品 / Released secondary products: catalog, verify, revoke."""


@command.command("list")
@click.option("--state", type=click.Choice(("building", "published", "revoked")))
@json_option
def list_(state: str | None, as_json: bool) -> None:
    """产品目录（公益免费 / 产业收费）/ Product catalog with purpose free or fee."""
    with reading() as session:
        rows = [service.product_json(p) for p in service.list_products(session, state)]
    if as_json:
        echo_json(rows)
        return
    echo_table([{**r, "files": [f["name"] for f in r["files"]]} for r in rows],
               ["id", "state", "purpose", "grant", "request", "files", "published_at",
                "revoke_reason"])


@command.command("show")
@click.argument("product_id", type=int)
@click.option("--manifest", is_flag=True, help="打印完整清单 / print the whole manifest")
@json_option
def show(product_id: int, manifest: bool, as_json: bool) -> None:
    """产品详情 / Show one product."""
    with reading() as session:
        product = service.get_product(session, product_id)
        value = service.product_json(product)
        text = product.manifest
    if manifest:
        click.echo(text, nl=False)
    elif as_json:
        echo_json(value)
    else:
        for key, item in value.items():
            shown = json.dumps(item, ensure_ascii=False) if isinstance(item, list | dict) else item
            click.echo(f"{key}: {shown}")


@command.command("verify")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--public-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="可信公钥 PEM（默认 ENCLAVE_HOME/keys）/ trusted public key PEM")
@json_option
def verify(path: Path, public_key: Path | None, as_json: bool) -> None:
    """离线校验发布包 / Verify a bundle offline: signature, every file hash, nothing extra."""
    report = bundles.verify_bundle(path, public_key.read_bytes() if public_key else None)
    if as_json:
        echo_json(report.to_json())
    if not report.ok:
        raise IntegrityError(f"bundle {path} FAILED: " + "; ".join(report.problems),
                             f"发布包 {path} 校验失败：" + "；".join(report.problems))
    if not as_json:
        click.echo(f"bundle {path} OK: signature valid, {report.checked_files} file(s) match "
                   f"(key: {report.key_source}) / 发布包校验通过")


@command.command("revoke")
@click.argument("product_id", type=int)
@click.option("--reason", required=True, help="撤回理由 / reason (recorded)")
@actor_option
def revoke(product_id: int, reason: str, actor_name: str) -> None:
    """撤回产品：记录、标记、移除文件（保留清单）/ Revoke: recorded, files withdrawn."""
    with acting(actor_name) as (session, actor):
        product = service.revoke_product(session, actor, product_id, reason)
        click.echo(f"product {product.id} revoked / 已撤回: {product.revoke_reason}")
