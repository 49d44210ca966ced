"""The demo dataset: one city, seven departments, a service hall, two village points and one account per role.

Every identifier is well-formed: the credit codes carry valid GB 11714 and GB 32100 check characters and the
ID numbers valid GB 11643 check characters (the tests assert it with ``onewindow.core.validators``).
The division codes down to county level are real (GB/T 2260, 福建省福州市鼓楼区); the two townships
(鼓东街道, 洪山镇) carry 12-digit statistical codes, and the village and the community below them are
invented and marked 演示 (demo).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from onewindow.accounts.roles import Kind, Role
from onewindow.organisations.models import DivisionLevel, ServicePointKind


@dataclass(frozen=True)
class DemoDivision:
    code: str
    name: str
    level: DivisionLevel
    parent_code: str | None


@dataclass(frozen=True)
class DemoDepartment:
    code: str
    name: str
    name_en: str
    credit_code: str


@dataclass(frozen=True)
class DemoServicePoint:
    code: str
    name: str
    kind: ServicePointKind
    division_code: str
    address: str
    opening_hours: str


@dataclass(frozen=True)
class DemoRole:
    role: Role
    department_code: str | None = None
    service_point_code: str | None = None


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    kind: Kind
    roles: tuple[DemoRole, ...] = ()
    id_number: str | None = None
    enterprise_credit_code: str = ""
    enterprise_name: str = ""
    # Vendor staff memberships are time-bound and scoped to the systems they operate.
    valid_days: int | None = None
    system_codes: tuple[str, ...] = field(default_factory=tuple)


CITY_CODE = "350100"
COUNTY_CODE = "350102"

DIVISIONS: tuple[DemoDivision, ...] = (
    DemoDivision("350000", "福建省", DivisionLevel.PROVINCE, None),
    DemoDivision(CITY_CODE, "福州市", DivisionLevel.CITY, "350000"),
    DemoDivision(COUNTY_CODE, "鼓楼区", DivisionLevel.COUNTY, CITY_CODE),
    DemoDivision("350102001000", "鼓东街道", DivisionLevel.TOWNSHIP, COUNTY_CODE),
    DemoDivision("350102100000", "洪山镇", DivisionLevel.TOWNSHIP, COUNTY_CODE),
    DemoDivision("350102001001", "南门社区（演示）", DivisionLevel.VILLAGE, "350102001000"),
    DemoDivision("350102100201", "福山村（演示）", DivisionLevel.VILLAGE, "350102100000"),
)

# Government agencies: registration authority 1 (机构编制), type 1 (机关), division 350100, then a 9-character
# organisation code (8 + GB 11714 check) and the GB 32100 check character.
DEPARTMENTS: tuple[DemoDepartment, ...] = (
    DemoDepartment("PSB", "福州市公安局", "Fuzhou Public Security Bureau", "11350100003620010C"),
    DemoDepartment(
        "AMR", "福州市市场监督管理局", "Fuzhou Administration for Market Regulation", "113501000036200299"
    ),
    DemoDepartment(
        "QI",
        "福州市质量技术监督局",
        "Fuzhou Bureau of Quality and Technical Supervision",
        "113501000036200374",
    ),
    DemoDepartment("TAX", "福州市税务局", "Fuzhou Tax Service", "11350100003620045Y"),
    DemoDepartment(
        "HRSS",
        "福州市人力资源和社会保障局",
        "Fuzhou Human Resources and Social Security Bureau",
        "11350100003620053R",
    ),
    DemoDepartment("HEALTH", "福州市卫生健康委员会", "Fuzhou Health Commission", "11350100003620061L"),
    DemoDepartment("CIVIL", "福州市民政局", "Fuzhou Civil Affairs Bureau", "1135010000362007XC"),
)

HALL_CODE = "SP-350100-HALL"
VILLAGE_POINT_CODE = "SP-350102100201"
COMMUNITY_POINT_CODE = "SP-350102001001"

SERVICE_POINTS: tuple[DemoServicePoint, ...] = (
    DemoServicePoint(
        HALL_CODE,
        "福州市市民服务中心（演示）",
        ServicePointKind.HALL,
        CITY_CODE,
        "福州市鼓楼区演示路 1 号",
        "周一至周五 9:00–17:00；周六 9:00–12:00",
    ),
    DemoServicePoint(
        VILLAGE_POINT_CODE,
        "福山村便民服务站（演示）",
        ServicePointKind.VILLAGE,
        "350102100201",
        "福州市鼓楼区洪山镇福山村村委会",
        "周一至周五 8:30–17:30",
    ),
    DemoServicePoint(
        COMMUNITY_POINT_CODE,
        "南门社区服务站（演示）",
        ServicePointKind.COMMUNITY,
        "350102001001",
        "福州市鼓楼区鼓东街道南门社区居委会",
        "周一至周六 8:30–17:30",
    ),
)

ENTERPRISE_CREDIT_CODE = "91350100M000100Y43"
VENDOR_SYSTEM_CODES = ("OW-PORTAL",)
VENDOR_VALID_DAYS = 90


def _handler(username: str, name: str, department_code: str) -> DemoAccount:
    return DemoAccount(username, name, Kind.STAFF, (DemoRole(Role.DEPARTMENT_HANDLER, department_code),))


def _admin(username: str, name: str, department_code: str) -> DemoAccount:
    return DemoAccount(username, name, Kind.STAFF, (DemoRole(Role.DEPARTMENT_ADMIN, department_code),))


def _platform(username: str, name: str, role: Role) -> DemoAccount:
    return DemoAccount(username, name, Kind.STAFF, (DemoRole(role),))


# ID numbers: address code of 鼓楼区, birth date, sequence (odd for men, even for women), check character.
ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("resident1", "林晓梅", Kind.RESIDENT, id_number="350102198503120026"),
    DemoAccount("founder1", "陈志强", Kind.RESIDENT, id_number="350102199006180030"),
    DemoAccount(
        "enterprise1",
        "黄丽",
        Kind.ENTERPRISE,
        id_number="350102199201010045",
        enterprise_credit_code=ENTERPRISE_CREDIT_CODE,
        enterprise_name="福州示范科技有限公司（演示）",
    ),
    DemoAccount(
        "clerk_hall", "王芳", Kind.STAFF, (DemoRole(Role.WINDOW_CLERK, service_point_code=HALL_CODE),)
    ),
    DemoAccount(
        "village_agent1",
        "郑建国",
        Kind.STAFF,
        (DemoRole(Role.VILLAGE_AGENT, service_point_code=VILLAGE_POINT_CODE),),
    ),
    _handler("amr_handler", "刘洋", "AMR"),
    _handler("qi_handler", "吴敏", "QI"),
    _handler("tax_handler", "张伟", "TAX"),
    _handler("psb_handler", "李强", "PSB"),
    _handler("hrss_handler", "杨静", "HRSS"),
    _handler("health_handler", "何平", "HEALTH"),
    _handler("civil_handler", "高燕", "CIVIL"),
    _admin("amr_admin", "周涛", "AMR"),
    _admin("psb_admin", "徐刚", "PSB"),
    _admin("tax_admin", "孙丽", "TAX"),
    _platform("leader1", "马国华", Role.LEADER),
    _platform("secofficer1", "朱明", Role.SECURITY_OFFICER),
    _platform("auditor1", "胡晓", Role.AUDITOR),
    _platform("sysadmin1", "郭亮", Role.SYSTEM_ADMIN),
    _platform("supervisor1", "罗文", Role.SUPERVISOR),
    DemoAccount(
        "vendor1",
        "梁工（外包运维）",
        Kind.STAFF,
        (DemoRole(Role.VENDOR_STAFF),),
        valid_days=VENDOR_VALID_DAYS,
        system_codes=VENDOR_SYSTEM_CODES,
    ),
)
