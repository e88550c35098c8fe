"""``enclave demo``: seed an empty Enclave with the airport-zone demo."""

from __future__ import annotations

import click

from hub.cli.common import echo_json, echo_table, json_option
from hub.demo.generate import SIZES
from hub.demo.seed import seed_demo
from hub.synth.store import verify_seed


@click.command("demo")
@click.option("--size", default="small", show_default=True,
              type=click.Choice(tuple(SIZES)),
              help="每个数据集行数 / rows per dataset: " +
                   ", ".join(f"{k}={v:,}" for k, v in SIZES.items()))
@click.option("--seed", type=int, default=0, show_default=True,
              help="随机种子 / random seed for data and twins")
@json_option
def command(size: str, seed: int, as_json: bool) -> None:
    """写入演示数据 / Seed orgs, accounts, datasets, twins and grants into an empty Enclave.

    演示账号的密码是公开的，切勿用于生产环境。The demo passwords are public: never use them on
    a production system. 需要空的 ENCLAVE_HOME / needs an empty ENCLAVE_HOME.
    """
    from hub import db

    verify_seed(seed)
    say = (lambda _msg: None) if as_json else (lambda msg: click.echo(f"· {msg}", err=True))
    with db.session() as session:
        result = seed_demo(session, size=size, seed=seed, progress=say)
    if as_json:
        echo_json(result.to_json())
        return
    click.echo("演示数据已写入 / demo seeded.")
    click.echo("\n数据集 / datasets:")
    echo_table([{"ref": ref, "level": result.levels[name],
                 "twin": "yes" if ref in result.twins else "-"}
                for name, ref in result.versions.items()], ["ref", "level", "twin"])
    click.echo("\n授权 / grants:")
    echo_table(result.grants, ["id", "developer", "purpose", "state", "items", "members"])
    click.echo("\n演示账号（密码公开，仅供演示）/ demo accounts (public passwords, demo only):")
    echo_table([{"username": a.username, "password": a.password, "org": a.org,
                 "roles": a.roles, "name": a.display_name} for a in result.accounts],
               ["username", "password", "roles", "org", "name"])
