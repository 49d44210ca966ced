# ruff: noqa: E501 - the vocabularies of generated Chinese text are kept one list to a line
"""Resource-catalog search at 100,000 resources: jieba full text with visibility and paging, in-process and
through the API, against a primary-key baseline measured in the same run.

What it does, in one run:

1. creates a throwaway database — SQLite in a temporary directory by default, or PostgreSQL when
   ``DATABASE_URL`` (or ``--postgres URL``) is given (a random suffix is added to the database name, and the
   database is dropped afterwards) — and migrates it;
2. adds 40 departments and a handler of one of them (with a bearer token), then bulk-creates ``--resources``
   resources (default 100,000; ``--quick`` 10,000), each with one published version, three data items and
   its search document, spread over the departments and the base, thematic and departmental catalogs;
   sharing types 50 % unconditional, 35 % conditional, 15 % not shared; names, abstracts and data items are
   drawn from a vocabulary of government subjects, so each query below matches from a few dozen to a few
   thousand resources; then builds the index (SQLite: the FTS5 table from the documents, then ``ANALYZE``;
   PostgreSQL: the generated tsvector column is filled on insert, then ``VACUUM ANALYZE``);
3. measures, for the handler (the shared catalog: every shared resource plus its department's own):
   * baseline: fetching one resource with its current version by primary key (in-process), and
     ``GET /api/v1/me`` (through the API: authentication and an answer, nothing else);
   * search in-process: ``selectors.resources_for_user(handler, q=…)`` — the first page of 100 and the count,
     what the API does;
   * search through the API: ``GET /api/v1/catalog/resources?q=…`` with the bearer token (Django's test
     client: the whole request path without a socket), and the same anonymously (the open catalog);
4. prints p50/p95/p99 per phase, the ratios to the baselines and how many resources each query matched.

The aim (issue #7) is p95 under 30 ms at 100,000 resources.

    python benchmarks/catalog_search.py --quick          # 10,000 resources, under a minute
    python benchmarks/catalog_search.py                  # 100,000 resources
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ow_bench python benchmarks/catalog_search.py

The last line printed is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

AIM_P95_MS = 30.0
DEPARTMENTS = 40
ITEMS_PER_RESOURCE = 3
QUERIES = [
    "人口",
    "企业 登记",
    "学校",
    "医疗机构",
    "道路运输",
    "社会保障",
    "食品 许可",
    "不动产 登记",
    "法人",
    "环境 监测",
]

SUBJECTS = [
    "人口",
    "户籍",
    "流动人口",
    "企业",
    "个体工商户",
    "法人",
    "社会组织",
    "学校",
    "幼儿园",
    "教师",
    "学生",
    "医疗机构",
    "医师",
    "药品",
    "食品",
    "餐饮",
    "道路运输",
    "车辆",
    "驾驶人",
    "公交线路",
    "不动产",
    "土地",
    "房屋",
    "建筑工程",
    "招标投标",
    "社会保障",
    "养老保险",
    "医疗保险",
    "失业保险",
    "就业",
    "职业培训",
    "最低生活保障",
    "残疾人",
    "退役军人",
    "婚姻",
    "收养",
    "殡葬",
    "环境",
    "监测",
    "排污",
    "水资源",
    "森林",
    "农业",
    "农产品",
    "渔业",
    "气象",
    "地震",
    "应急",
    "消防",
    "安全生产",
    "危险化学品",
    "特种设备",
    "计量",
    "标准",
    "知识产权",
    "商标",
    "专利",
    "税务",
    "发票",
    "财政",
    "预算",
    "国有资产",
    "统计",
    "价格",
    "旅游",
    "文物",
    "体育",
    "图书馆",
    "广播电视",
    "住房公积金",
    "供水",
    "供电",
    "燃气",
    "信用",
    "行政处罚",
    "行政许可",
    "司法",
    "律师",
    "公证",
    "法律援助",
]
QUALIFIERS = [
    "基本信息",
    "登记信息",
    "许可信息",
    "统计数据",
    "名录",
    "监测数据",
    "检查记录",
    "处罚信息",
    "备案信息",
    "年报信息",
    "变更记录",
    "注销信息",
    "补贴发放",
    "资格认定",
    "评价结果",
    "服务网点",
    "办理结果",
]
ITEM_WORDS = [
    "名称",
    "编号",
    "统一社会信用代码",
    "地址",
    "联系电话",
    "负责人",
    "登记日期",
    "有效期",
    "状态",
    "类型",
    "数量",
    "金额",
    "面积",
    "所属区划",
    "发证机关",
    "备注",
    "经度",
    "纬度",
    "证件号码",
    "出生日期",
    "性别",
]


# --- Setup ---------------------------------------------------------------------------------------------------


def _databases(args: argparse.Namespace) -> tuple[str, str | None, Path]:
    """(the database URL to use or "" for SQLite, the admin URL to drop it with, the var dir)."""
    var_dir = Path(tempfile.mkdtemp(prefix="ow-catalog-bench-"))
    base = args.postgres or os.environ.get("DATABASE_URL", "")
    if not base:
        return "", None, var_dir
    from bench_support import admin_url, database_url, psql

    url = database_url(base)
    admin = admin_url(url)
    psql(admin, f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"')
    return url, admin, var_dir


def _setup(url: str, var_dir: Path) -> None:
    os.environ["ONEWINDOW_VAR_DIR"] = str(var_dir)
    os.environ["ONEWINDOW_LOG_LEVEL"] = "WARNING"
    if url:
        os.environ["DATABASE_URL"] = url
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _load(count: int, rng: random.Random) -> dict[str, Any]:
    """Departments, the handler and ``count`` resources in bulk; returns what the measuring needs."""
    from datetime import timedelta

    from django.db import connection, transaction
    from django.utils import timezone

    from onewindow.accounts.models import ApiToken, Membership, User
    from onewindow.accounts.roles import Kind, Role
    from onewindow.catalog import actions, search
    from onewindow.catalog.models import (
        Classification,
        DataItem,
        Resource,
        ResourceSearchDocument,
        ResourceVersion,
    )
    from onewindow.organisations.models import Department, Division
    from onewindow.organisations.tests.factories import agency_credit_code

    division = Division.objects.get(code="350100")
    departments = [
        Department.objects.create(
            code=f"B{number:02d}",
            name=f"福州市第{number}局",
            name_en=f"Bureau {number}",
            credit_code=agency_credit_code(700_000 + number),
            division=division,
        )
        for number in range(1, DEPARTMENTS + 1)
    ]
    handler = User.objects.create(username="bench_handler", kind=Kind.STAFF)
    Membership.objects.create(user=handler, role=Role.DEPARTMENT_HANDLER, department=departments[0])
    token = secrets.token_urlsafe(32)
    from onewindow.accounts.api_auth import token_hash

    ApiToken.objects.create(
        user=handler, token_hash=token_hash(token), expires_at=timezone.now() + timedelta(hours=8)
    )
    with transaction.atomic():
        sections = {department.pk: actions.departmental_section(department) for department in departments}
    base_items = list(Classification.objects.filter(parent__code__in=["1", "2"]))

    tokens_cache: dict[str, str] = {}

    def tokens(text: str) -> str:
        cached = tokens_cache.get(text)
        if cached is None:
            cached = tokens_cache[text] = search.tokens_for(text)
        return cached

    now = timezone.now()
    today = timezone.localdate(now)
    sequences: dict[str, int] = {}
    batch = 5_000
    started = time.perf_counter()
    for start in range(0, count, batch):
        size = min(batch, count - start)
        rows: list[dict[str, Any]] = []
        for _ in range(size):
            department = rng.choice(departments)
            roll = rng.random()
            section = rng.choice(base_items) if roll < 0.1 else sections[department.pk]
            classification = f"{section.code}{rng.randint(1, 20):03d}"
            sequences[classification] = sequences.get(classification, 0) + 1
            sharing = rng.choices(["unconditional", "conditional", "not_shared"], [50, 35, 15])[0]
            open_type = (
                "not_open"
                if sharing == "not_shared"
                else rng.choices(["open", "conditional", "not_open"], [30, 10, 60])[0]
            )
            subject, qualifier = rng.choice(SUBJECTS), rng.choice(QUALIFIERS)
            items = rng.sample(ITEM_WORDS, ITEMS_PER_RESOURCE)
            rows.append(
                {
                    "code": f"{classification}/{sequences[classification]:06d}",
                    "classification": classification,
                    "section": section,
                    "department": department,
                    "sharing": sharing,
                    "open": open_type,
                    "name": f"{subject}{qualifier}",
                    "abstract": f"{department.name}掌握的{subject}{qualifier}，供{rng.choice(SUBJECTS)}相关业务使用。",
                    "items": items,
                }
            )
        with transaction.atomic():
            resources = Resource.objects.bulk_create(
                Resource(
                    code=row["code"],
                    classification_code=row["classification"],
                    section=row["section"],
                    kind=row["classification"][0],
                    provider=row["department"],
                    sharing_type=row["sharing"],
                    open_type=row["open"],
                )
                for row in rows
            )
            versions = ResourceVersion.objects.bulk_create(
                ResourceVersion(
                    resource=resource,
                    number=1,
                    name=row["name"],
                    abstract=row["abstract"],
                    format="database",
                    sharing_type=row["sharing"],
                    sharing_condition="" if row["sharing"] == "unconditional" else "依法履职需要",
                    sharing_method="" if row["sharing"] == "not_shared" else "platform_api",
                    open_type=row["open"],
                    open_condition="需申请" if row["open"] == "conditional" else "",
                    update_cycle="monthly",
                    provider_name=row["department"].name,
                    provider_code=row["department"].credit_code,
                    published_on=today,
                    published_at=now,
                )
                for resource, row in zip(resources, rows, strict=True)
            )
            DataItem.objects.bulk_create(
                DataItem(
                    version=version,
                    position=position,
                    name=name,
                    data_type="C",
                    sharing_type=row["sharing"],
                )
                for version, row in zip(versions, rows, strict=True)
                for position, name in enumerate(row["items"], start=1)
            )
            for resource, version in zip(resources, versions, strict=True):
                resource.current_version = version
            Resource.objects.bulk_update(resources, ["current_version"])
            documents = []
            for resource, version, row in zip(resources, versions, rows, strict=True):
                # What search.document_texts writes, from memoised pieces (jieba splits at the newlines
                # it joins the pieces with, so the pieces' tokens are the whole text's).
                name = " ".join([resource.code.replace("/", " "), tokens(row["name"])])
                rest = [
                    tokens(row["abstract"]),
                    tokens(row["department"].name),
                    row["department"].code.lower(),
                ]
                rest += [tokens(row["section"].name), tokens(row["section"].name_en)]
                rest += [tokens(item) for item in row["items"]]
                tags = search.document_tags(resource, version, [])
                documents.append(
                    ResourceSearchDocument(
                        resource=resource, name_tokens=name, tokens=" ".join([name, *rest, *tags])
                    )
                )
            ResourceSearchDocument.objects.bulk_create(documents)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    with transaction.atomic():
        search.search_index_rebuild()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"INSERT INTO {search.FTS_TABLE}({search.FTS_TABLE}) VALUES ('optimize')")
            cursor.execute("ANALYZE")
        else:
            cursor.execute("VACUUM ANALYZE")
    indexed = time.perf_counter() - started
    return {
        "handler": handler,
        "token": token,
        "load_s": round(loaded, 1),
        "index_s": round(indexed, 1),
        "max_pk": Resource.objects.order_by("-pk").values_list("pk", flat=True).first(),
    }


# --- Measuring ----------------------------------------------------------------------------------------------


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(fraction: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000, 2)

    return {
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "mean": round(statistics.fmean(ordered) * 1000, 2),
    }


def _timed(action: Callable[[int], object], rounds: int) -> list[float]:
    for n in range(min(5, rounds)):  # warm caches and connections
        action(n)
    samples: list[float] = []
    for n in range(rounds):
        started = time.perf_counter()
        action(n)
        samples.append(time.perf_counter() - started)
    return samples


def _measure(state: dict[str, Any], rounds: int, rng: random.Random) -> dict[str, Any]:
    from django.test import Client

    from onewindow.catalog import selectors
    from onewindow.catalog.models import Resource

    handler = state["handler"]
    client = Client()
    auth: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {state['token']}"}
    max_pk = state["max_pk"]
    # Each sample runs a query of the list in turn, so every query counts the same in the percentiles.
    per_query = max(1, rounds // len(QUERIES))
    total = per_query * len(QUERIES)

    def pk_fetch(n: int) -> None:
        Resource.objects.select_related("current_version").filter(pk=rng.randint(1, max_pk)).first()

    def in_process(n: int) -> None:
        filters = selectors.ResourceFilters(query=QUERIES[n % len(QUERIES)])
        resources = selectors.resources_for_user(handler, filters)
        list(resources[:100])
        resources.count()

    def api(n: int) -> None:
        response = client.get("/api/v1/catalog/resources", {"q": QUERIES[n % len(QUERIES)]}, **auth)
        assert response.status_code == 200, response.content  # noqa: S101 - a benchmark's sanity check

    def api_public(n: int) -> None:
        response = client.get("/api/v1/catalog/resources", {"q": QUERIES[n % len(QUERIES)]})
        assert response.status_code == 200, response.content  # noqa: S101

    def api_baseline(n: int) -> None:
        response = client.get("/api/v1/me", **auth)
        assert response.status_code == 200, response.content  # noqa: S101

    matches = {
        query: selectors.resources_for_user(handler, selectors.ResourceFilters(query=query)).count()
        for query in QUERIES
    }
    phases = {
        "baseline_pk_fetch": _percentiles(_timed(pk_fetch, total)),
        "search_in_process": _percentiles(_timed(in_process, total)),
        "baseline_api_me": _percentiles(_timed(api_baseline, total)),
        "search_api": _percentiles(_timed(api, total)),
        "search_api_public": _percentiles(_timed(api_public, total)),
    }
    return {"phases": phases, "matches": matches, "samples_per_phase": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 resources and fewer samples")
    parser.add_argument("--resources", type=int, default=None, help="how many resources (default 100,000)")
    parser.add_argument("--rounds", type=int, default=None, help="samples per phase (default 400, quick 100)")
    parser.add_argument("--postgres", default="", help="PostgreSQL URL (default: DATABASE_URL, else SQLite)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    count = args.resources or (10_000 if args.quick else 100_000)
    rounds = args.rounds or (100 if args.quick else 400)
    rng = random.Random(args.seed)

    url, admin, var_dir = _databases(args)
    try:
        _setup(url, var_dir)
        from django.db import connection

        vendor = connection.vendor
        print(f"catalog_search: {count:,} resources on {vendor}, {rounds} samples per phase")
        state = _load(count, rng)
        print(f"loaded in {state['load_s']} s, index built in {state['index_s']} s")
        results = _measure(state, rounds, rng)
        connection.close()
    finally:
        if admin:
            from bench_support import psql

            psql(admin, f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        shutil.rmtree(var_dir, ignore_errors=True)

    phases = results["phases"]
    width = max(len(name) for name in phases)
    print(f"{'phase':<{width}}  {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for name, figures in phases.items():
        print(
            f"{name:<{width}}  {figures['p50']:>8} {figures['p95']:>8} {figures['p99']:>8} {figures['mean']:>8}"
        )
    ratio_in_process = round(
        phases["search_in_process"]["p95"] / max(phases["baseline_pk_fetch"]["p95"], 0.001), 1
    )
    ratio_api = round(phases["search_api"]["p95"] / max(phases["baseline_api_me"]["p95"], 0.001), 1)
    print(f"p95 ratio search / pk fetch (in-process): {ratio_in_process}; search API / GET /me: {ratio_api}")
    print(
        "matches per query (shared catalog): " + ", ".join(f"{q}={n}" for q, n in results["matches"].items())
    )
    headline = phases["search_api"]["p95"]
    print(
        f"aim: search API p95 < {AIM_P95_MS} ms -> {'met' if headline < AIM_P95_MS else 'NOT met'} ({headline} ms)"
    )
    print(
        json.dumps(
            {
                "benchmark": "catalog_search",
                "database": vendor,
                "resources": count,
                "samples_per_phase": results["samples_per_phase"],
                "load_s": state["load_s"],
                "index_s": state["index_s"],
                **{
                    f"{name}_{key}_ms": value
                    for name, figures in phases.items()
                    for key, value in figures.items()
                },
                "p95_ratio_in_process": ratio_in_process,
                "p95_ratio_api": ratio_api,
                "aim_p95_ms": AIM_P95_MS,
                "aim_met": headline < AIM_P95_MS,
            }
        )
    )


if __name__ == "__main__":
    main()
