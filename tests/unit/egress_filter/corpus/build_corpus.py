"""Build the labelled corpus used by ``benchmarks/eval_corpus.py`` (deterministic, seeded).

Writes ``text_corpus.jsonl`` (one ``{"text", "spans": [[entity, start, end], ...]}`` per line)
and ``column_corpus.json`` (``[{"name", "values", "labels"}]``, one label per row, ``null`` for
rows holding nothing). Positives use fake but format-valid identifiers from :mod:`synth`, in
several styles; hard negatives are order numbers, amounts, dates, codes, versions, times and
18-digit numbers whose checksums fail. Run: ``python tests/unit/egress_filter/corpus/build_corpus.py``.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from corpus import synth  # noqa: E402


def fullwidth(value: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in value)


def styled_mobile(rng: random.Random) -> str:
    m = synth.mobile(rng)
    style = rng.randrange(5)
    if style == 1:
        return f"+86 {m[:3]}-{m[3:7]}-{m[7:]}"
    if style == 2:
        return f"{m[:3]} {m[3:7]} {m[7:]}"
    if style == 3:
        return fullwidth(m)
    return m


def styled_card(rng: random.Random) -> str:
    c = synth.bank_card(rng, length=rng.choice((16, 19)))
    return " ".join(c[i : i + 4] for i in range(0, len(c), 4)) if rng.random() < 0.3 else c


def passport(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice("EG") + f"{rng.randrange(10**8):08d}"
    return "E" + rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") + f"{rng.randrange(10**7):07d}"


def plate(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return "豫A" + rng.choice("DF") + rng.choice("ABC0123") + f"{rng.randrange(10**4):04d}"
    return synth.plate(rng)


def ipv4(rng: random.Random) -> str:
    return ".".join(str(rng.randrange(256)) for _ in range(4))


GEN = {
    "CN_RESIDENT_ID": synth.resident_id,
    "CN_MOBILE": styled_mobile,
    "CN_LANDLINE": lambda r: rng_choice(r, [synth.landline(r), f"(0371){r.randrange(6 * 10**7, 7 * 10**7)}",
                                            f"010-{r.randrange(5 * 10**7, 9 * 10**7)}"]),
    "BANK_CARD": styled_card,
    "CN_PASSPORT": passport,
    "CN_LICENSE_PLATE": plate,
    "CN_USCC": synth.uscc,
    "EMAIL_ADDRESS": lambda r: f"{rng_choice(r, ['zhang', 'li.na', 'wang_01', 'hr'])}{r.randrange(100)}@"
                               f"{rng_choice(r, ['example.com', 'zzu.edu.cn', 'mail.example.org'])}",
    "IP_ADDRESS": lambda r: ipv4(r) if r.random() < 0.8 else f"2001:db8::{r.randrange(1, 9999):x}",
    "PERSON": synth.person_name,
    "LOCATION": synth.address,
}


def rng_choice(rng: random.Random, options: list[str]) -> str:
    return rng.choice(options)


# "{E}" slots are filled with a value of entity E and labelled.
POSITIVE_TEMPLATES = [
    "乘客{PERSON}，身份证号{CN_RESIDENT_ID}，手机{CN_MOBILE}。",
    "联系人：{PERSON}  电话：{CN_MOBILE}",
    "申请人{PERSON}（证件号码{CN_RESIDENT_ID}）于2025年3月12日提交申请。",
    "住址：{LOCATION}",
    "家住{LOCATION}，办公电话{CN_LANDLINE}",
    "退款请转入银行卡{BANK_CARD}，开户行中国银行。",
    "旅客护照号{CN_PASSPORT}，航班CZ3456。",
    "车牌号{CN_LICENSE_PLATE}的车辆于08:30驶入停车场。",
    "企业统一社会信用代码：{CN_USCC}",
    "请发送至邮箱{EMAIL_ADDRESS}谢谢",
    "登录日志：来源IP {IP_ADDRESS} 访问了系统",
    "服务器地址{IP_ADDRESS}已停用",
    "{PERSON}的手机号是{CN_MOBILE}，车牌{CN_LICENSE_PLATE}",
    "经办人{PERSON}，联系电话{CN_LANDLINE}，邮箱{EMAIL_ADDRESS}",
    "ID {CN_RESIDENT_ID} phone {CN_MOBILE} email {EMAIL_ADDRESS}",
    "{CN_RESIDENT_ID}",
    "{CN_MOBILE}",
    "收件地址{LOCATION}，收件人{PERSON}，电话{CN_MOBILE}",
    "信用卡号：{BANK_CARD}；持卡人：{PERSON}",
    "个体工商户{CN_USCC}的负责人为{PERSON}",
]

NEGATIVES = [
    "2025年第三季度航空港区旅客吞吐量同比增长{pct}%，货邮吞吐量{amount}吨。",
    "订单号{order16}，金额{amount}元，下单时间2025-07-25 10:30:00。",
    "统计编码{bad18}，批次{bad16}。",
    "流水号{bad19}已处理。",
    "坐标 34.{frac}, 113.{frac}，均值{float11}。",
    "版本v1.2.3.4发布，构建号{order16}。",
    "高铁G1234次于14:05到达郑州东站，车厢号05。",
    "金水区、二七区和中原区的客流量分别为{n1}、{n2}、{n3}人次。",
    "郑州市是河南省省会，航空港区位于郑州市东南部。",
    "本表数据来源于公共数据授权运营平台，原始数据不出域，数据可用不可见。",
    "产品型号E{digits8}，货号G{digits8}。",
    "合计{big}元，其中财政拨款{big}元。",
    "会议于2025年11月27日上午9:30在3号会议室召开。",
    "样本量n={n1}，标准差{float11}，p值0.{digits8}。",
    "报表编号{bad18}，页码{n1}。",
]


# Written by hand before measuring, not tuned afterwards: [[ENTITY:value]] marks a labelled span.
HANDWRITTEN = [
    "经查，[[PERSON:李建军]]于2025年6月3日在[[LOCATION:郑州市新郑市龙湖镇祥和路16号]]租住。",
    "请[[PERSON:王丽]]女士尽快回电[[CN_MOBILE:159 3712 0458]]。",
    "投诉人[[PERSON:赵文强]]反映，其车辆[[CN_LICENSE_PLATE:豫A7K2M9]]在停车场被剐蹭。",
    "开户名：[[PERSON:周红梅]]，账号[[BANK_CARD:6228480402564890018]]，开户行农业银行。",
    "航班CZ6305延误，旅客[[PERSON:欧阳晓峰]]（护照[[CN_PASSPORT:E89012345]]）要求改签。",
    "附件为[[PERSON:孙立新]]的简历，邮箱[[EMAIL_ADDRESS:sunlixin@example.com]]。",
    "防火墙拦截了来自[[IP_ADDRESS:203.0.113.45]]的扫描，时间14:22:05。",
    "该公司（统一社会信用代码[[CN_USCC:91410100MA44XJ7K0U]]）注册于航空港区。",
    "户籍地址：[[LOCATION:河南省周口市川汇区七一路88号]]；现住[[LOCATION:航空港区新港大道与雁鸣路交叉口向南200米]]",
    "联系电话：[[CN_LANDLINE:0371-86198888]]（工作日9:00-17:00）",
    "[[PERSON:马卫东]]、[[PERSON:高洁]]、[[PERSON:林志远]]三人获评年度先进个人。",
    "身份证号码为[[CN_RESIDENT_ID:410184199210085410]]的旅客已办理值机。",
    "本周末高速公路免费通行，黄金周期间客流同比增长12.5%。",
    "林业局、水利局和交通局联合召开常务会议，马上部署防汛工作。",
    "报表显示，2025年1-9月完成固定资产投资1234567.89万元，同比增长8.7%。",
    "请于明日上午将材料报送至综合办公室，文号郑港〔2025〕22号。",
    "国内生产总值增速为5.2%，高于全国平均水平0.3个百分点。",
    "样本编号410105199001010019（校验位错误）不是有效身份证号。",
    "程序员在周报中写道：方向明确，白天开发，晚上测试。",
    "会议地点：郑州市会展中心；参会单位：金水区、二七区、航空港区。",
    "货物单号7712345678901234已签收，重量12.35千克。",
    "版本号1.10.2.3，补丁编号KB5034441。",
    "服务热线400-800-1234，投诉电话12345。",
    "江南春天气晴好，游客可前往黄河风景名胜区。",
    "常住人口1282.8万人，城镇化率79.4%。",
    "[[PERSON:张明]]的邮箱[[EMAIL_ADDRESS:zm2025@163.com]]已停用，请改用电话[[CN_MOBILE:+8613700371234]]。",
    "司机[[PERSON:刘晓东]]驾驶[[CN_LICENSE_PLATE:豫AF82361]]从[[LOCATION:中原区建设西路187号]]出发。",
    "商户的服务器[[IP_ADDRESS:10.12.0.7]]与数据库192.168.0.300之间连接失败。",
    "统计期内共有1,024名乘客，平均年龄36.5岁，平均票价482.00元。",
    "抽检编号G20250001至G20250099的样品全部合格。",
]


def handwritten() -> list[dict]:
    rows = []
    for line in HANDWRITTEN:
        text, spans, pos = "", [], 0
        while (start := line.find("[[", pos)) >= 0:
            end = line.index("]]", start)
            entity, value = line[start + 2 : end].split(":", 1)
            text += line[pos:start]
            spans.append([entity, len(text), len(text) + len(value)])
            text += value
            pos = end + 2
        rows.append({"text": text + line[pos:], "spans": spans})
    return rows


def fill(template: str, rng: random.Random) -> tuple[str, list[list]]:
    text, spans = "", []
    pos = 0
    while True:
        start = template.find("{", pos)
        if start < 0:
            text += template[pos:]
            return text, spans
        end = template.index("}", start)
        text += template[pos:start]
        entity = template[start + 1 : end]
        value = GEN[entity](rng)
        spans.append([entity, len(text), len(text) + len(value)])
        text += value
        pos = end + 1


def negative(template: str, rng: random.Random) -> str:
    def digits(n: int) -> str:
        return "".join(str(rng.randrange(10)) for _ in range(n))

    return template.format(
        pct=f"{rng.random() * 20:.2f}", amount=f"{rng.random() * 1e5:.2f}",
        order16=str(rng.randrange(10**15, 10**16)), bad18=synth.bad_checksum_number(rng, 18),
        bad16=synth.bad_checksum_number(rng, 16), bad19=synth.bad_checksum_number(rng, 19),
        frac=digits(6), float11=f"{rng.random() * 100:.11f}", n1=rng.randrange(10**5),
        n2=rng.randrange(10**5), n3=rng.randrange(10**5), digits8=digits(8),
        big=f"{rng.randrange(10**10, 10**12):,}",
    )


def text_corpus(rng: random.Random) -> list[dict]:
    rows = []
    for _ in range(12):
        for template in POSITIVE_TEMPLATES:
            text, spans = fill(template, rng)
            rows.append({"text": text, "spans": spans})
    for _ in range(16):
        for template in NEGATIVES:
            rows.append({"text": negative(template, rng), "spans": []})
    rng.shuffle(rows)
    return rows + handwritten()


def column_corpus(rng: random.Random, n: int = 400) -> list[dict]:
    columns = []
    for entity, name in [
        ("CN_RESIDENT_ID", "身份证号"), ("CN_MOBILE", "手机"), ("CN_LANDLINE", "联系电话"),
        ("BANK_CARD", "银行卡号"), ("CN_PASSPORT", "护照号码"), ("CN_LICENSE_PLATE", "车牌"),
        ("CN_USCC", "统一社会信用代码"), ("EMAIL_ADDRESS", "email"), ("IP_ADDRESS", "client_ip"),
        ("PERSON", "姓名"), ("LOCATION", "住址"),
    ]:
        values = [GEN[entity](rng) for _ in range(n)]
        columns.append({"name": name, "values": values, "labels": [entity] * n})
    # Unnamed columns: the values must speak for themselves.
    for entity in ("CN_RESIDENT_ID", "CN_MOBILE", "PERSON", "CN_PASSPORT"):
        values = [GEN[entity](rng) for _ in range(n)]
        columns.append({"name": f"col_{entity.lower()}", "values": values, "labels": [entity] * n})
    # Hard-negative columns with a few hidden identifiers.
    negatives = {
        "订单号": lambda: str(rng.randrange(10**15, 10**16)),
        "统计编码": lambda: synth.bad_checksum_number(rng, 18),
        "流水号": lambda: synth.bad_checksum_number(rng, 19),
        "金额": lambda: f"{rng.random() * 1e6:.2f}",
        "日期": lambda: f"2025-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
        "区县": lambda: rng.choice(synth.DISTRICTS),
        "产品编码": lambda: rng.choice("EGKP") + f"{rng.randrange(10**8):08d}",
        "版本": lambda: f"{rng.randrange(10)}.{rng.randrange(20)}.{rng.randrange(100)}",
        "备注": lambda: rng.choice(["正常", "已核实", "待复核", "数据来源：城运中心", "同比增长"]),
    }
    for name, make in negatives.items():
        values, labels = [make() for _ in range(n)], [None] * n
        for _ in range(2):
            row = rng.randrange(n)
            entity = rng.choice(["CN_MOBILE", "CN_RESIDENT_ID", "EMAIL_ADDRESS"])
            values[row], labels[row] = GEN[entity](rng), entity
        columns.append({"name": name, "values": values, "labels": labels})
    return columns


def main() -> None:
    rng = random.Random(20251127)
    with (HERE / "text_corpus.jsonl").open("w", encoding="utf-8") as out:
        for row in text_corpus(rng):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    (HERE / "column_corpus.json").write_text(
        json.dumps(column_corpus(rng), ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
