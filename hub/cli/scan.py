"""``enclave scan PATH... [--policy FILE] [--level N] [--json]``: the egress filter on files.

Exit code 0 whenever the scan ran, whatever the verdicts; problems with single files (missing,
unreadable, refused) are per-file blocks in the output, never a crash. A bad policy file is an
error of the command itself (exit 1 with a message naming the bad field).
"""

from __future__ import annotations

import json

import click


@click.command(name="scan")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False, path_type=str),
              default=None, help="Policy YAML (default: built-in) / 策略文件（默认内置策略）")
@click.option("--level", type=click.IntRange(1, 4), default=3, show_default=True,
              help="Classification level of the source data (1 公开 2 内部 3 敏感 4 核心) / 数据分级")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object / 输出 JSON")
def command(paths: tuple[str, ...], policy_file: str | None, level: int, as_json: bool) -> None:
    """扫描待出域文件 / Scan files that want to leave the sandbox.

    Directories are walked (symlinks are not followed). Each file gets pass, review or block.
    """
    from egress_filter.policy import load_policy
    from egress_filter.report import human_summary, scan_result_json
    from egress_filter.scanner import scan_paths

    policy = load_policy(policy_file)
    reports = scan_paths(paths, policy=policy, level=level)
    if as_json:
        click.echo(json.dumps(scan_result_json(reports, policy, level), ensure_ascii=False))
    else:
        click.echo(human_summary(reports, policy, level))
