"""Entry point of the ``enclave`` command.

Sub-command groups are imported lazily (``enclave --help`` must not load Presidio or pandas), and
this is the one place where :class:`hub.errors.EnclaveError` becomes a message for a person and a
non-zero exit code.
"""

from __future__ import annotations

import importlib
import sys

import click

from hub import __version__
from hub.errors import EnclaveError
from hub.i18n import current_language, pick

# command name -> "module:attribute" of a click command or group
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "org": ("hub.cli.org", "组织管理 / Organizations"),
    "user": ("hub.cli.user", "用户与角色 / Users and roles"),
    "catalog": ("hub.cli.catalog", "数据资源目录 / Dataset catalog"),
    "grant": ("hub.cli.grant", "授权管理 / Grants"),
    "twin": ("hub.cli.twin", "合成孪生数据 / Synthetic twins"),
    "audit": ("hub.cli.audit", "审计日志 / Audit log"),
    "demo": ("hub.cli.demo", "演示数据 / Seed demo data"),
    "scan": ("hub.cli.scan", "出域扫描 / Scan files that want to leave"),
    "airlock": ("hub.cli.airlock", "出域申请 / Export requests (airlock)"),
    "release": ("hub.cli.release", "发布的产品 / Released products: list, verify, revoke"),
    "build": ("hub.cli.build", "批量构建 / Batch builds on real data, product contracts"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in SUBCOMMANDS:
            return None
        module_name, _ = SUBCOMMANDS[name]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None
            raise
        return module.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SUBCOMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands / 命令"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="enclave")
def cli() -> None:
    """Enclave 安全分析沙箱 — 原始数据不出域、数据可用不可见.

    Enclave secure analysis sandbox for authorized public data. State lives in $ENCLAVE_HOME
    (default ~/.enclave); the database in $ENCLAVE_DATABASE_URL (default SQLite in ENCLAVE_HOME).
    Messages follow the locale; set ENCLAVE_LANG=zh or en to choose.
    """


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="enclave", standalone_mode=False)
    except EnclaveError as exc:
        label = "错误" if current_language() == "zh" else "error"
        click.echo(f"{label} [{exc.code}]: {pick(exc)}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("aborted / 已取消", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
