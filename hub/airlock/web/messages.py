"""Every string the airlock web app shows, in zh-CN and en (one table; zh-CN first).

Templates call ``t("key", **values)``; a missing key raises at once (tests render every page),
so the table cannot silently fall behind the templates.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

MESSAGES: dict[str, tuple[str, str]] = {
    # layout
    "app_title": ("出域审核", "Airlock"),
    "nav_queue": ("申请列表", "Requests"),
    "nav_new": ("新建出域申请", "New export request"),
    "nav_products": ("发布产品", "Released products"),
    "nav_hub": ("返回平台首页", "Back to the hub"),
    "signed_in_as": ("当前用户：{name}（{roles}）", "Signed in as {name} ({roles})"),
    "switch_lang": ("English", "中文"),
    # queue
    "queue_title_reviewer": ("待我审核的申请", "Requests waiting for my review"),
    "queue_title_mine": ("我的出域申请", "My export requests"),
    "queue_title_all": ("全部出域申请", "All export requests"),
    "queue_empty": ("暂无申请。", "No requests."),
    "col_id": ("编号", "ID"),
    "col_state": ("状态", "State"),
    "col_grant": ("授权", "Grant"),
    "col_requester": ("申请人", "Requester"),
    "col_files": ("文件", "Files"),
    "col_reviews": ("所需审核人数", "Reviews needed"),
    "col_updated": ("更新时间", "Updated"),
    "col_verdicts": ("扫描结论", "Scan verdicts"),
    # states
    "state_draft": ("草稿", "draft"),
    "state_submitted": ("已提交", "submitted"),
    "state_scanning": ("扫描中", "scanning"),
    "state_blocked": ("已拦截", "blocked"),
    "state_pending_review": ("待审核", "pending review"),
    "state_returned": ("退回修改", "returned"),
    "state_approved": ("已批准", "approved"),
    "state_rejected": ("已驳回", "rejected"),
    "state_released": ("已发布", "released"),
    "state_revoked": ("已撤回", "revoked"),
    "state_withdrawn": ("已撤销", "withdrawn"),
    "verdict_pass": ("通过", "pass"),
    "verdict_review": ("需人工审核", "review"),
    "verdict_block": ("拦截", "block"),
    "verdict_none": ("未扫描", "not scanned"),
    # new request
    "new_title": ("从输出目录（outbox）提出出域申请", "Request an export from your outbox"),
    "new_grant": ("授权 {id}：{scenario}", "Grant {id}: {scenario}"),
    "new_outbox_empty": ("该授权的输出目录为空。请先在沙箱中把文件保存到 outbox/。",
                         "The outbox of this grant is empty. Save files to outbox/ in your "
                         "sandbox first."),
    "new_no_grants": ("您当前没有生效的授权。", "You have no active grant."),
    "new_pick": ("选择", "Pick"),
    "new_context": ("背景说明（该文件是什么）", "Context (what this file is)"),
    "new_justification": ("出域理由（为何需要带出）", "Justification (why it must leave)"),
    "new_notebook": ("生成该文件的 notebook SHA-256（可选）",
                     "SHA-256 of the producing notebook (optional)"),
    "new_submit": ("提交并扫描", "Submit and scan"),
    "new_none_picked": ("请至少选择一个文件。", "Pick at least one file."),
    "size": ("大小", "Size"),
    # request page
    "req_title": ("出域申请 #{id}", "Export request #{id}"),
    "req_overview": ("概况", "Overview"),
    "req_state": ("状态", "State"),
    "req_state_reason": ("状态说明", "State note"),
    "req_round": ("审核轮次", "Review round"),
    "req_required": ("所需审核人数", "Reviewers required"),
    "req_level": ("数据分级", "Classification level"),
    "req_policy": ("出域策略", "Egress policy"),
    "req_grant": ("授权", "Grant"),
    "req_scenario": ("应用场景", "Scenario"),
    "req_purpose": ("用途", "Purpose"),
    "purpose_public_welfare": ("公益（免费）", "public welfare (free)"),
    "purpose_industry": ("产业（收费）", "industry (fee)"),
    "purpose_free": ("公益（免费）", "free"),
    "purpose_fee": ("收费", "fee"),
    "req_datasets": ("数据集及版本", "Datasets and versions"),
    "req_requester": ("申请人", "Requester"),
    "req_submitted": ("提交时间", "Submitted"),
    "req_notebook": ("生成该文件的 notebook（SHA-256）", "Producing notebook (SHA-256)"),
    "req_image": ("镜像摘要", "Image digest"),
    "req_none": ("无", "none"),
    "req_product": ("已发布为产品 #{id}", "Released as product #{id}"),
    "file_title": ("文件：{name}", "File: {name}"),
    "file_sha": ("SHA-256", "SHA-256"),
    "file_context": ("背景说明", "Context"),
    "file_justification": ("出域理由", "Justification"),
    "file_verdict": ("扫描结论", "Scan verdict"),
    "file_reasons": ("原因", "Reasons"),
    "file_findings": ("扫描发现（已脱敏）", "Scan findings (masked)"),
    "finding_entity": ("类型", "Type"),
    "finding_count": ("次数", "Count"),
    "finding_where": ("位置", "Location"),
    "finding_examples": ("示例（脱敏）", "Examples (masked)"),
    "finding_detail": ("说明", "Detail"),
    "no_findings": ("没有发现。", "No findings."),
    "preview": ("内容预览", "Preview"),
    "preview_rows": ("前 {shown} 行（共 {total} 行）", "First {shown} rows (of {total})"),
    "preview_lines": ("前 {shown} 行（共 {total} 行）", "First {shown} lines (of {total})"),
    "preview_sheet": ("工作表：{name}", "Sheet: {name}"),
    "preview_source": ("以源码显示（不渲染）", "Shown as source (never rendered)"),
    "preview_unavailable": ("无法预览：{why}", "No preview: {why}"),
    "preview_image_alt": ("图片 {name}", "image {name}"),
    "flagged_legend": ("高亮的单元格或文字为扫描发现的位置。",
                       "Highlighted cells or text mark where the scan found something."),
    "masked_legend": ("拦截级别的发现在预览中已脱敏（此类文件不可能被批准）。",
                      "Values behind blocking findings are masked (such a file can never be "
                      "approved)."),
    "decisions": ("审核决定", "Decisions"),
    "decisions_none": ("暂无可见的审核决定（审核期间互不可见）。",
                       "No visible decisions yet (reviewers are blinded until all decide)."),
    "decision_approve": ("批准", "approve"),
    "decision_reject": ("驳回", "reject"),
    "decision_return": ("退回修改", "return for changes"),
    "decision_private": ("私有备注", "Private note"),
    "decide_title": ("作出审核决定", "Decide"),
    "decide_comment": ("意见（驳回或退回时必填，申请人可见）",
                       "Comment (required to reject or return; the requester sees it)"),
    "decide_note": ("私有备注（仅审核方可见）", "Private note (reviewers only)"),
    "decide_submit": ("提交决定", "Submit decision"),
    "withdraw": ("撤销申请", "Withdraw request"),
    "history": ("历史记录", "History"),
    "history_at": ("时间", "Time"),
    "history_actor": ("操作人", "Actor"),
    "history_action": ("操作", "Action"),
    "history_outcome": ("结果", "Outcome"),
    "history_details": ("详情", "Details"),
    # products
    "products_title": ("发布产品（二级产品目录）", "Released products (catalog)"),
    "products_empty": ("暂无发布的产品。", "No products yet."),
    "col_product": ("产品", "Product"),
    "col_request": ("申请", "Request"),
    "col_purpose": ("用途", "Purpose"),
    "col_scenario": ("应用场景", "Scenario"),
    "col_released": ("发布时间", "Released"),
    "col_manifest": ("清单 SHA-256", "Manifest SHA-256"),
    "download": ("下载 {name}", "Download {name}"),
    "product_revoked": ("已撤回：{reason}（{by}，{at}）", "Revoked: {reason} ({by}, {at})"),
    "product_state_building": ("生成中", "building"),
    "product_state_published": ("已发布", "published"),
    "product_state_revoked": ("已撤回", "revoked"),
    # errors and notices
    "error_title": ("出错了", "Something went wrong"),
    "error_status": ("HTTP {status}", "HTTP {status}"),
    "error_forbidden": ("您没有权限访问此页面。", "You may not open this page."),
    "error_not_found": ("未找到。", "Not found."),
    "error_xsrf": ("表单已过期或来源不明（XSRF 校验失败），请刷新后重试。",
                   "The form expired or came from elsewhere (XSRF check failed); reload and "
                   "try again."),
    "error_unknown_user": ("平台用户 {name} 不在 Enclave 用户库中。",
                           "Hub user {name} is not an Enclave user."),
    "notice_submitted": ("申请 #{id} 已提交，扫描结论：{state}。",
                         "Request #{id} submitted; after the scan it is {state}."),
    "notice_decided": ("已记录您的决定。", "Your decision is recorded."),
}


def message(key: str, lang: Lang, **values: object) -> str:
    """The text of ``key`` in ``lang`` with ``values`` filled in (KeyError if unknown)."""
    zh, en = MESSAGES[key]
    text = zh if lang == "zh" else en
    return text.format(**values) if values else text


def pick_lang(query: str | None, cookie: str | None) -> Lang:
    """``?lang=`` wins, then the ``lang`` cookie; zh-CN is the default."""
    for value in (query, cookie):
        if value in LANGS:
            return value  # type: ignore[return-value]
    return "zh"
